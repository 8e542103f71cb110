"""The notification log on the order page and the customer card (loaded into them by htmx), a deliberate
resend from it, and Settings → Notification rules (fallback chain, quiet hours, minutes, events off).

Thin: the form parses, omnia.notifications.actions validates and writes (audited); the log reads
omnia.notifications.queries. The log follows the page's own section (orders or customers); resending is
for owners and managers; the rules are settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from omnia.channels.models import Provider
from omnia.console.views import section_required
from omnia.core import permissions
from omnia.core.errors import DomainError, NotFound
from omnia.core.permissions import Role, Section
from omnia.notifications import actions as notifications_actions
from omnia.notifications import queries as notifications_queries
from omnia.notifications.models import Attempt, Event, Notification

LOG_LIMIT = 50
CHAIN_SLOTS = 6
RESENDERS = frozenset({Role.OWNER, Role.MANAGER})

ERROR_MESSAGES: dict[str, Promise] = {
    "CHANNEL_KIND_UNKNOWN": gettext_lazy("Choose a channel from the list."),
    "CHANNEL_KIND_REPEATED": gettext_lazy("This channel is already earlier in the chain."),
    "MINUTES_OUT_OF_RANGE": gettext_lazy("Between 1 and 10,080 minutes (a week)."),
    "EVENT_UNKNOWN": gettext_lazy("Choose events from the list."),
}


def _can_resend(request: HttpRequest) -> bool:
    return getattr(request.user, "role", "") in RESENDERS


# The engine's reasons (kept in English in the data, as the API gives them), in the user's language.
REASONS: dict[str, Promise] = {
    "no handle": gettext_lazy("no contact there"),
    "no active channel": gettext_lazy("no active channel connected"),
    "consent withdrawn": gettext_lazy("consent withdrawn"),
    "no marketing consent": gettext_lazy("no consent to marketing"),
    "sending is not available": gettext_lazy("sending through it is not available"),
    "the text could not be written": gettext_lazy("the text could not be written"),
    "outside the reply window": gettext_lazy("outside the reply window"),
    "no approved template": gettext_lazy("outside the 24 hours and no approved template"),
    "empty text": gettext_lazy("the text is empty"),
    "not a channel messages go through": gettext_lazy("not a channel messages go through"),
    "no channel reaches the customer": gettext_lazy("no channel reaches the customer"),
    "The shop switched this event off.": gettext_lazy("The shop switched this event off."),
}


def _reasons(reason: str) -> list[str]:
    """The reason, one part per channel ("sms: consent withdrawn"), in the user's language where known."""
    parts = []
    for part in filter(None, (p.strip() for p in reason.split("; "))):
        kind, sep, why = part.partition(": ")
        if sep and why in REASONS:
            parts.append(f"{kind}: {REASONS[why]}")
        else:
            parts.append(str(REASONS.get(part, part)))
    return parts


_NOT_DELIVERED = re.compile(r"^not delivered within (\d+) minutes$")


def _error(error: str) -> str:
    """An attempt's error: the provider's words as they are; the engine's own in the user's language."""
    late = _NOT_DELIVERED.match(error)
    if late is None:
        return error
    minutes = int(late.group(1))
    return ngettext("not delivered within %(minutes)d minute", "not delivered within %(minutes)d minutes", minutes) % {
        "minutes": minutes
    }


@dataclass(frozen=True)
class LogRow:
    notification: Notification
    attempts: list[Attempt]
    text: str  # what the customer got (or was to get) on the last try
    reasons: list[str]  # why channels were passed over, or why nothing was sent


def _log_context(request: HttpRequest, notifications: list[Notification], **extra: Any) -> dict[str, Any]:
    rows = []
    for n in notifications:
        attempts = list(n.attempts.all())
        for attempt in attempts:
            attempt.error = _error(attempt.error)  # for display only: never saved
        text = attempts[-1].text if attempts else ""
        rows.append(LogRow(notification=n, attempts=attempts, text=text, reasons=_reasons(n.reason)))
    return {"rows": rows, "can_resend": _can_resend(request), **extra}


@section_required(Section.ORDERS)
def order_log(request: HttpRequest, order_id: int) -> HttpResponse:
    notifications = notifications_queries.for_order(order_id, limit=LOG_LIMIT)
    context = _log_context(request, notifications, scope="order", scope_id=order_id)
    return render(request, "console/notifications/_log.html", context)


@section_required(Section.CUSTOMERS)
def customer_log(request: HttpRequest, customer_id: int) -> HttpResponse:
    notifications = notifications_queries.for_customer(customer_id, limit=LOG_LIMIT)
    context = _log_context(request, notifications, scope="customer", scope_id=customer_id)
    return render(request, "console/notifications/_log.html", context)


