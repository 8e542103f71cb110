"""The inbox: conversation list, one customer's thread across channels, the customer card beside it.

Thin: parse the request, call conversations queries/actions, render. The page is three panes; the
list and the thread re-fetch themselves when the console socket reports an inbox event.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from omnia.accounts import queries as accounts_queries
from omnia.channels import api as channels_api
from omnia.channels import queries as channels_queries
from omnia.channels.registry import connector_for
from omnia.console.views import section_required
from omnia.conversations import actions as conversations_actions
from omnia.conversations import queries as conversations_queries
from omnia.conversations.errors import ConversationNotFound
from omnia.conversations.models import Conversation
from omnia.conversations.queries import ReplyRules
from omnia.core import clock, permissions
from omnia.core.errors import DomainError
from omnia.core.money import format_money
from omnia.core.permissions import Role, Section
from omnia.orders import queries as orders_queries

LIST_LIMIT = 100
THREAD_LIMIT = 200
RECENT_ORDERS = 5
ASSIGNABLE_ROLES = (Role.OWNER, Role.MANAGER, Role.OPERATOR)

# Messages the inbox shows in the operator's language instead of the domain's English text.
ERROR_MESSAGES = {
    "MESSAGE_EMPTY": _("Write a message first."),
    "ASSIGNEE_INVALID": _("Only an active owner, manager or operator can take conversations."),
    "USER_NOT_FOUND": _("There is no such user."),
    "SNOOZE_INVALID": _("Snooze until a time in the future."),
    "STATUS_INVALID": _("Unknown status."),
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


def waiting_label(since: dt.datetime, now: dt.datetime) -> str:
    """How long the customer has waited, short: '<1 min', '5 min', '2 h 05 min', '3 d 4 h'."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 1:
        return gettext("<1 min")
    if minutes < 60:
        return gettext("%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return gettext("%(days)d d %(hours)d h") % {"days": days, "hours": hours}


def sla_state(conversation: Conversation, now: dt.datetime) -> str:
    """'overdue' when the first answer is late, 'waiting' while the customer waits, '' otherwise."""
    if conversation.waiting_since is None:
        return ""
    due = conversation.first_response_due
    if conversation.first_response_at is None and due is not None and now > due:
        return "overdue"
    return "waiting"


def _rows(conversations: list[Conversation], now: dt.datetime) -> list[dict[str, Any]]:
    return [
        {
            "c": c,
            "waiting": waiting_label(c.waiting_since, now) if c.waiting_since else "",
            "sla": sla_state(c, now),
        }
        for c in conversations
    ]


def _rules(conversation: Conversation) -> ReplyRules:
    return channels_api.reply_window_for(conversation.channel.provider)


def _reply_window(conversation: Conversation) -> dt.timedelta | None:
    try:
        return connector_for(conversation.channel.provider).capabilities.reply_window
    except LookupError:  # no connector registered for this provider: nothing to enforce here
        return None


def _window_closed_text(window: dt.timedelta) -> str:
    hours = int(window.total_seconds() // 3600)
    return ngettext(
        "The customer last wrote more than %(hours)d hour ago: choose an approved template",
        "The customer last wrote more than %(hours)d hours ago: choose an approved template",
        hours,
    ) % {"hours": hours}


def _conversation(conversation_id: int) -> Conversation:
    try:
        return conversations_queries.get_conversation(conversation_id)
    except ConversationNotFound as exc:
        raise Http404(exc.message) from exc


def _assignable_users() -> QuerySet[Any]:
    return accounts_queries.list_users().filter(is_active=True, role__in=ASSIGNABLE_ROLES)


def _list_context(request: HttpRequest, open_id: int | None) -> dict[str, Any]:
    channels = list(channels_queries.list_channels())
    form = InboxFilterForm(request.GET or None, channels=channels)
    conversations = conversations_queries.with_previews(
        conversations_queries.list_conversations(form.filters(request.user))
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
    return {
        "conversation": conversation,
        "other_assignee": assignee if assignee is not None and assignee.pk != request.user.pk else None,
        "users": _assignable_users(),
        "statuses": Conversation.Status.choices,
        "priorities": Conversation.Priority.choices,
        "labels_text": ", ".join(conversation.labels or []),
        "snooze_default": (timezone.localtime(clock.now()) + dt.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
        **extra,
    }


def _messages_context(conversation: Conversation) -> dict[str, Any]:
    newest = conversations_queries.customer_thread(conversation.customer_id).reverse()[:THREAD_LIMIT]
    return {"conversation": conversation, "thread": list(reversed(list(newest)))}


def _composer_context(
    request: HttpRequest, conversation: Conversation, *, text: str = "", note: bool = False, **extra: Any
) -> dict[str, Any]:
    window = _reply_window(conversation)
    closed = window is not None and not conversations_queries.reply_window_open(
        conversation, window=window, at=clock.now()
    )
    assignee = conversation.assignee
    return {
        "conversation": conversation,
        "text": text,
        "note": note,
        "window_closed": _window_closed_text(window) if closed and window is not None else "",
        "assignee_seen": conversation.assignee_id or "",
        "other_assignee": assignee if assignee is not None and assignee.pk != request.user.pk else None,
        "idempotency_key": uuid.uuid4().hex,
        **extra,
    }


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
    if conversation is not None:
        topics = f"inbox inbox:conversation:{conversation.pk}"
        context.update(_head_context(request, conversation, **extra.pop("head", {})))
        context.update(_messages_context(conversation))
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


@require_POST
@section_required(Section.INBOX)
def send(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Reply in the conversation's channel, or add a private note. Refused when someone else took the
    conversation since the page was shown (unless the operator confirms), or the reply window is closed."""
    current = _conversation(conversation_id)
    text = request.POST.get("text", "")
    as_note = bool(request.POST.get("note"))
    composer: dict[str, Any] = {"text": text, "note": as_note}
    seen = request.POST.get("assignee_seen", "")
    taken_by_other = current.assignee_id not in (None, request.user.pk) and seen != str(current.assignee_id)
    try:
        if as_note:
            conversations_actions.do_add_note(actor=request.user, conversation=current, text=text)
        elif taken_by_other:
            composer["taken"] = True
        else:
            conversations_actions.check_send_message(
                actor=request.user,
                conversation=current,
                text=text,
                window=_reply_window(current),
                extended_window=_rules(current).extended_window,
                extended_tag=_rules(current).extended_tag,
                idempotency_key=request.POST.get("idempotency_key") or None,
            )
    except DomainError as exc:
        if exc.code == "REPLY_WINDOW_CLOSED":
            window = _reply_window(current)
            composer["error"] = _window_closed_text(window) if window else _error_message(exc)
        else:
            composer["error"] = _error_message(exc)
    failed = "error" in composer or "taken" in composer
    if not failed:
        composer = {}
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
