"""Settings → Notifications: the texts customers get for each event, per language and channel.

The grid shows which are the built-in texts and which the shop edited; the editor shows one (event,
channel, language) with the event's variables as chips, the approved WhatsApp template with a value per
placeholder, and a live preview (htmx) with sample data, SMS parts and unknown variables. Thin: the rules
live in notifications.actions_templates. Owners and managers (Section.SETTINGS).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from omnia.channels import message_templates
from omnia.channels.models import MessageTemplate, Provider
from omnia.console.views import section_required
from omnia.conversations.queries_canned import VARIABLE
from omnia.core import permissions
from omnia.core.config import SUPPORTED_LANGUAGES
from omnia.core.errors import DomainError
from omnia.core.permissions import Section
from omnia.notifications import actions_templates, composing, queries_templates, variables
from omnia.notifications import queries as notifications_queries
from omnia.notifications.models import Event
from omnia.notifications.queries_templates import Key

LANGUAGES = {"ru": _("Russian"), "kk": _("Kazakh"), "en": _("English")}
VALUE_FIELD = re.compile(r"^whatsapp_values\[(\d+)\]$")


class NotificationTemplateForm(forms.Form):
    subject = forms.CharField(
        label=_("E-mail subject"),
        required=False,
        max_length=200,
        help_text=_("Empty: the built-in subject."),
        widget=forms.TextInput(attrs={"data-nt-target": ""}),
    )
    body = forms.CharField(
        label=_("Text"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 9, "data-nt-target": "", "spellcheck": "true"}),
    )
    whatsapp_template = forms.TypedChoiceField(
        label=_("Approved WhatsApp template"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("Sent instead of the text when the customer has not written for 24 hours."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, data: Any = None, *, key: Key, initial: dict[str, Any] | None = None) -> None:
        super().__init__(data, initial=initial, auto_id="nt_%s")
        self.key = key
        if key.channel not in ("", Provider.EMAIL):
            del self.fields["subject"]
        if key.channel in ("", Provider.WHATSAPP):
            self.fields["whatsapp_template"].choices = [  # type: ignore[attr-defined]
                ("", _("None")),
                *[(t.pk, f"{t.name} ({t.language})") for t in approved_templates(key.language)],
            ]
        else:
            del self.fields["whatsapp_template"]


def approved_templates(language: str) -> list[MessageTemplate]:
    """Active approved templates of active WhatsApp channels in `language` (an en_US counts as en)."""
    found = MessageTemplate.objects.select_related("channel").filter(
        is_active=True, channel__provider=Provider.WHATSAPP, channel__is_active=True
    )
    return [t for t in found.order_by("name") if composing.base_language(t.language) == language]


def _approved(template_id: Any, language: str) -> MessageTemplate | None:
    try:
        wanted = int(template_id)
    except (TypeError, ValueError):
        return None
    return next((t for t in approved_templates(language) if t.pk == wanted), None)


def _key(event: str, language: str, channel: str) -> Key:
    try:
        return queries_templates.clean_key(event, channel, language)
    except DomainError as exc:
        raise Http404(exc.message) from exc


def _tabs(request: HttpRequest) -> dict[str, bool]:
    user: Any = request.user
    return {"can_users": permissions.can(user, Section.USERS), "can_audit": permissions.can(user, Section.AUDIT)}


def _error_text(exc: DomainError, key: Key, texts: dict[str, str]) -> str:
    """The domain's refusal in the user's language."""
    if exc.code == "UNKNOWN_VARIABLE":
        field = exc.field or "body"
        unknown = variables.unknown_variables(key.event, texts.get(field, ""))
        return gettext("Unknown variable {{%(name)s}}: “%(event)s” texts may use only the variables listed.") % {
            "name": unknown[0] if unknown else "?",
            "event": Event(key.event).label,
        }
    if exc.code == "TOO_LONG" and key.channel == Provider.SMS and exc.field == "body":
        shown = composing.preview(key.event, key.channel, key.language, body=texts.get("body", ""))
        return gettext("As an SMS this text takes %(count)d parts with the sample data; at most %(max)d.") % {
            "count": shown.sms_segments,
            "max": actions_templates.MAX_SMS_SEGMENTS,
        }
    if exc.code == "TOO_LONG" and exc.field == "body":
        return gettext("The text has at most %(max)d characters.") % {"max": actions_templates.MAX_BODY}
    if exc.code == "REQUIRED" and exc.field == "body":
        return gettext("Write the text.")
    if exc.code == "TEMPLATE_VALUES":
        return gettext("Give one value for each placeholder of the approved template.")
    if exc.code == "REQUIRED":
        return gettext("Every placeholder of the approved template needs a value.")
    if exc.code == "ROLE_FORBIDDEN":
        return gettext("Only owners and managers change notification texts.")
    return exc.message


def _values(request: HttpRequest) -> list[str]:
    return [v.strip() for v in request.POST.getlist("whatsapp_values")]


def highlight(text: str, unknown: list[str]) -> SafeString:
    """`text` escaped, the {{…}} it should not have marked."""
    parts: list[str] = []
    last = 0
    for match in VARIABLE.finditer(text):
        if match.group(1).strip() in unknown:
            parts.append(str(escape(text[last : match.start()])))
            parts.append(str(format_html('<mark class="nt-unknown">{}</mark>', match.group(0))))
            last = match.end()
    parts.append(str(escape(text[last:])))
    return mark_safe("".join(parts))  # noqa: S308 - every part escaped above


def _chips(event: str) -> list[dict[str, str]]:
    return [
        {"name": name, "token": "{{%s}}" % name, "label": str(variables.LABELS[name])}  # noqa: UP031 - braces
        for name in variables.allowed(event)
    ]


def _channels(key: Key, edited: set[str]) -> list[dict[str, Any]]:
    kinds = [("", str(_("Every channel")))] + [(value, str(label)) for value, label in Provider.choices]
    return [{"value": v, "label": label, "edited": v in edited, "current": v == key.channel} for v, label in kinds]


@section_required(Section.SETTINGS)
def template_grid(request: HttpRequest) -> HttpResponse:
    providers = dict(Provider.choices)
    switched_off = set(notifications_queries.get_settings().disabled_events or [])
    rows = queries_templates.grid()
    for row in rows:
        row["switched_off"] = row["event"] in switched_off
        for cell in row["cells"]:
            cell["label"] = LANGUAGES[cell["language"]]
            cell["any_edited"] = any(t.channel == "" for t in cell["templates"])
            cell["channels"] = [
                {"value": t.channel, "label": providers.get(t.channel, t.channel), "active": t.is_active}
                for t in cell["templates"]
                if t.channel
            ]
    return render(
        request,
        "console/notification_templates/grid.html",
        {"rows": rows, "languages": [LANGUAGES[lang] for lang in SUPPORTED_LANGUAGES], **_tabs(request)},
    )


def _initial(effective: queries_templates.Effective) -> dict[str, Any]:
    approved = effective.whatsapp_template
    return {
        "subject": effective.subject if effective.source != "built_in" else "",
        "body": effective.body,
        "whatsapp_template": approved.pk if approved else None,
        "is_active": effective.is_active,
    }


@section_required(Section.SETTINGS)
def template_edit(request: HttpRequest, event: str, language: str) -> HttpResponse:
    key = _key(event, language, request.GET.get("channel", ""))
    effective = queries_templates.effective(key.event, key.channel, key.language)
    form = NotificationTemplateForm(request.POST or None, key=key, initial=_initial(effective))
    values = _values(request) if request.method == "POST" else effective.whatsapp_values
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions_templates.check_save_template(
                    actor=request.user,
                    event=key.event,
                    channel=key.channel,
                    language=key.language,
                    subject=data.get("subject") or "",
                    body=data["body"],
                    whatsapp_template=data.get("whatsapp_template"),
                    whatsapp_values=values if data.get("whatsapp_template") else [],
                    is_active=data["is_active"],
                )
            except DomainError as exc:
                texts = {"body": data["body"], "subject": data.get("subject") or ""}
                match = VALUE_FIELD.match(exc.field or "")
                if match and int(match.group(1)) < len(values):
                    texts[exc.field or ""] = values[int(match.group(1))]
                field = exc.field if exc.field in form.fields else None
                form.add_error(field, _error_text(exc, key, texts))
            else:
                messages.success(request, gettext("The text is saved: customers get it from now on."))
                return redirect(_edit_url(key))
    edited = {
        t.channel for t in queries_templates.effective_list(event=key.event, language=key.language) if t.is_custom
    }
    approved = (
        _approved(form["whatsapp_template"].value(), key.language) if "whatsapp_template" in form.fields else None
    )
    return render(
        request,
        "console/notification_templates/edit.html",
        {
            "key": key,
            "event_label": Event(key.event).label,
            "language_label": LANGUAGES[key.language],
            "languages": [
                {"value": lang, "label": LANGUAGES[lang], "current": lang == key.language}
                for lang in SUPPORTED_LANGUAGES
            ],
            "channels": _channels(key, edited),
            "effective": effective,
            "uses_every_channel": effective.source == "every_channel",
            "form": form,
            "chips": _chips(key.event),
            "approved": approved,
            "value_fields": _value_fields(approved, values),
            **_tabs(request),
        },
        status=status,
    )


def _edit_url(key: Key) -> str:
    url = reverse("console:settings_notification_template", kwargs={"event": key.event, "language": key.language})
    return f"{url}?channel={key.channel}" if key.channel else url


def _value_fields(approved: MessageTemplate | None, values: list[str]) -> list[dict[str, Any]]:
    if approved is None:
        return []
    try:
        count = message_templates.placeholders(approved.body)
    except DomainError:
        count = 0
    return [
        {"number": n + 1, "placeholder": "{{%d}}" % (n + 1), "value": values[n] if n < len(values) else ""}  # noqa: UP031
        for n in range(count)
    ]


@section_required(Section.SETTINGS)
def template_values(request: HttpRequest, event: str, language: str) -> HttpResponse:
    """The value fields for the approved template chosen (htmx, when the picker changes)."""
    key = _key(event, language, request.GET.get("channel", ""))
    approved = _approved(request.GET.get("whatsapp_template"), key.language)
    values = [v.strip() for v in request.GET.getlist("whatsapp_values")]
    return render(
        request,
        "console/notification_templates/_values.html",
        {"approved": approved, "value_fields": _value_fields(approved, values)},
    )


@require_POST
@section_required(Section.SETTINGS)
def template_preview(request: HttpRequest, event: str, language: str) -> HttpResponse:
    """The text as a customer would read it, with sample data (htmx, while typing)."""
    key = _key(event, language, request.GET.get("channel", ""))
    body = request.POST.get("body", "")
    subject = request.POST.get("subject")
    approved = _approved(request.POST.get("whatsapp_template"), key.language)
    shown = composing.preview(
        key.event,
        key.channel,
        key.language,
        body=body,
        subject=subject,
        whatsapp_template=approved,
        whatsapp_values=_values(request) if approved else [],
    )
    return render(
        request,
        "console/notification_templates/_preview.html",
        {
            "key": key,
            "shown": shown,
            "text": highlight(shown.text, shown.unknown),
            "unknown_tokens": ["{{%s}}" % name for name in shown.unknown],  # noqa: UP031 - braces
            "show_subject": key.channel in ("", Provider.EMAIL),
            "too_long": shown.sms_segments > actions_templates.MAX_SMS_SEGMENTS,
            "max_segments": actions_templates.MAX_SMS_SEGMENTS,
        },
    )


@require_POST
@section_required(Section.SETTINGS)
def template_reset(request: HttpRequest, event: str, language: str) -> HttpResponse:
    """Delete the shop's text: the built-in one applies again."""
    key = _key(event, language, request.GET.get("channel", ""))
    template = queries_templates.find_template(key)
    if template is not None:
        actions_templates.do_delete_template(actor=request.user, template=template)
        messages.success(request, gettext("Back to the built-in text."))
    return redirect(_edit_url(key))
