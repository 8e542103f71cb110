"""Settings → Canned responses: owners and managers write them; operators read them (and insert
them with "/" in the inbox composer).

Thin: the form checks the shape, conversations.actions_canned checks the rules (shortcut, allowed
variables, one shortcut per channel and language) and records the audit entry.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from omnia.channels.models import Provider
from omnia.console.views import section_required
from omnia.conversations import actions_canned, queries_canned
from omnia.conversations.models import CannedResponse
from omnia.core import permissions
from omnia.core.errors import DomainError
from omnia.core.permissions import Section


def variables_help() -> str:
    return ", ".join(
        "{{%s.%s}}" % (source, field)  # noqa: UP031 - braces in the output
        for source, fields in queries_canned.ALLOWED_FIELDS.items()
        for field in sorted(fields)
    )


class CannedForm(forms.Form):
    shortcut = forms.CharField(
        label=_("Shortcut"),
        max_length=51,
        help_text=_("Typed after “/” in the composer: latin letters, digits, “-” or “_”, e.g. delivery."),
    )
    title = forms.CharField(label=_("Title"), max_length=120)
    text = forms.CharField(label=_("Text"), max_length=4000, widget=forms.Textarea(attrs={"rows": 6}))
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    language = forms.ChoiceField(label=_("Language"), choices=CannedResponse.Language.choices, required=False)
    is_active = forms.BooleanField(label=_("Active: operators can insert it"), required=False, initial=True)

    def __init__(self, data: Any = None, *, editing: bool = False, initial: dict[str, Any] | None = None) -> None:
        super().__init__(data, initial=initial, auto_id="canned_%s")
        self.fields["channel"].choices = [("", _("Every channel")), *Provider.choices]  # type: ignore[attr-defined]
        self.fields["text"].help_text = gettext("Variables: %(variables)s.") % {"variables": variables_help()}
        if not editing:
            del self.fields["is_active"]


def _error_text(exc: DomainError, form: CannedForm) -> str:
    """The domain's refusal in the user's language."""
    if exc.code == "CANNED_VARIABLE_UNKNOWN":
        unknown = queries_canned.unknown_variables(str(form.cleaned_data.get("text", "")))
        name = unknown[0] if unknown else ""
        return gettext("Unknown variable {{%(name)s}}: use one of the variables listed under the text.") % {
            "name": name
        }
    if exc.code == "CANNED_SHORTCUT_TAKEN":
        shortcut = str(form.cleaned_data.get("shortcut", "")).strip().lstrip("/").lower()
        return gettext("/%(shortcut)s already exists for this channel and language.") % {"shortcut": shortcut}
    if exc.code == "CANNED_SHORTCUT_INVALID":
        return gettext("A shortcut is up to 50 latin letters, digits, “-” or “_”, e.g. delivery.")
    if exc.code == "CHANNEL_INVALID":
        return gettext("Unknown channel.")
    if exc.code == "LANGUAGE_INVALID":
        return gettext("Choose a language from the list.")
    if exc.code == "ROLE_FORBIDDEN":
        return gettext("Only owners and managers change canned responses.")
    return exc.message


def _apply(form: CannedForm, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, _error_text(exc, form))


def _tabs(request: HttpRequest) -> dict[str, bool]:
    user: Any = request.user
    return {
        "can_settings": permissions.can(user, Section.SETTINGS),
        "can_users": permissions.can(user, Section.USERS),
        "can_audit": permissions.can(user, Section.AUDIT),
    }


def _canned(canned_id: int) -> CannedResponse:
    try:
        return queries_canned.get_canned(canned_id)
    except queries_canned.CannedResponseNotFound as exc:
        raise Http404(exc.message) from exc


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "console/forbidden.html", status=403)


@section_required(Section.INBOX)
def canned_list(request: HttpRequest) -> HttpResponse:
    """Every canned response (inactive ones too) with a search box; owners and managers also get
    the form for a new one. Operators only read."""
    tabs = _tabs(request)
    if request.method == "POST" and not tabs["can_settings"]:
        return _forbidden(request)
    form = CannedForm(request.POST or None) if tabs["can_settings"] else None
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            canned = actions_canned.check_create_canned(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _apply(form, exc)
        else:
            messages.success(request, gettext("/%(shortcut)s saved.") % {"shortcut": canned.shortcut})
            return redirect("console:settings_canned")
    query = request.GET.get("q", "").strip()[:100]
    responses = queries_canned.search_canned(query, include_inactive=True) if query else CannedResponse.objects.all()
    providers = dict(Provider.choices)
    rows = list(responses)
    for canned in rows:
        canned.channel_label = str(providers.get(canned.channel, canned.channel))  # type: ignore[attr-defined]
    return render(
        request,
        "console/settings_canned.html",
        {
            "form": form,
            "q": query,
            "responses": rows,
            **tabs,
        },
        status=422 if form is not None and form.errors else 200,
    )


@section_required(Section.SETTINGS)
def canned_edit(request: HttpRequest, canned_id: int) -> HttpResponse:
    canned = _canned(canned_id)
    initial = {name: getattr(canned, name) for name in actions_canned.EDITABLE}
    form = CannedForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            actions_canned.check_update_canned(actor=request.user, canned=canned, **form.cleaned_data)
        except DomainError as exc:
            _apply(form, exc)
        else:
            messages.success(request, gettext("/%(shortcut)s saved.") % {"shortcut": canned.shortcut})
            return redirect("console:settings_canned")
    return render(
        request,
        "console/settings_canned_edit.html",
        {"form": form, "canned": _canned(canned_id), **_tabs(request)},
        status=422 if form.errors else 200,
    )


@require_POST
@section_required(Section.SETTINGS)
def canned_set_active(request: HttpRequest, canned_id: int) -> HttpResponse:
    """Deactivate (operators no longer see it) or activate again."""
    canned = _canned(canned_id)
    active = request.POST.get("is_active") == "1"
    try:
        actions_canned.check_update_canned(actor=request.user, canned=canned, is_active=active)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        text = gettext("/%(shortcut)s is active again.") if active else gettext("/%(shortcut)s deactivated.")
        messages.success(request, text % {"shortcut": canned.shortcut})
    return redirect("console:settings_canned")


@require_POST
@section_required(Section.SETTINGS)
def canned_delete(request: HttpRequest, canned_id: int) -> HttpResponse:
    canned = _canned(canned_id)
    shortcut = canned.shortcut
    try:
        actions_canned.check_delete_canned(actor=request.user, canned=canned)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("/%(shortcut)s deleted.") % {"shortcut": shortcut})
    return redirect("console:settings_canned")
