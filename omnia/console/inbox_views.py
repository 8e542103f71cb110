"""The inbox: conversation list, one customer's thread across channels, the customer card beside it.

Thin: parse the request, call conversations queries/actions, render. The page is three panes; the
list and the thread re-fetch themselves when the console socket reports an inbox event.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from omnia.accounts import queries as accounts_queries
from omnia.channels import actions as channels_actions
from omnia.channels import api as channels_api
from omnia.channels import message_templates
from omnia.channels import queries as channels_queries
from omnia.channels.email import files as email_files
from omnia.channels.models import Provider
from omnia.channels.sms import segments as sms_segments
from omnia.console.views import section_required
from omnia.conversations import actions as conversations_actions
from omnia.conversations import actions_scheduled, queries_canned, routing
from omnia.conversations import queries as conversations_queries
from omnia.conversations.errors import ConversationNotFound
from omnia.conversations.models import CannedResponse, Conversation, OperatorStatus
from omnia.core import clock, permissions
from omnia.core.errors import DomainError, ValidationFailed
from omnia.core.money import format_money
from omnia.core.permissions import Role, Section
from omnia.orders import queries as orders_queries

LIST_LIMIT = 100
THREAD_LIMIT = 200
RECENT_ORDERS = 5
CANNED_SHOWN = 8
ASSIGNABLE_ROLES = (Role.OWNER, Role.MANAGER, Role.OPERATOR)

# Messages the inbox shows in the operator's language instead of the domain's English text.
ERROR_MESSAGES = {
    "MESSAGE_EMPTY": _("Write a message first."),
    "ASSIGNEE_INVALID": _("Only an active owner, manager or operator can take conversations."),
    "USER_NOT_FOUND": _("There is no such user."),
    "SNOOZE_INVALID": _("Snooze until a time in the future."),
    "STATUS_INVALID": _("Unknown status."),
    "CHANNEL_NOT_FOUND": _("There is no such channel."),
    "CHANNEL_UNREACHABLE": _("That channel cannot reach the customer: there is no contact of theirs for it."),
    "NO_CONSENT": _("The customer withdrew consent to messages through that channel."),
    "CHANNEL_INACTIVE": _("That channel is switched off: connect it again to reply through it."),
    "SEND_AFTER_INVALID": _("Choose the date and time to send it."),
    "SEND_AFTER_PAST": _("Choose a time in the future."),
    "SEND_AFTER_TOO_FAR": _("Schedule it at most a year ahead."),
    "SCHEDULE_AFTER_WINDOW": _(
        "The customer's reply window closes before that time: schedule it earlier or send it now."
    ),
    "SCHEDULED_ALREADY_SENT": _("It has already gone out: too late to cancel."),
    "MESSAGE_NOT_SCHEDULED": _("Only a scheduled reply can be cancelled."),
    "NOTE_NOT_SCHEDULED": _("A private note cannot be scheduled."),
    "PRESENCE_INVALID": _("Choose online, away or offline."),
    "CAPACITY_INVALID": _("Give a number of conversations from 0 to 100."),
}


# --- parsing ---------------------------------------------------------------------------------------


class InboxFilterForm(forms.Form):
    """The list's filters, all optional; anything unknown falls back to the default."""

    WHO = [("all", _("Everyone's")), ("mine", _("Mine")), ("unassigned", _("Unassigned"))]
    DEFAULTS = {"status": Conversation.Status.OPEN, "who": "all"}

    status = forms.ChoiceField(label=_("Status"), choices=Conversation.Status.choices, required=False)
    who = forms.ChoiceField(label=_("Assignee"), choices=WHO, required=False)
    channel = forms.TypedChoiceField(label=_("Channel"), coerce=int, required=False, empty_value=None)
    team = forms.ChoiceField(label=_("Team"), required=False)
    label = forms.CharField(label=_("Label"), max_length=50, required=False)

    def __init__(self, data: Any, *, channels: list[Any]) -> None:
        super().__init__(data, auto_id="inbox_%s")
        channel_choices = [("", _("All channels")), *((c.pk, str(c)) for c in channels)]
        self.fields["channel"].choices = channel_choices  # type: ignore[attr-defined]
        teams = sorted({c.team for c in channels if c.team})
        self.fields["team"].choices = [("", _("All teams")), *((t, t) for t in teams)]  # type: ignore[attr-defined]

    def value(self, name: str) -> Any:
        """The cleaned value, or the default when the input is missing or invalid."""
        cleaned: dict[str, Any] = {}
        if self.is_bound:
            self.is_valid()
            cleaned = self.cleaned_data
        return cleaned.get(name) or self.DEFAULTS.get(name, "")

    def filters(self, user: Any) -> conversations_queries.ConversationFilters:
        who = self.value("who")
        return conversations_queries.ConversationFilters(
            status=self.value("status"),
            channel_id=self.value("channel") or None,
            assignee_id=user.pk if who == "mine" else None,
            unassigned=who == "unassigned",
            team=self.value("team"),
            label=self.value("label").strip().lower(),
        )

    def query(self) -> str:
        """The filters as a query string, for links that keep them."""
        if not self.is_bound:
            return ""
        return urlencode([(name, self.data[name]) for name in self.fields if self.data.get(name)])


