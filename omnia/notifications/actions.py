"""Every change to notifications: raise one (once per key), send it through the next allowed channel,
record what the channel said, fall back when a try fails or is not delivered in time, and the settings.

The send path: `dispatch` picks the first channel kind — the customer's preference, then the shop's
fallback chain, then any other kind that reaches them — that has a handle, an active channel, consent
for the purpose and a way to write now (WhatsApp outside its 24 hours needs the shop's approved
template), and queues the text as an outbound message in the customer's conversation there (the
outbox). What the outbox reports (MessageStatusChanged) moves the attempt; a failure, or no delivery
report within `Settings.undelivered_minutes` from a channel that gives them, passes to the next kind.

Never twice: the key is unique, an attempt is unique per channel and a kind once tried is not tried
again, every status change is a conditional UPDATE from the states it may leave, and `dispatch` works
on the notification's row locked (so two workers cannot both pick a channel for it).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import translation

from omnia.catalog.models import Variant
from omnia.channels import message_templates
from omnia.channels.base import ChannelCapabilities
from omnia.channels.models import Channel, MessageTemplate
from omnia.channels.registry import connector_for
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Message
from omnia.core import clock
from omnia.core.audit import do_record_audit
from omnia.core.errors import Conflict, ValidationFailed
from omnia.core.events import publish_on_commit
from omnia.customers import actions as customers_actions
from omnia.customers.models import Customer, TimelineEntry
from omnia.inventory.models import Location, StockSubscription
from omnia.notifications import composing, queries
from omnia.notifications.events import NotificationDue
from omnia.notifications.models import Attempt, Event, Notification, Purpose, Settings

logger = logging.getLogger(__name__)

OPEN = (Notification.Status.PENDING, Notification.Status.SENDING)
# An attempt still in flight: in the outbox, or sent and waiting for the delivery report.
IN_FLIGHT = Q(status=Attempt.Status.QUEUED) | Q(status=Attempt.Status.SENT, check_at__isnull=False)
SMS_MAX_LENGTH = 1600  # what Twilio's Messages API takes in one Body
STALE = dt.timedelta(minutes=5)  # a notification left sending with nothing in flight this long is resumed
STEP_ORDER = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
MAX_REASON = 300


# --- raise ---------------------------------------------------------------------------------------


def _label(event: str) -> str:
    with translation.override(queries.shop_language()):
        return str(Event(event).label)


def do_raise(
    event: str,
    *,
    customer: Customer,
    key: str,
    order: Any = None,
    purpose: str = Purpose.TRANSACTIONAL,
    context: dict[str, Any] | None = None,
) -> Notification:
    """Raise the notification `key` once: a second raise with the same key returns the first.

    It is due now, or when the customer's quiet hours end; an event the shop switched off is kept as
    skipped (with the reason). It goes on the customer's timeline; sending is enqueued after commit."""
    existing = Notification.objects.filter(key=key).first()
    if existing is not None:
        return existing
    if customer.merged_into_id is not None:
        customer = Customer.objects.get(pk=customer.merged_into_id)
    rules = queries.get_settings()
    now = clock.now()
    if context is None:
        context = composing.build_context(event, customer=customer, order=order)
    switched_off = event in (rules.disabled_events or [])
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                key=key[:150],
                event=event,
                purpose=purpose,
                customer=customer,
                order=order,
                language=queries.language_of(customer),
                context=context,
                status=Notification.Status.SKIPPED if switched_off else Notification.Status.PENDING,
                reason="The shop switched this event off." if switched_off else "",
                due_at=now if switched_off else queries.due_at(customer, at=now, rules=rules),
                created_at=now,
                updated_at=now,
            )
            customers_actions.do_record_timeline(
                customer=customer,
                kind=TimelineEntry.Kind.NOTIFICATION,
                summary=_label(event),
                at=now,
                ref=notification,
                data={
                    "event": event,
                    "notification_id": notification.pk,
                    "order_id": getattr(order, "pk", None),
                    "status": notification.status,
                },
            )
            if not switched_off:
                publish_on_commit(NotificationDue(notification_id=notification.pk, due_at=notification.due_at))
    except IntegrityError:
        return Notification.objects.get(key=key[:150])  # raised at the same moment by someone else
    return notification


# --- send ------------------------------------------------------------------------------------------


def _capabilities(provider: str) -> ChannelCapabilities | None:
    try:
        return connector_for(provider).capabilities
    except LookupError:
        return None