@require_POST
@section_required(Section.CUSTOMERS)
def resend(request: HttpRequest, notification_id: int) -> HttpResponse:
    if not _can_resend(request):
        return render(request, "console/forbidden.html", status=403)
    try:
        notification = notifications_queries.get_notification(notification_id)
    except NotFound as exc:
        raise Http404(gettext("No such notification.")) from exc
    scope = request.POST.get("scope", "customer")
    try:
        notifications_actions.check_resend(actor=request.user, notification=notification)
    except DomainError:
        messages.error(request, gettext("It is still being sent: wait for it to finish."))
    else:
        messages.success(request, gettext("It is sent again."))
    if scope == "order" and notification.order_id:
        return redirect("console:order_detail", pk=notification.order_id)
    return redirect("console:customer", customer_id=notification.customer_id)


# --- Settings → Notification rules ---------------------------------------------------------------------


def _kind_choices() -> list[tuple[str, Any]]:
    return [("", "—"), *[(value, label) for value, label in Provider.choices if value != Provider.WEBCHAT]]


class RulesForm(forms.Form):
    quiet_start = forms.TimeField(
        label=gettext_lazy("Quiet hours from"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    quiet_end = forms.TimeField(
        label=gettext_lazy("Quiet hours until"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=gettext_lazy(
            "Nothing is sent in between (the shop's time; a customer's own hours on their card win). "
            "The same time twice: no quiet hours."
        ),
    )
    undelivered_minutes = forms.IntegerField(
        label=gettext_lazy("Try the next channel when not delivered within, minutes"),
        help_text=gettext_lazy("For channels that report delivery (WhatsApp, SMS)."),
    )
    reply_waiting_minutes = forms.IntegerField(
        label=gettext_lazy("Tell about an unread web-chat reply after, minutes"),
        help_text=gettext_lazy("Through another channel of the customer's, when they left the site."),
    )
    disabled_events = forms.MultipleChoiceField(
        label=gettext_lazy("Events not sent"),
        required=False,
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for slot in range(1, CHAIN_SLOTS + 1):
            self.fields[f"chain_{slot}"] = forms.ChoiceField(
                label=gettext_lazy("%(n)s.") % {"n": slot}, required=False, choices=_kind_choices()
            )

    def chain_fields(self) -> list[forms.BoundField]:
        return [self[f"chain_{slot}"] for slot in range(1, CHAIN_SLOTS + 1)]

    def other_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("quiet_start", "quiet_end", "undelivered_minutes", "reply_waiting_minutes")]

    def chain(self) -> tuple[list[str], list[int]]:
        """The kinds chosen, in order, and the slot each came from (to put an error on it)."""
        kinds, slots = [], []
        for slot in range(1, CHAIN_SLOTS + 1):
            kind = self.cleaned_data.get(f"chain_{slot}") or ""
            if kind:
                kinds.append(kind)
                slots.append(slot)
        return kinds, slots

    def add_domain_error(self, exc: DomainError, slots: list[int]) -> None:
        message = str(ERROR_MESSAGES.get(exc.code, exc.message))
        field = exc.field or ""
        if field.startswith("fallback_chain["):
            index = int(field[len("fallback_chain[") : -1])
            self.add_error(f"chain_{slots[index]}", message)
        elif field.startswith("disabled_events"):
            self.add_error("disabled_events", message)
        elif field in self.fields:
            self.add_error(field, message)
        else:
            self.add_error(None, message)


def _initial() -> dict[str, Any]:
    rules = notifications_queries.get_settings()
    initial: dict[str, Any] = {
        "quiet_start": rules.quiet_start,
        "quiet_end": rules.quiet_end,
        "undelivered_minutes": rules.undelivered_minutes,
        "reply_waiting_minutes": rules.reply_waiting_minutes,
        "disabled_events": list(rules.disabled_events or []),
    }
    for slot, kind in enumerate(rules.fallback_chain[:CHAIN_SLOTS], start=1):
        initial[f"chain_{slot}"] = kind
    return initial


@section_required(Section.SETTINGS)
def rules(request: HttpRequest) -> HttpResponse:
    form = RulesForm(request.POST or None, initial=_initial())
    status = 200
    if request.method == "POST":
        if form.is_valid():
            chain, slots = form.chain()
            try:
                notifications_actions.check_save_settings(
                    actor=request.user,
                    fallback_chain=chain,
                    quiet_start=form.cleaned_data["quiet_start"],
                    quiet_end=form.cleaned_data["quiet_end"],
                    undelivered_minutes=form.cleaned_data["undelivered_minutes"],
                    reply_waiting_minutes=form.cleaned_data["reply_waiting_minutes"],
                    disabled_events=form.cleaned_data["disabled_events"],
                )
            except DomainError as exc:
                form.add_domain_error(exc, slots)
            else:
                messages.success(request, gettext("The notification rules are saved."))
                return redirect("console:settings_notifications")
        status = 422
    context = {
        "form": form,
        "tab": "notifications",
        "can_users": permissions.can(request.user, Section.USERS),  # type: ignore[arg-type]
        "can_audit": permissions.can(request.user, Section.AUDIT),  # type: ignore[arg-type]
        "rules": notifications_queries.get_settings(),
    }
    return render(request, "console/notifications/settings.html", context, status=status)