def _split_labels(text: str) -> list[str]:
    return [part for part in (text or "").replace(";", ",").split(",") if part.strip()]


def _parse_local(value: str) -> dt.datetime | None:
    """A <input type=datetime-local> value in the shop's time zone, or None."""
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, timezone.get_current_timezone())


def _error_message(exc: DomainError) -> str:
    return str(ERROR_MESSAGES.get(exc.code, exc.message))


# --- presenting ------------------------------------------------------------------------------------


def duration_label(seconds: float) -> str:
    """A duration, short: '<1 min', '5 min', '2 h 05 min', '3 d 4 h' (console.js formats the same way)."""
    minutes = max(0, int(seconds // 60))
    if minutes < 1:
        return gettext("<1 min")
    if minutes < 60:
        return gettext("%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return gettext("%(days)d d %(hours)d h") % {"days": days, "hours": hours}


def waiting_label(since: dt.datetime, now: dt.datetime) -> str:
    """How long the customer has waited, short: '<1 min', '5 min', '2 h 05 min', '3 d 4 h'."""
    return duration_label((now - since).total_seconds())


def sla_state(conversation: Conversation, now: dt.datetime) -> str:
    """'overdue' when the first answer is late, 'waiting' while the customer waits, '' otherwise."""
    if conversation.waiting_since is None:
        return ""
    due = conversation.first_response_due
    if conversation.first_response_at is None and due is not None and now > due:
        return "overdue"
    return "waiting"


def sla_countdown(conversation: Conversation, now: dt.datetime) -> dict[str, Any] | None:
    """The first-response clock of an open conversation nobody has answered yet: the time left, or
    how long it is overdue. None once answered (or not open, or without a target). console.js keeps
    the label ticking from `due_ms` and `now_ms` (the server's clock, so a skewed PC clock does not matter)."""
    due = conversation.first_response_due
    if conversation.status != Conversation.Status.OPEN or conversation.first_response_at is not None or due is None:
        return None
    left = (due - now).total_seconds()
    if left > 0:
        label = gettext("%(time)s left") % {"time": duration_label(left)}
    else:
        label = gettext("overdue by %(time)s") % {"time": duration_label(-left)}
    return {
        "label": label,
        "overdue": left <= 0,
        "due": due,
        "due_ms": int(due.timestamp() * 1000),
        "now_ms": int(now.timestamp() * 1000),
    }


def _rows(conversations: list[Conversation], now: dt.datetime) -> list[dict[str, Any]]:
    return [
        {
            "c": c,
            "waiting": waiting_label(c.waiting_since, now) if c.waiting_since else "",
            "sla": sla_state(c, now),
            "countdown": sla_countdown(c, now),
        }
        for c in conversations
    ]


def _window_closed_text(window: dt.timedelta) -> str:
    hours = int(window.total_seconds() // 3600)
    return ngettext(
        "The customer last wrote more than %(hours)d hour ago: choose an approved template",
        "The customer last wrote more than %(hours)d hours ago: choose an approved template",
        hours,
    ) % {"hours": hours}


def _other_channel_closed_text(channel: Any, window: dt.timedelta) -> str:
    hours = int(window.total_seconds() // 3600)
    return ngettext(
        "The customer has not written through %(channel)s within %(hours)d hour: only a template can go there",
        "The customer has not written through %(channel)s within %(hours)d hours: only a template can go there",
        hours,
    ) % {"channel": channel.get_provider_display(), "hours": hours}


def _tag_label(tag: str) -> str:
    return gettext("Human Agent") if tag == "HUMAN_AGENT" else tag


def _extended_text(rules: conversations_queries.ReplyRules) -> str:
    hours = int(rules.window.total_seconds() // 3600) if rules.window else 0
    days = rules.extended_window.days if rules.extended_window else 0
    return gettext(
        "More than %(hours)d hours since the customer wrote: the reply goes with the %(tag)s tag "
        "(allowed up to %(days)d days after their last message)."
    ) % {"hours": hours, "days": days, "tag": _tag_label(rules.extended_tag)}


def _window(conversation: Conversation, channel: Any, now: dt.datetime) -> tuple[str, str]:
    """Where the reply window of `channel` stands for this customer, with what to tell the operator:
    ('', '') no window; ('open', ''); ('extended', text) only tagged; ('closed', text) only a template."""
    rules = channels_api.reply_window_for(channel.provider)
    if rules.window is None:
        return "", ""
    if conversations_queries.reply_window_open(conversation, window=rules.window, at=now, channel=channel):
        return "open", ""
    if rules.extended_window is not None and conversations_queries.reply_window_open(
        conversation, window=rules.extended_window, at=now, channel=channel
    ):
        return "extended", _extended_text(rules)
    if channel.pk == conversation.channel_id:
        return "closed", _window_closed_text(rules.window)
    return "closed", _other_channel_closed_text(channel, rules.window)


def _reply_options(conversation: Conversation, *, selected: int | None, now: dt.datetime) -> list[dict[str, Any]]:
    """The "Reply via" choices: the conversation's own channel first, then the customer's other ones
    (those they withdrew consent for are shown, disabled, with the reason)."""
    options = []
    for option in conversations_queries.reply_channels(conversation):
        window, note = _window(conversation, option.channel, now) if option.allowed else ("", "")
        options.append(
            {
                "channel": option.channel,
                "own": option.channel.pk == conversation.channel_id,
                "allowed": option.allowed,
                "reason": gettext("the customer withdrew consent") if option.reason == "no_consent" else "",
                "window": window,
                "note": note,
                "selected": False,
            }
        )
    chosen = next((o for o in options if o["allowed"] and o["channel"].pk == selected), options[0])
    chosen["selected"] = True
    return options


def _conversation(conversation_id: int) -> Conversation:
    try:
        return conversations_queries.get_conversation(conversation_id)
    except ConversationNotFound as exc:
        raise Http404(exc.message) from exc


def _presence_of(user: Any) -> OperatorStatus | None:
    """The person's presence row (None: never set, which routing reads as offline)."""
    try:
        return user.operator_status
    except OperatorStatus.DoesNotExist:
        return None


def _assignable_users() -> list[dict[str, Any]]:
    users = (
        accounts_queries.list_users()
        .filter(is_active=True, role__in=ASSIGNABLE_ROLES)
        .select_related("operator_status")
    )
    rows = []
    for user in users:
        presence = _presence_of(user)
        rows.append({"user": user, "presence": presence.status if presence else OperatorStatus.Presence.OFFLINE})
    return rows


def _presence_context(user: Any, **extra: Any) -> dict[str, Any]:
    presence = _presence_of(user)
    default_capacity = OperatorStatus._meta.get_field("max_concurrent").get_default()
    return {
        "presence": presence.status if presence else OperatorStatus.Presence.OFFLINE,
        "capacity": presence.max_concurrent if presence else default_capacity,
        "presences": OperatorStatus.Presence.choices,
        **extra,
    }


def _list_context(request: HttpRequest, open_id: int | None) -> dict[str, Any]:
    channels = list(channels_queries.list_channels())
    form = InboxFilterForm(request.GET or None, channels=channels)
    conversations = conversations_queries.with_previews(
        conversations_queries.list_conversations(form.filters(request.user)).select_related("assignee__operator_status")
    )
    shown = list(conversations[:LIST_LIMIT])
    total = len(shown) if len(shown) < LIST_LIMIT else conversations.count()
    return {
        "filter_form": form,
        "status": form.value("status"),
        "statuses": Conversation.Status.choices,
        "rows": _rows(shown, clock.now()),
        "total": total,
        "more": total - len(shown),
        "query": form.query(),
        "open_id": open_id,
    }


def _head_context(request: HttpRequest, conversation: Conversation, **extra: Any) -> dict[str, Any]:
    assignee = conversation.assignee
    assignee_presence = _presence_of(assignee) if assignee is not None else None
    return {
        "conversation": conversation,
        "other_assignee": assignee if assignee is not None and assignee.pk != request.user.pk else None,
        "assignee_presence": assignee_presence.status if assignee_presence else OperatorStatus.Presence.OFFLINE,
        "users": _assignable_users(),
        "statuses": Conversation.Status.choices,
        "priorities": Conversation.Priority.choices,
        "labels_text": ", ".join(conversation.labels or []),
        "snooze_default": (timezone.localtime(clock.now()) + dt.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
        "countdown": sla_countdown(conversation, clock.now()),
        **extra,
    }


def _messages_context(conversation: Conversation, **extra: Any) -> dict[str, Any]:
    newest = conversations_queries.customer_thread(conversation.customer_id).reverse()[:THREAD_LIMIT]
    thread = list(reversed(list(newest)))
    providers = dict(Provider.choices)
    for message in thread:
        meta = message.meta or {}
        switched = str(meta.get("switched_from", ""))
        message.switched_from_label = str(providers.get(switched, switched)) if switched else ""  # type: ignore[attr-defined]
        message.tag_label = _tag_label(str(meta.get("tag", ""))) if meta.get("tag") else ""  # type: ignore[attr-defined]
    return {"conversation": conversation, "thread": thread, **extra}


def _composer_context(
    request: HttpRequest,
    conversation: Conversation,
    *,
    text: str = "",
    note: bool = False,
    via: int | None = None,
    send_after: str = "",
    **extra: Any,
) -> dict[str, Any]:
    now = clock.now()
    options = _reply_options(conversation, selected=via, now=now)
    chosen = next(o for o in options if o["selected"])
    local = timezone.localtime(now)
    assignee = conversation.assignee
    return {
        "conversation": conversation,
        "text": text,
        "note": note,
        "reply_options": options,
        "via": chosen["channel"].pk,
        "window_state": chosen["window"],
        "window_note": chosen["note"],
        "templates_supported": chosen["window"] == "closed"
        and chosen["channel"].provider in channels_actions.TEMPLATE_PROVIDERS,
        "templates": _templates(chosen["channel"]) if chosen["window"] == "closed" else [],
        "template_id": str(extra.pop("template_id", "") or ""),
        "send_after": send_after
        or (local.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "time_zone": timezone.get_current_timezone_name(),
        "can_manage_canned": permissions.can(request.user, Section.SETTINGS),  # type: ignore[arg-type]
        "assignee_seen": conversation.assignee_id or "",
        "other_assignee": assignee if assignee is not None and assignee.pk != request.user.pk else None,
        "idempotency_key": uuid.uuid4().hex,
        "sms": _sms_counter(options, chosen, text),
        **extra,
    }


_CYRILLIC = re.compile("[\u0400-\u04ff]")


def sms_cost(text: str) -> str:
    """What a reply costs as SMS: '2 SMS, Cyrillic: 67 characters each'."""
    encoding, count = sms_segments.segments(text)
    if encoding == "GSM-7":
        alphabet = gettext("Latin")
    else:
        alphabet = gettext("Cyrillic") if _CYRILLIC.search(text) else gettext("Unicode")
    return _sms_format() % {"count": count, "alphabet": alphabet, "per": sms_segments.per_message(text)}


def _sms_format() -> str:
    return gettext("%(count)s SMS, %(alphabet)s: %(per)s characters each")


def _sms_counter(options: list[dict[str, Any]], chosen: dict[str, Any], text: str) -> dict[str, Any] | None:
    """The SMS cost line under the composer when a reply may go by SMS (console.js keeps it current as
    the operator types, with the same alphabet); None when no SMS channel reaches the customer."""
    if not any(o["allowed"] and o["channel"].provider == Provider.SMS for o in options):
        return None
    controls = "\n\r\f"
    return {
        "shown": chosen["channel"].provider == Provider.SMS,
        "cost": sms_cost(text),
        "format": _sms_format(),
        "labels": {"latin": gettext("Latin"), "cyrillic": gettext("Cyrillic"), "unicode": gettext("Unicode")},
        "gsm": "".join(sorted(sms_segments.GSM_BASIC - set(controls))),
        "gsm_extension": "".join(sorted(sms_segments.GSM_EXTENSION - set(controls))),
    }


def _templates(channel: Any) -> list[dict[str, Any]]:
    """The channel's approved templates in use, each with the number of values it takes."""
    return [
        {"template": t, "values": range(1, message_templates.placeholders(t.body) + 1)}
        for t in channel.message_templates.filter(is_active=True)
    ]


def _card_context(conversation: Conversation) -> dict[str, Any]:
    customer = conversation.customer
    orders = orders_queries.list_orders(customer_id=customer.pk)[:RECENT_ORDERS]
    return {
        "customer": customer,
        "ltv": format_money(customer.lifetime_value, str(settings.OMNIA_CURRENCY)),
        "orders": [{"order": o, "total": format_money(o.total, o.currency)} for o in orders],
    }


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _page(request: HttpRequest, conversation: Conversation | None, status: int = 200, **extra: Any) -> HttpResponse:
    topics = "inbox"
    context: dict[str, Any] = {**_list_context(request, conversation.pk if conversation else None)}
    context.update(_presence_context(request.user, **extra.pop("presence", {})))
    if conversation is not None:
        topics = f"inbox inbox:conversation:{conversation.pk}"
        context.update(_head_context(request, conversation, **extra.pop("head", {})))
        context.update(_messages_context(conversation, **extra.pop("thread", {})))
        context.update(_card_context(conversation))
        context.update(_composer_context(request, conversation, **extra.pop("composer", {})))
        context["can_customers"] = permissions.can(request.user, Section.CUSTOMERS)  # type: ignore[arg-type]
    context["topics"] = topics
    context["me"] = request.user
    return render(request, "console/inbox.html", context, status=status)


def _partials(request: HttpRequest, *parts: tuple[str, dict[str, Any]]) -> HttpResponse:
    """Several partials in one htmx response: the first is swapped into the target, the rest out of band."""
    html = [
        render_to_string(template, {**context, "oob": index > 0, "me": request.user}, request=request)
        for index, (template, context) in enumerate(parts)
    ]
    return HttpResponse("".join(html))


def _to_conversation(request: HttpRequest, conversation: Conversation) -> HttpResponse:
    url = reverse("console:inbox_conversation", args=[conversation.pk])
    query = request.POST.get("list_query", "")
    return redirect(f"{url}?{query}" if query else url)


# --- pages -----------------------------------------------------------------------------------------


@require_GET
@section_required(Section.INBOX)
def inbox(request: HttpRequest) -> HttpResponse:
    """The three panes with no conversation open."""
    return _page(request, None)


@require_GET
@section_required(Section.INBOX)
def inbox_list(request: HttpRequest) -> HttpResponse:
    """The conversation list alone (filters applied): the filter form and live updates fetch it."""
    open_id = request.GET.get("open", "")
    context = _list_context(request, int(open_id) if open_id.isdigit() else None)
    return render(request, "console/_inbox_list.html", context)


@require_GET
@section_required(Section.INBOX)
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The three panes with this conversation's customer thread; opening it marks it read."""
    current = _conversation(conversation_id)
    conversations_actions.do_mark_read(conversation=current)
    return _page(request, current)


@require_GET
@section_required(Section.INBOX)
def thread_messages(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The timeline (and the header, out of band), fetched live while the conversation is open."""
    current = _conversation(conversation_id)
    if not _htmx(request):
        return redirect("console:inbox_conversation", current.pk)
    conversations_actions.do_mark_read(conversation=current)
    return _partials(
        request,
        ("console/_inbox_messages.html", _messages_context(current)),
        ("console/_inbox_head.html", _head_context(request, current)),
    )


def _via(request: HttpRequest, conversation: Conversation) -> Any | None:
    """The channel chosen under "Reply via" (None: the conversation's own)."""
    value = request.POST.get("via", "")
    if not value.isdigit() or int(value) == conversation.channel_id:
        return None
    return conversations_queries.get_channel(int(value), field="channel")


def _reply(request: HttpRequest, current: Conversation, *, text: str, schedule: bool) -> None:
    """Send now, or schedule for the time picked, through the chosen channel and under its rules."""
    via = _via(request, current)
    rules = channels_api.reply_window_for((via or current.channel).provider)
    arguments: dict[str, Any] = {
        "actor": request.user,
        "conversation": current,
        "text": text,
        "window": rules.window,
        "extended_window": rules.extended_window,
        "extended_tag": rules.extended_tag,
        "max_length": rules.max_length,
        "idempotency_key": request.POST.get("idempotency_key") or None,
        "via": via,
    }
    template_id = request.POST.get("template_id", "")
    if template_id and not schedule:
        # Outside the window: an approved template of the reply's channel, with the values typed in.
        ref = {
            "id": int(template_id) if template_id.isdigit() else template_id,
            "values": request.POST.getlist(f"template_value_{template_id}"),
        }
        arguments["template"], arguments["text"] = channels_api.template_for(via or current.channel, ref)
        arguments["window"] = arguments["extended_window"] = None
    if not schedule:
        conversations_actions.check_send_message(**arguments)
        return
    send_after = _parse_local(request.POST.get("send_after", ""))
    if send_after is None:
        raise ValidationFailed("Choose the date and time to send it.", code="SEND_AFTER_INVALID", field="send_after")
    actions_scheduled.check_schedule_message(send_after=send_after, **arguments)


@require_POST
@section_required(Section.INBOX)
def send(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Reply (now or at a chosen time, through the conversation's channel or another of the
    customer's), or add a private note. Refused when someone else took the conversation since the
    page was shown (unless the operator confirms), or the chosen channel's reply window is closed."""
    current = _conversation(conversation_id)
    text = request.POST.get("text", "")
    as_note = bool(request.POST.get("note"))
    schedule = bool(request.POST.get("schedule"))
    via = request.POST.get("via", "")
    composer: dict[str, Any] = {
        "text": text,
        "note": as_note,
        "template_id": request.POST.get("template_id", ""),
        "via": int(via) if via.isdigit() else None,
        "send_after": request.POST.get("send_after", "")[:16],
        "scheduling": schedule,
    }
    seen = request.POST.get("assignee_seen", "")
    taken_by_other = current.assignee_id not in (None, request.user.pk) and seen != str(current.assignee_id)
    try:
        if as_note and schedule:
            raise ValidationFailed("A private note cannot be scheduled.", code="NOTE_NOT_SCHEDULED", field="note")
        if as_note:
            conversations_actions.do_add_note(actor=request.user, conversation=current, text=text)
        elif taken_by_other:
            composer["taken"] = True
        else:
            _reply(request, current, text=text, schedule=schedule)
    except DomainError as exc:
        if exc.code == "REPLY_WINDOW_CLOSED":
            options = _reply_options(current, selected=composer["via"], now=clock.now())
            chosen = next(o for o in options if o["selected"])
            composer["error"] = chosen["note"] or _error_message(exc)
        else:
            composer["error"] = _error_message(exc)
    failed = "error" in composer or "taken" in composer
    if not failed:
        composer = {"via": composer["via"]}  # the next reply goes the same way
        current = _conversation(conversation_id)  # assignee, first response: as the action left them
    if not _htmx(request):
        if failed:
            return _page(request, current, status=409 if "taken" in composer else 422, composer=composer)
        return _to_conversation(request, current)
    return _partials(
        request,
        (
            "console/_inbox_composer.html",
            {**_composer_context(request, current, **composer), "query": request.POST.get("list_query", "")},
        ),
        ("console/_inbox_messages.html", _messages_context(current)),
        ("console/_inbox_head.html", _head_context(request, current)),
    )


@require_POST
@section_required(Section.INBOX)
def cancel_scheduled(request: HttpRequest, conversation_id: int, message_id: int) -> HttpResponse:
    """Cancel a reply scheduled for later, unless it has gone out meanwhile (then say so)."""
    current = _conversation(conversation_id)
    message = conversations_queries.customer_thread(current.customer_id).filter(pk=message_id).first()
    if message is None:
        raise Http404("No such message in this customer's thread.")
    thread: dict[str, Any] = {}
    try:
        actions_scheduled.check_cancel_scheduled(actor=request.user, message=message)
    except DomainError as exc:
        thread["thread_error"] = _error_message(exc)
    current = _conversation(conversation_id)
    if not _htmx(request):
        if thread:
            return _page(request, current, status=409, thread=thread)
        return _to_conversation(request, current)
    return _partials(
        request,
        ("console/_inbox_messages.html", _messages_context(current, **thread)),
        ("console/_inbox_head.html", _head_context(request, current)),
    )


def _canned_order(customer: Any) -> dict[str, str]:
    """The customer's latest order as canned-response variables (what the card shows first); its
    status in the customer's language. Empty values are left out, so they stay visible as {{…}}."""
    order = orders_queries.list_orders(customer_id=customer.pk).first()
    if order is None:
        return {}
    language = customer.language if customer.language in dict(settings.LANGUAGES) else None
    with translation.override(language or translation.get_language()):
        status = str(order.get_status_display())
    values = {"number": order.number, "total": format_money(order.total, order.currency), "status": status}
    return {name: value for name, value in values.items() if value}


PLACEHOLDER_MARK = "\ue000"  # a private-use character: stands for "{{" while the text is filled in


def _fill_canned(text: str, *, customer: Any, order: dict[str, str]) -> str:
    """render_canned, except that a customer field with no value stays as written ({{customer.city}})
    instead of vanishing, so the operator sees the gap before sending."""

    def keep_empty(match: re.Match[str]) -> str:
        known = queries_canned.KNOWN_VARIABLE.match(match.group(1))
        empty = (
            known is not None
            and known.group(1) == "customer"
            and known.group(2) in queries_canned.ALLOWED_FIELDS["customer"]
            and not getattr(customer, known.group(2), "")
        )
        return PLACEHOLDER_MARK + match.group(0)[2:] if empty else match.group(0)

    guarded = queries_canned.VARIABLE.sub(keep_empty, text.replace(PLACEHOLDER_MARK, ""))
    filled = queries_canned.render_canned(guarded, customer=customer, order=order)
    return filled.replace(PLACEHOLDER_MARK, "{{")


@require_GET
@section_required(Section.INBOX)
def canned_suggestions(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The composer's "/" list: canned responses matching what follows the slash, for the channel the
    reply goes through and the customer's language, each already filled in for this customer."""
    current = _conversation(conversation_id)
    query = request.GET.get("q", "")[:100]
    channel = current.channel
    via = request.GET.get("via", "")
    if via.isdigit() and int(via) != current.channel_id:
        channel = next(
            (o.channel for o in conversations_queries.reply_channels(current) if o.channel.pk == int(via)), channel
        )
    customer = current.customer
    language = customer.language if customer.language in CannedResponse.Language.values else ""
    found = queries_canned.search_canned(query, provider=channel.provider, language=language)[:CANNED_SHOWN]
    order = _canned_order(customer) if any("{{" in c.text for c in found) else {}
    options = []
    for canned in found:
        filled = _fill_canned(canned.text, customer=customer, order=order)
        missing = sorted({m.strip() for m in queries_canned.VARIABLE.findall(filled)})
        options.append({"canned": canned, "text": filled, "missing": missing})
    return render(
        request,
        "console/_inbox_canned.html",
        {
            "options": options,
            "query": query,
            "order_number": order.get("number", "") if any("{{order." in c.text for c in found) else "",
            "can_manage_canned": permissions.can(request.user, Section.SETTINGS),  # type: ignore[arg-type]
        },
    )


@require_POST
@section_required(Section.INBOX)
def set_presence(request: HttpRequest) -> HttpResponse:
    """The operator's own presence (online takes new conversations; away and offline do not), or
    how many open conversations routing gives them at once: one form each."""
    extra: dict[str, Any] = {}
    try:
        if "max_concurrent" in request.POST:
            value = request.POST["max_concurrent"].strip()
            if not value.isdigit():
                raise ValidationFailed("Give a number from 0 to 100.", code="CAPACITY_INVALID", field="max_concurrent")
            routing.do_set_capacity(user=request.user, max_concurrent=int(value))
        else:
            routing.do_set_presence(user=request.user, status=request.POST.get("status", ""))
    except DomainError as exc:
        extra["presence_error"] = _error_message(exc)
    user = accounts_queries.get_user(int(request.user.pk or 0))  # without the presence cached on request.user
    if not _htmx(request):
        if extra:
            return _page(request, None, status=422, presence=extra)
        back = request.POST.get("next", "")
        return redirect(back if back.startswith(reverse("console:inbox")) else reverse("console:inbox"))
    context = _presence_context(user, back_to=request.POST.get("next", ""), **extra)
    return render(request, "console/_inbox_presence.html", context)


def _head_post(request: HttpRequest, conversation_id: int, apply: Any) -> HttpResponse:
    """A header form (assign, status, priority, labels): apply it, then show the header again."""
    current = _conversation(conversation_id)
    extra: dict[str, Any] = {}
    try:
        apply(current)
    except DomainError as exc:
        extra["head_error"] = _error_message(exc)
    current = _conversation(conversation_id)
    if not _htmx(request):
        if extra:
            return _page(request, current, status=422, head=extra)
        return _to_conversation(request, current)
    return _partials(request, ("console/_inbox_head.html", _head_context(request, current, **extra)))


@require_POST
@section_required(Section.INBOX)
def assign(request: HttpRequest, conversation_id: int) -> HttpResponse:
    def apply(current: Conversation) -> None:
        choice = request.POST.get("assignee", "")
        if choice == "me":
            assignee: Any = request.user
        elif choice.isdigit():
            assignee = accounts_queries.get_user(int(choice))
        else:
            assignee = None
        team = request.POST.get("team", current.team)
        conversations_actions.check_assign(actor=request.user, conversation=current, assignee=assignee, team=team)

    return _head_post(request, conversation_id, apply)


@require_POST
@section_required(Section.INBOX)
def set_status(request: HttpRequest, conversation_id: int) -> HttpResponse:
    def apply(current: Conversation) -> None:
        status = request.POST.get("status", "")
        until = _parse_local(request.POST.get("snoozed_until", "")) if status == Conversation.Status.SNOOZED else None
        conversations_actions.check_set_status(
            actor=request.user, conversation=current, status=status, snoozed_until=until
        )

    return _head_post(request, conversation_id, apply)


@require_POST
@section_required(Section.INBOX)
def set_priority(request: HttpRequest, conversation_id: int) -> HttpResponse:
    def apply(current: Conversation) -> None:
        value = request.POST.get("priority", "")
        if not value.isdigit() or int(value) not in Conversation.Priority.values:
            raise DomainError(gettext("Unknown priority."), code="PRIORITY_INVALID", field="priority")
        conversations_actions.do_set_priority(actor=request.user, conversation=current, priority=int(value))

    return _head_post(request, conversation_id, apply)


@require_POST
@section_required(Section.INBOX)
def set_labels(request: HttpRequest, conversation_id: int) -> HttpResponse:
    def apply(current: Conversation) -> None:
        labels = _split_labels(request.POST.get("labels", ""))
        conversations_actions.do_set_labels(actor=request.user, conversation=current, labels=labels)

    return _head_post(request, conversation_id, apply)


@require_GET
@section_required(Section.INBOX)
def attachment(request: HttpRequest, message_id: int, index: int) -> HttpResponse:
    """A file a customer sent that Omnia keeps (e-mail attachments), as a download: never shown inline,
    so a hostile file cannot run in the console's origin."""
    message = conversations_queries.messages_by_id(message_id)
    attachments = list(message.attachments or []) if message is not None else []
    if not 0 <= index < len(attachments):
        raise Http404(gettext("No such attachment."))
    item = attachments[index]
    try:
        content = email_files.read(str(item.get("provider_ref", "")))
    except FileNotFoundError:
        raise Http404(gettext("This file is not kept by Omnia: open it in the channel's app.")) from None
    response = HttpResponse(content, content_type="application/octet-stream")
    name = str(item.get("file_name") or f"attachment-{message_id}-{index}")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response