def fit_text(text: str, limit: int) -> str:
    """The text cut to `limit` characters at a word boundary, with an ellipsis when cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def _approved(template: MessageTemplate | None, channel: Channel) -> MessageTemplate | None:
    """The shop's chosen approved template as registered on this channel (same name and language)."""
    if template is None:
        return None
    if template.channel_id == channel.pk and template.is_active:
        return template
    return MessageTemplate.objects.filter(
        channel=channel, name=template.name, language=template.language, is_active=True
    ).first()


@dataclass(frozen=True)
class _Choice:
    """How a notification goes out through one kind: the channel, to whom, and what."""

    kind: str
    channel: Channel
    to: str
    text: str
    subject: str
    template: dict[str, Any] | None


def _why_not(
    notification: Notification, kind: str, *, handles: dict[str, str], active: set[str], now: dt.datetime
) -> _Choice | str:
    """The way to send through `kind` now, or why it cannot be used (`active`: the providers with an
    active channel, read once per dispatch)."""
    customer = notification.customer
    if kind not in queries.CHAIN_KINDS:
        return "not a channel messages go through"  # a preference for phone calls, say
    handle = queries.handle_for(kind, handles)
    if kind not in active:  # what channel_for would find: no channel, and no thread in an active one
        return "no active channel" if handle else "no handle"
    channel, thread = queries.channel_for(customer, kind)
    if not handle and not thread:
        return "no handle"
    if channel is None:
        return "no active channel"
    if not queries.may_send(customer, kind=kind, purpose=notification.purpose):
        return "consent withdrawn" if notification.purpose == Purpose.TRANSACTIONAL else "no marketing consent"
    capabilities = _capabilities(kind)
    if capabilities is None:
        return "sending is not available"
    try:
        composed = composing.compose(
            event=notification.event, channel_kind=kind, language=notification.language, context=notification.context
        )
    except Exception:  # one broken text must not keep the other channels from being tried
        logger.exception("notification %s: could not write its text for %s", notification.pk, kind)
        return "the text could not be written"
    template: dict[str, Any] | None = None
    text = composed.text
    if capabilities.reply_window is not None and not queries.window_open(
        customer, channel=channel, window=capabilities.reply_window, at=now
    ):
        if not capabilities.needs_template_outside_window:
            return "outside the reply window"
        approved = _approved(composed.whatsapp_template, channel)
        if approved is None:
            return "no approved template"
        try:
            template = message_templates.payload(approved, composed.whatsapp_values)
            text = message_templates.render(approved, composed.whatsapp_values)
        except ValidationFailed as exc:
            return f"approved template {approved.name}: {exc.message}"
    else:
        limit = min(capabilities.max_text_length, SMS_MAX_LENGTH) if kind == "sms" else capabilities.max_text_length
        text = fit_text(text, limit)
        if not text:
            return "empty text"
    return _Choice(
        kind=kind, channel=channel, to=thread or handle, text=text, subject=composed.subject, template=template
    )


def _reason(parts: list[str]) -> str:
    text = "; ".join(parts)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _wait(notification: Notification, until: dt.datetime, now: dt.datetime) -> None:
    if Notification.objects.filter(pk=notification.pk, status__in=OPEN).update(
        status=Notification.Status.PENDING, due_at=until, updated_at=now
    ):
        publish_on_commit(NotificationDue(notification_id=notification.pk, due_at=until))


def dispatch(notification_id: int) -> Notification | None:
    """Send the notification through the next allowed channel, if it is due and no try is in flight.

    Returns the notification as left (sending, or skipped/failed naming why each kind was excluded)."""
    now = clock.now()
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("customer", "order")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.status not in OPEN or notification.due_at > now:
            return notification
        attempts = list(notification.attempts.select_related("channel"))
        if any(a.status == Attempt.Status.QUEUED or (a.status == Attempt.Status.SENT and a.check_at) for a in attempts):
            return notification  # one is in flight: its outcome decides
        reached = next((a for a in attempts if a.status in (Attempt.Status.DELIVERED, Attempt.Status.READ)), None)
        if reached is not None:  # delivered after all (a late report): never sent again
            Notification.objects.filter(pk=notification.pk, status__in=OPEN).update(
                status=reached.status, channel=reached.channel.provider, updated_at=now
            )
            return notification
        rules = queries.get_settings()
        customer = notification.customer
        if customer.merged_into_id is not None:
            customer = Customer.objects.get(pk=customer.merged_into_id)
            notification.customer = customer
        quiet = queries.quiet_until(customer, at=now, rules=rules)
        if quiet is not None:
            _wait(notification, quiet, now)
            return notification
        tried = {a.channel.provider for a in attempts}
        exclude = ("webchat",) if notification.event == Event.REPLY_WAITING else ()
        handles = queries.handles_of(customer)
        active = queries.active_providers()
        excluded: list[str] = [f"{a.channel.provider}: {a.error or a.get_status_display()}" for a in attempts]
        choice: _Choice | None = None
        for kind in queries.kind_order(customer, rules, exclude=exclude):
            if kind in tried:
                continue
            outcome = _why_not(notification, kind, handles=handles, active=active, now=now)
            if isinstance(outcome, str):
                if outcome != "no handle" or kind == customer.preferred_channel or kind in rules.fallback_chain:
                    excluded.append(f"{kind}: {outcome}")
                continue
            choice = outcome
            break
        if choice is None:
            final = Notification.Status.FAILED if attempts else Notification.Status.SKIPPED
            Notification.objects.filter(pk=notification.pk, status__in=OPEN).update(
                status=final, reason=_reason(excluded or ["no channel reaches the customer"]), updated_at=now
            )
            notification.refresh_from_db()
            return notification
        meta: dict[str, Any] = {"notification": notification.pk}
        if choice.subject:
            meta["subject"] = choice.subject
        message = conversations_actions.do_queue_notification_message(
            customer=customer,
            channel=choice.channel,
            to=choice.to,
            text=choice.text,
            template=choice.template,
            meta=meta,
        )
        Attempt.objects.create(
            notification=notification,
            channel=choice.channel,
            message=message,
            status=Attempt.Status.QUEUED,
            text=choice.text,
            created_at=now,
            updated_at=now,
        )
        Notification.objects.filter(pk=notification.pk, status__in=OPEN).update(
            status=Notification.Status.SENDING, channel=choice.kind, reason=_reason(excluded), updated_at=now
        )
        notification.refresh_from_db()
        return notification


# --- outcome -----------------------------------------------------------------------------------------


def do_record_outcome(*, message_id: int, status: str) -> Attempt | None:
    """What the outbox or the provider said about a notification's message: move its attempt (forward
    only) and the notification; a failure passes to the next channel at once."""
    attempt = Attempt.objects.select_related("channel").filter(message_id=message_id).first()
    if attempt is None:
        return None  # not a notification's message
    now = clock.now()
    fall_back = False
    with transaction.atomic():
        if status == Message.Status.SENT:
            capabilities = _capabilities(attempt.channel.provider)
            receipts = capabilities is not None and capabilities.delivery_receipts
            if receipts:
                minutes = queries.get_settings().undelivered_minutes
                Attempt.objects.filter(pk=attempt.pk, status=Attempt.Status.QUEUED).update(
                    status=Attempt.Status.SENT, check_at=now + dt.timedelta(minutes=minutes), updated_at=now
                )
            elif Attempt.objects.filter(pk=attempt.pk, status=Attempt.Status.QUEUED).update(
                status=Attempt.Status.SENT, updated_at=now
            ):
                Notification.objects.filter(pk=attempt.notification_id, status__in=OPEN).update(
                    status=Notification.Status.SENT, channel=attempt.channel.provider, updated_at=now
                )
        elif status in (Message.Status.DELIVERED, Message.Status.READ):
            earlier = [s for s, step in STEP_ORDER.items() if step < STEP_ORDER[status]]
            Attempt.objects.filter(pk=attempt.pk, status__in=[*earlier, Attempt.Status.TIMED_OUT]).update(
                status=status, check_at=None, updated_at=now
            )
            reachable_from = [*OPEN, Notification.Status.SENT, Notification.Status.FAILED]
            if status == Message.Status.READ:
                reachable_from.append(Notification.Status.DELIVERED)
            Notification.objects.filter(pk=attempt.notification_id, status__in=reachable_from).update(
                status=status, channel=attempt.channel.provider, updated_at=now
            )
        elif status == Message.Status.FAILED:
            error = Message.objects.filter(pk=message_id).values_list("error", flat=True).first() or "failed"
            fall_back = bool(
                Attempt.objects.filter(pk=attempt.pk, status__in=[Attempt.Status.QUEUED, Attempt.Status.SENT]).update(
                    status=Attempt.Status.FAILED, error=error[:500], check_at=None, updated_at=now
                )
            )
    if fall_back:
        dispatch(attempt.notification_id)
    attempt.refresh_from_db()
    return attempt


def do_time_out_attempts(*, now: dt.datetime | None = None) -> int:
    """Attempts sent through a channel that reports delivery but not delivered by their check time are
    timed out and their notifications pass to the next channel. Returns how many."""
    now = now or clock.now()
    minutes = queries.get_settings().undelivered_minutes
    due = list(
        Attempt.objects.filter(status=Attempt.Status.SENT, check_at__lte=now)
        .order_by("check_at")
        .values_list("pk", "notification_id")[:500]
    )
    timed_out = 0
    for attempt_id, notification_id in due:
        if Attempt.objects.filter(pk=attempt_id, status=Attempt.Status.SENT, check_at__lte=now).update(
            status=Attempt.Status.TIMED_OUT,
            check_at=None,
            error=f"not delivered within {minutes} minutes",
            updated_at=now,
        ):
            timed_out += 1
            dispatch(notification_id)
    return timed_out


def due_notifications(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Waiting notifications whose time has come, and sending ones left with nothing in flight."""
    now = now or clock.now()
    waiting = list(
        Notification.objects.filter(status=Notification.Status.PENDING, due_at__lte=now)
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    in_flight = Attempt.objects.filter(IN_FLIGHT, notification=OuterRef("pk"))
    stuck = list(
        Notification.objects.filter(status=Notification.Status.SENDING, updated_at__lte=now - STALE)
        .filter(~Exists(in_flight))
        .values_list("pk", flat=True)[:limit]
    )
    return waiting + stuck


# --- events that raise notifications on their own ---------------------------------------------------


def do_notify_back_in_stock(*, variant_id: int, location_id: int) -> list[Notification]:
    """Every open back-in-stock request for the variant, at this location or anywhere, is told once:
    the request is marked told (a conditional UPDATE, so two workers cannot both take it) together
    with the raise."""
    variant = Variant.objects.filter(pk=variant_id).first()
    location = Location.objects.filter(pk=location_id).first()
    if variant is None:
        return []
    requests = list(
        StockSubscription.objects.filter(Q(location_id=location_id) | Q(location__isnull=True), variant_id=variant_id)
        .filter(notified_at__isnull=True)
        .select_related("customer")
        .order_by("created_at", "id")
    )
    raised = []
    for request in requests:
        with transaction.atomic():
            if not StockSubscription.objects.filter(pk=request.pk, notified_at__isnull=True).update(
                notified_at=clock.now()
            ):
                continue  # told by someone else meanwhile
            context = composing.build_context(
                Event.BACK_IN_STOCK, customer=request.customer, variant=variant, location=location
            )
            raised.append(
                do_raise(Event.BACK_IN_STOCK, customer=request.customer, key=f"stock:{request.pk}", context=context)
            )
    return raised


def reply_waiting_messages(*, now: dt.datetime, minutes: int) -> list[Message]:
    """Operators' web-chat replies older than `minutes` (within a day) that are the last word of their
    conversation: not read, not answered, not followed by another reply (the newest one speaks for them)."""
    cutoff = now - dt.timedelta(minutes=minutes)
    later = Message.objects.filter(
        conversation=OuterRef("conversation"), created_at__gt=OuterRef("created_at"), kind=Message.Kind.TEXT
    )
    return list(
        Message.objects.filter(
            channel__provider="webchat",
            direction=Message.Direction.OUT,
            kind=Message.Kind.TEXT,
            author__isnull=False,
            status__in=[Message.Status.SENT, Message.Status.DELIVERED],
            created_at__lte=cutoff,
            created_at__gt=cutoff - dt.timedelta(days=1),
        )
        .filter(~Exists(later))
        .select_related("conversation__customer")
        .order_by("created_at", "id")[:500]
    )


def do_raise_reply_waiting(*, now: dt.datetime | None = None) -> list[Notification]:
    """A web-chat reply the customer has not seen after Settings.reply_waiting_minutes is told through
    another channel that reaches them (one notification per reply); nothing when none does."""
    now = now or clock.now()
    minutes = queries.get_settings().reply_waiting_minutes
    messages = reply_waiting_messages(now=now, minutes=minutes)
    told = set(Notification.objects.filter(key__in=[f"reply:{m.pk}" for m in messages]).values_list("key", flat=True))
    raised = []
    for message in messages:
        key = f"reply:{message.pk}"
        customer = message.conversation.customer
        if key in told or not queries.reachable_kinds(customer, exclude=("webchat",)):
            continue
        context = composing.build_context(Event.REPLY_WAITING, customer=customer, message=message)
        raised.append(do_raise(Event.REPLY_WAITING, customer=customer, key=key, context=context))
    return raised


# --- resend and settings -------------------------------------------------------------------------------


def check_resend(*, actor: Any, notification: Notification) -> Notification:
    """Raise the same notification again, deliberately (a new key, every channel open again); it
    waits out the customer's quiet hours like any other."""
    if notification.status in OPEN:
        raise Conflict("This notification is still being sent.", field="notification_id", code="NOTIFICATION_OPEN")
    count = Notification.objects.filter(key__startswith=f"{notification.key}:resend:").count()
    again = do_raise(
        notification.event,
        customer=notification.customer,
        key=f"{notification.key}:resend:{count + 1}",
        order=notification.order,
        purpose=notification.purpose,
        context=notification.context,
    )
    do_record_audit(actor=actor, action="notification.resend", target=again, changes={"of": notification.pk})
    return again


def clean_chain(chain: list[str], *, field: str = "fallback_chain") -> list[str]:
    """Channel kinds, each once, each one Omnia can send through."""
    cleaned: list[str] = []
    for index, kind in enumerate(chain):
        kind = str(kind).strip().lower()
        if kind not in queries.CHAIN_KINDS:
            raise ValidationFailed(
                f"{kind or '(empty)'} is not a channel kind; use {', '.join(queries.CHAIN_KINDS)}.",
                field=f"{field}[{index}]",
                code="CHANNEL_KIND_UNKNOWN",
            )
        if kind in cleaned:
            raise ValidationFailed(f"{kind} is named twice.", field=f"{field}[{index}]", code="CHANNEL_KIND_REPEATED")
        cleaned.append(kind)
    return cleaned


def clean_events(events: list[str], *, field: str = "disabled_events") -> list[str]:
    cleaned: list[str] = []
    for index, event in enumerate(events):
        if event not in Event.values:
            raise ValidationFailed(
                f"{event or '(empty)'} is not a notification event.", field=f"{field}[{index}]", code="EVENT_UNKNOWN"
            )
        if event not in cleaned:
            cleaned.append(event)
    return cleaned


def _minutes(value: int, *, field: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValidationFailed(f"Between {low} and {high} minutes.", field=field, code="MINUTES_OUT_OF_RANGE")
    return value


@transaction.atomic
def check_save_settings(
    *,
    actor: Any,
    fallback_chain: list[str],
    quiet_start: dt.time,
    quiet_end: dt.time,
    undelivered_minutes: int,
    reply_waiting_minutes: int,
    disabled_events: list[str],
) -> Settings:
    """Save the shop's notification rules (one row), validated; audited."""
    chain = clean_chain(fallback_chain)
    events = clean_events(disabled_events)
    undelivered = _minutes(undelivered_minutes, field="undelivered_minutes", low=1, high=7 * 24 * 60)
    reply_waiting = _minutes(reply_waiting_minutes, field="reply_waiting_minutes", low=1, high=7 * 24 * 60)
    rules = Settings.objects.select_for_update().order_by("id").first() or Settings(updated_at=clock.now())
    before = {
        "fallback_chain": rules.fallback_chain,
        "quiet_start": rules.quiet_start.isoformat(),
        "quiet_end": rules.quiet_end.isoformat(),
        "undelivered_minutes": rules.undelivered_minutes,
        "reply_waiting_minutes": rules.reply_waiting_minutes,
        "disabled_events": rules.disabled_events,
    }
    rules.fallback_chain, rules.disabled_events = chain, events
    rules.quiet_start, rules.quiet_end = (
        quiet_start.replace(second=0, microsecond=0),
        quiet_end.replace(second=0, microsecond=0),
    )
    rules.undelivered_minutes, rules.reply_waiting_minutes = undelivered, reply_waiting
    rules.updated_at, rules.updated_by = clock.now(), getattr(actor, "audit_user", None)
    rules.save()
    after = {
        "fallback_chain": chain,
        "quiet_start": rules.quiet_start.isoformat(),
        "quiet_end": rules.quiet_end.isoformat(),
        "undelivered_minutes": undelivered,
        "reply_waiting_minutes": reply_waiting,
        "disabled_events": events,
    }
    changes = {name: [before[name], value] for name, value in after.items() if before[name] != value}
    do_record_audit(actor=actor, action="notifications.settings", target=rules, changes=changes)
    return rules
