"""Conversations: inbound messages, replies through the outbox, notes, status, assignment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce

from omnia.conversations import queries as conversations_queries
from omnia.conversations.errors import ChannelInactive, EmptyMessage, ReplyWindowClosed
from omnia.conversations.events import (
    ConversationStatusChanged,
    MessageQueued,
    MessageReceived,
    MessageStatusChanged,
)
from omnia.conversations.models import Conversation, ConversationEvent, Message
from omnia.core import clock
from omnia.core.errors import ValidationFailed
from omnia.core.events import RealtimeUpdate, publish_on_commit
from omnia.core.permissions import Role
from omnia.customers import actions as customers_actions
from omnia.customers.models import Customer

# Delivery statuses only move forward (a late "delivered" never overwrites "read").
STATUS_ORDER: dict[str, int] = {
    Message.Status.QUEUED: 0,
    Message.Status.SENT: 1,
    Message.Status.DELIVERED: 2,
    Message.Status.READ: 3,
}


def _push(conversation: Conversation, kind: str, **data: Any) -> None:
    payload = {"conversation_id": conversation.pk, "customer_id": conversation.customer_id, **data}
    publish_on_commit(RealtimeUpdate(topic="inbox", kind=kind, data=payload))
    publish_on_commit(RealtimeUpdate(topic=f"inbox:conversation:{conversation.pk}", kind=kind, data=payload))


def _reopen(conversation: Conversation, *, channel: Any, at: dt.datetime) -> Conversation:
    """A new inbound message reopens a pending, snoozed or resolved conversation; a resolved one gets
    a fresh first-response target and a "reopened" reporting event."""
    if conversation.status == Conversation.Status.OPEN:
        return conversation
    was = conversation.status
    if was == Conversation.Status.RESOLVED:
        conversation.resolved_at = None
        conversation.first_response_at = None
        conversation.first_response_due = at + dt.timedelta(minutes=channel.first_response_minutes)
    conversation.status = Conversation.Status.OPEN
    conversation.snoozed_until = None
    conversation.save(
        update_fields=["status", "snoozed_until", "resolved_at", "first_response_at", "first_response_due"]
    )
    publish_on_commit(ConversationStatusChanged(conversation_id=conversation.pk, old=was, new=conversation.status))
    _push(conversation, "conversation.status", status=conversation.status)
    return conversation


def _threaded_conversation(*, channel: Any, references: Sequence[str]) -> Conversation | None:
    """The conversation holding the newest message this one answers (e-mail In-Reply-To/References)."""
    refs = [ref for ref in references if ref][:50]
    if not refs:
        return None
    found = (
        Message.objects.filter(channel=channel, provider_message_id__in=refs)
        .order_by("-created_at", "-id")
        .values_list("conversation_id", flat=True)
        .first()
    )
    return None if found is None else Conversation.objects.select_for_update().get(pk=found)


def _open_conversation(
    *,
    customer: Customer,
    channel: Any,
    at: dt.datetime,
    external_thread_id: str,
    threaded: bool = False,
    references: Sequence[str] = (),
    reopen: bool = True,
) -> tuple[Conversation | None, bool]:
    """The conversation a new inbound message belongs to, and whether it was started for it.

    Threaded channels (e-mail) follow the provider's thread: a reply joins the conversation of the
    message it answers, anything else starts a new one. Other channels follow the channel's reply
    policy: continue the customer's latest conversation, or start a new one once it was resolved.
    With reopen=False (an auto-reply) nothing is opened or reopened: None when there is nothing to join.
    """
    if threaded:
        latest = _threaded_conversation(channel=channel, references=references)
        if latest is not None and latest.customer_id != customer.pk:
            latest = None  # someone else answering in the thread: their own conversation
    else:
        latest = (
            Conversation.objects.select_for_update()
            .filter(customer=customer, channel=channel)
            .order_by("-last_message_at", "-id")
            .first()
        )
        if (
            latest is not None
            and latest.status == Conversation.Status.RESOLVED
            and channel.reply_policy != channel.ReplyPolicy.CONTINUE
        ):
            latest = None
    if not reopen:
        return latest, False
    if latest is not None:
        return _reopen(latest, channel=channel, at=at), False
    return Conversation.objects.create(
        customer=customer,
        channel=channel,
        status=Conversation.Status.OPEN,
        team=channel.team,
        created_at=at,
        last_message_at=at,
        external_thread_id=external_thread_id,
        first_response_due=at + dt.timedelta(minutes=channel.first_response_minutes),
    ), True


@transaction.atomic(savepoint=False)  # inside ingest's transaction: no savepoint on every message
def do_receive_message(
    *,
    customer: Customer,
    channel: Any,
    text: str,
    sent_at: dt.datetime,
    provider_message_id: str,
    external_chat_id: str,
    attachments: list[dict[str, Any]] | None = None,
    unsupported: str = "",
    threaded: bool = False,
    references: Sequence[str] = (),
    automatic: bool = False,
    meta: dict[str, Any] | None = None,
) -> Message | None:
    """Append an inbound message to the customer's conversation (opening or reopening one as needed).

    An automatic message (an out-of-office reply) joins its conversation without reopening it or
    counting as unread. Returns None when this provider message id was stored before (a retried
    delivery), or for an automatic message with no conversation to join.
    """
    now = clock.now()
    if (
        provider_message_id
        and Message.objects.filter(channel=channel, provider_message_id=provider_message_id).exists()
    ):
        return None  # delivered before: it must not reopen or open anything
    conversation, opened = _open_conversation(
        customer=customer,
        channel=channel,
        at=now,
        external_thread_id=external_chat_id,
        threaded=threaded,
        references=references,
        reopen=not automatic,
    )
    if conversation is None:
        return None
    message_meta = dict(meta or {})
    if automatic:
        message_meta["automatic"] = True
    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation,
                channel=channel,
                direction=Message.Direction.IN,
                kind=Message.Kind.UNSUPPORTED if unsupported else Message.Kind.TEXT,
                text=text or unsupported,
                attachments=attachments or [],
                status=Message.Status.RECEIVED,
                provider_message_id=provider_message_id,
                created_at=now,
                sent_at=sent_at,
                meta=message_meta,
            )
    except IntegrityError:
        return None
    if automatic:
        Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now)
    else:
        Conversation.objects.filter(pk=conversation.pk).update(
            last_message_at=now,
            unread_count=F("unread_count") + 1,
            external_thread_id=external_chat_id,
            waiting_since=Coalesce(F("waiting_since"), Value(now, output_field=DateTimeField())),  # keep the oldest
        )
    customers_actions.do_record_timeline(
        customer=customer,
        kind="message",
        channel=channel.provider,
        at=sent_at,
        ref=message,
        summary=(text or unsupported)[:200],
        data={"conversation_id": conversation.pk, "direction": "in"},
    )
    publish_on_commit(
        MessageReceived(conversation_id=conversation.pk, message_id=message.pk, customer_id=customer.pk, opened=opened)
    )
    _push(conversation, "message.received", message_id=message.pk)
    return message


def _route(conversation: Conversation, via: Any | None) -> conversations_queries.ReplyChannel:
    """Where a reply goes: the conversation's channel, or another channel of this customer's (with consent)."""
    if via is None or via.pk == conversation.channel_id:
        return conversations_queries.ReplyChannel(
            channel=conversation.channel, to=conversation.external_thread_id, allowed=True
        )
    option = next((o for o in conversations_queries.reply_channels(conversation) if o.channel.pk == via.pk), None)
    if option is None:
        raise ValidationFailed(
            f"{via} cannot reach this customer: they have no handle there.", field="channel", code="CHANNEL_UNREACHABLE"
        )
    if not option.allowed:
        raise ValidationFailed(
            f"The customer withdrew consent to service messages through {via}.", field="channel", code="NO_CONSENT"
        )
    return option


@transaction.atomic
def check_send_message(
    *,
    actor: Any,
    conversation: Conversation,
    text: str = "",
    window: dt.timedelta | None = None,
    extended_window: dt.timedelta | None = None,
    extended_tag: str = "",
    template: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    send_after: dt.datetime | None = None,
    via: Any | None = None,
    max_length: int | None = None,
) -> Message:
    """Queue a reply (the outbox); the delivery task sends it.

    It goes through the conversation's channel, or through `via`, another channel that reaches the
    same customer (e.g. answer an Instagram question by WhatsApp) where they have not withdrawn
    consent. The same idempotency key returns the message queued the first time. Outside the
    channel's reply window (`window`, for the channel it goes through) free text is refused
    (REPLY_WINDOW_CLOSED) unless it is still within `extended_window`, where it carries
    `extended_tag` (Instagram's HUMAN_AGENT); beyond that an approved template must be chosen.
    """
    if idempotency_key:
        existing = Message.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    route = _route(conversation, via)
    if not route.channel.is_active:
        raise ChannelInactive(f"{route.channel} is switched off: connect it again to reply.", field="channel")
    text = (text or "").strip()
    if not text and not template:
        raise EmptyMessage("Write a message.", field="text")
    if max_length is not None and not template and len(text) > max_length:
        raise ValidationFailed(
            f"{route.channel.get_provider_display()} takes at most {max_length} characters in a message: "
            f"this one has {len(text)}.",
            field="text",
            code="TEXT_TOO_LONG",
        )
    now = clock.now()
    meta: dict[str, Any] = {}
    if not template and not conversations_queries.reply_window_open(
        conversation, window=window, at=now, channel=route.channel
    ):
        if extended_window is not None and conversations_queries.reply_window_open(
            conversation, window=extended_window, at=now, channel=route.channel
        ):
            meta["tag"] = extended_tag
        else:
            raise ReplyWindowClosed(
                "The customer last wrote more than the channel allows for free text: choose an approved template.",
                field="text",
            )
    if route.channel.pk != conversation.channel_id:
        meta["switched_from"] = conversation.channel.provider
    message = Message.objects.create(
        conversation=conversation,
        channel=route.channel,
        direction=Message.Direction.OUT,
        text=text,
        template=template,
        status=Message.Status.SCHEDULED if send_after else Message.Status.QUEUED,
        author=getattr(actor, "audit_user", None),
        reply_to=route.to,
        created_at=now,
        send_after=send_after,
        next_attempt_at=send_after or now,
        idempotency_key=idempotency_key or None,
        meta=meta,
    )
    updates: dict[str, Any] = {"last_message_at": now, "waiting_since": None, "unread_count": 0}
    if conversation.first_response_at is None and send_after is None:
        updates["first_response_at"] = now  # a message scheduled for later is not an answer yet
    if conversation.assignee_id is None and getattr(actor, "audit_user", None) is not None:
        updates["assignee"] = actor.audit_user
    Conversation.objects.filter(pk=conversation.pk).update(**updates)
    publish_on_commit(MessageQueued(message_id=message.pk))
    _push(conversation, "message.queued", message_id=message.pk)
    return message


@transaction.atomic
def do_queue_notification_message(
    *,
    customer: Customer,
    channel: Any,
    to: str,
    text: str,
    template: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> Message:
    """Queue a message the shop sends by itself (a notification) in the customer's latest conversation
    on `channel`; with none, in a new one started resolved, so it does not wait in the operators' queue
    (the customer's answer reopens it as any message does). The caller has checked the reply window and
    consent. No author; waiting time and first response stay as they are: it answers nobody."""
    now = clock.now()
    conversation = (
        Conversation.objects.select_for_update()
        .filter(customer=customer, channel=channel)
        .order_by("-last_message_at", "-id")
        .first()
    )
    if conversation is None:
        conversation = Conversation.objects.create(
            customer=customer,
            channel=channel,
            status=Conversation.Status.RESOLVED,
            team=channel.team,
            created_at=now,
            last_message_at=now,
            resolved_at=now,
            external_thread_id=to,
        )
    message = Message.objects.create(
        conversation=conversation,
        channel=channel,
        direction=Message.Direction.OUT,
        text=text,
        template=template,
        status=Message.Status.QUEUED,
        author=None,
        reply_to=conversation.external_thread_id or to,
        created_at=now,
        next_attempt_at=now,
        meta=meta or {},
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now)
    publish_on_commit(MessageQueued(message_id=message.pk))
    _push(conversation, "message.queued", message_id=message.pk)
    return message


@transaction.atomic
def do_add_note(*, actor: Any, conversation: Conversation, text: str) -> Message:
    text = text.strip()
    if not text:
        raise EmptyMessage("Write the note.", field="text")
    note = Message.objects.create(
        conversation=conversation,
        channel=conversation.channel,
        direction=Message.Direction.OUT,
        kind=Message.Kind.NOTE,
        text=text,
        status=Message.Status.SENT,
        author=getattr(actor, "audit_user", None),
        created_at=clock.now(),
    )
    _push(conversation, "note.added", message_id=note.pk)
    return note


def _answered_by_scheduled(message: Message) -> None:
    """A reply scheduled for later answers the conversation when it goes out, not when it was written."""
    at = message.sent_at or clock.now()
    if Conversation.objects.filter(pk=message.conversation_id, first_response_at__isnull=True).update(
        first_response_at=at
    ):
        ConversationEvent.objects.create(
            conversation_id=message.conversation_id,
            kind=ConversationEvent.Kind.FIRST_RESPONSE,
            at=at,
            actor_id=message.author_id,
            data={"message_id": message.pk, "scheduled": True},
        )


@transaction.atomic
def do_record_send_result(
    *, message: Message, provider_message_id: str = "", error: str = "", retry_at: dt.datetime | None = None
) -> Message:
    """What the provider said about an outbox message: accepted (sent), failed, or retry later."""
    message.attempts += 1
    if provider_message_id:
        message.status, message.provider_message_id, message.error = Message.Status.SENT, provider_message_id, ""
        message.sent_at, message.next_attempt_at = clock.now(), None
        if message.send_after is not None:
            _answered_by_scheduled(message)
    elif retry_at is not None:
        message.error, message.next_attempt_at = error, retry_at
    else:
        message.status, message.error, message.next_attempt_at = Message.Status.FAILED, error, None
    message.save(update_fields=["attempts", "status", "provider_message_id", "error", "sent_at", "next_attempt_at"])
    publish_on_commit(
        MessageStatusChanged(conversation_id=message.conversation_id, message_id=message.pk, status=message.status)
    )
    _push(message.conversation, "message.status", message_id=message.pk, status=message.status)
    return message


@transaction.atomic
def do_update_delivery_status(*, channel: Any, provider_message_id: str, status: str, error: str = "") -> bool:
    """A provider's status callback; statuses never move backwards. False if the message is unknown."""
    message = (
        Message.objects.select_for_update()
        .select_related("conversation")
        .filter(channel=channel, provider_message_id=provider_message_id, direction=Message.Direction.OUT)
        .first()
    )
    if message is None:
        return False
    if message.status == Message.Status.FAILED:
        return True  # failed is final: a late "delivered" does not revive it
    if status == Message.Status.FAILED:
        message.status, message.error = Message.Status.FAILED, error or "failed"
    elif STATUS_ORDER.get(status, -1) > STATUS_ORDER.get(message.status, -1):
        message.status = status
    else:
        return True
    message.save(update_fields=["status", "error"])
    publish_on_commit(
        MessageStatusChanged(conversation_id=message.conversation_id, message_id=message.pk, status=message.status)
    )
    _push(message.conversation, "message.status", message_id=message.pk, status=message.status)
    return True


# --- triage: assignment, status, priority, labels, moving and merging ---------------------------

ASSIGNABLE_ROLES = frozenset({Role.OWNER, Role.MANAGER, Role.OPERATOR})
MAX_LABEL_LENGTH = 50
MAX_TEAM_LENGTH = 60


def _locked(conversation: Conversation) -> Conversation:
    """The row, locked for this transaction, with the caller's instance refreshed from it."""
    fresh = Conversation.objects.select_for_update().get(pk=conversation.pk)
    for field in Conversation._meta.concrete_fields:
        setattr(conversation, field.attname, getattr(fresh, field.attname))
    return conversation


@transaction.atomic
def check_assign(*, actor: Any, conversation: Conversation, assignee: Any | None, team: str | None) -> Conversation:
    """Give the conversation to a person and a team; None clears either. Only an active owner,
    manager or operator may take conversations (ValidationFailed on `assignee` otherwise)."""
    if assignee is not None and not (
        getattr(assignee, "is_active", False) and getattr(assignee, "role", "") in ASSIGNABLE_ROLES
    ):
        raise ValidationFailed(
            "Only an active owner, manager or operator can take conversations.",
            field="assignee",
            code="ASSIGNEE_INVALID",
        )
    team = (team or "").strip()
    if len(team) > MAX_TEAM_LENGTH:
        raise ValidationFailed(f"A team name has at most {MAX_TEAM_LENGTH} characters.", field="team")
    _locked(conversation)
    conversation.assignee = assignee
    conversation.team = team
    conversation.save(update_fields=["assignee", "team"])
    _push(conversation, "conversation.assigned", assignee_id=conversation.assignee_id, team=team)
    return conversation


@transaction.atomic
def check_set_status(
    *, actor: Any, conversation: Conversation, status: str, snoozed_until: dt.datetime | None = None
) -> Conversation:
    """Open, pend, snooze (until a future time) or resolve. Resolving stamps resolved_at; any other
    status clears it (a reopened conversation is not resolved)."""
    if status not in Conversation.Status.values:
        raise ValidationFailed(f"Unknown status {status!r}.", field="status", code="STATUS_INVALID")
    now = clock.now()
    if status == Conversation.Status.SNOOZED:
        if snoozed_until is None or snoozed_until <= now:
            raise ValidationFailed("Snooze until a time in the future.", field="snoozed_until", code="SNOOZE_INVALID")
    else:
        snoozed_until = None
    _locked(conversation)
    if status == conversation.status and snoozed_until == conversation.snoozed_until:
        return conversation
    if status == Conversation.Status.RESOLVED:
        conversation.resolved_at = conversation.resolved_at if conversation.status == status else now
    else:
        conversation.resolved_at = None
    was = conversation.status
    conversation.status = status
    conversation.snoozed_until = snoozed_until
    conversation.save(update_fields=["status", "snoozed_until", "resolved_at"])
    if was != status:
        user = getattr(actor, "audit_user", None)
        publish_on_commit(
            ConversationStatusChanged(
                conversation_id=conversation.pk, old=was, new=status, actor_id=getattr(user, "pk", None)
            )
        )
    _push(conversation, "conversation.status", status=status)
    return conversation


def do_wake_snoozed(*, now: dt.datetime) -> int:
    """Open every snoozed conversation whose time has come; returns how many."""
    woken = 0
    due = Conversation.objects.filter(status=Conversation.Status.SNOOZED, snoozed_until__lte=now)
    for pk in due.order_by("snoozed_until", "pk").values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().filter(pk=pk).first()
            if conversation is None or conversation.status != Conversation.Status.SNOOZED:
                continue  # someone opened or resolved it meanwhile
            conversation.status, conversation.snoozed_until = Conversation.Status.OPEN, None
            conversation.save(update_fields=["status", "snoozed_until"])
            publish_on_commit(
                ConversationStatusChanged(conversation_id=pk, old=Conversation.Status.SNOOZED, new=conversation.status)
            )
            _push(conversation, "conversation.status", status=conversation.status)
            woken += 1
    return woken


@transaction.atomic
def do_set_priority(*, actor: Any, conversation: Conversation, priority: int) -> Conversation:
    """Set the priority (one of Conversation.Priority)."""
    _locked(conversation)
    conversation.priority = Conversation.Priority(priority)
    conversation.save(update_fields=["priority"])
    _push(conversation, "conversation.priority", priority=conversation.priority)
    return conversation


def clean_labels(labels: list[str]) -> list[str]:
    """Trimmed, lower-case, without blanks or repeats, sorted."""
    return sorted({label.strip().lower()[:MAX_LABEL_LENGTH] for label in labels if label.strip()})


@transaction.atomic
def do_set_labels(*, actor: Any, conversation: Conversation, labels: list[str]) -> Conversation:
    """Replace the labels (cleaned: trimmed, lower-case, unique)."""
    _locked(conversation)
    conversation.labels = clean_labels(labels)
    conversation.save(update_fields=["labels"])
    _push(conversation, "conversation.labels", labels=conversation.labels)
    return conversation


@transaction.atomic
def check_move_to_customer(*, actor: Any, conversation: Conversation, customer: Customer) -> Conversation:
    """Hand the conversation (with its messages) to another card, e.g. when the wrong person was
    recognised; refused for a merged card (move it to the surviving one)."""
    if customer.merged_into_id is not None:
        raise ValidationFailed(
            f"Customer #{customer.pk} was merged into #{customer.merged_into_id}: move it there.",
            field="customer_id",
            code="CUSTOMER_MERGED",
        )
    _locked(conversation)
    if conversation.customer_id == customer.pk:
        return conversation
    previous = conversation.customer_id
    conversation.customer = customer
    conversation.save(update_fields=["customer"])
    _push(conversation, "conversation.moved", from_customer_id=previous)
    return conversation


@transaction.atomic
def check_merge_conversations(*, actor: Any, target: Conversation, other: Conversation) -> Conversation:
    """Move every message of `other` into `target` (same customer only); `other` is left resolved
    with a system line 'merged into #N'."""
    if target.pk == other.pk:
        raise ValidationFailed("A conversation cannot be merged into itself.", field="other_id", code="MERGE_SELF")
    # Lock in id order so two opposite merges cannot deadlock.
    for conversation in sorted((target, other), key=lambda c: c.pk):
        _locked(conversation)
    if target.customer_id != other.customer_id:
        raise ValidationFailed(
            "Only conversations with the same customer can be merged: move one to the other card first.",
            field="other_id",
            code="MERGE_OTHER_CUSTOMER",
        )
    now = clock.now()
    Message.objects.filter(conversation=other).update(conversation=target)
    waiting = [w for w in (target.waiting_since, other.waiting_since) if w is not None]
    due = [d for d in (target.first_response_due, other.first_response_due) if d is not None]
    target.last_message_at = max(target.last_message_at, other.last_message_at)
    target.waiting_since = min(waiting) if waiting else None
    target.first_response_due = min(due) if due else None
    target.unread_count += other.unread_count
    target.labels = clean_labels([*target.labels, *other.labels])
    target.save(update_fields=["last_message_at", "waiting_since", "first_response_due", "unread_count", "labels"])
    other.status, other.resolved_at, other.snoozed_until = Conversation.Status.RESOLVED, now, None
    other.waiting_since, other.unread_count = None, 0
    other.save(update_fields=["status", "resolved_at", "snoozed_until", "waiting_since", "unread_count"])
    Message.objects.create(
        conversation=other,
        channel=other.channel,
        direction=Message.Direction.OUT,
        kind=Message.Kind.SYSTEM,
        text=f"merged into #{target.pk}",
        status=Message.Status.SENT,
        author=getattr(actor, "audit_user", None),
        created_at=now,
    )
    _push(target, "conversation.merged", other_id=other.pk)
    _push(other, "conversation.status", status=other.status, merged_into=target.pk)
    return target


@transaction.atomic
def do_mark_read(*, conversation: Conversation) -> None:
    """The operator has read the conversation: reset its unread count (others are told only if it changed)."""
    updated = Conversation.objects.filter(pk=conversation.pk, unread_count__gt=0).update(unread_count=0)
    conversation.unread_count = 0
    if updated:
        data = {"conversation_id": conversation.pk, "customer_id": conversation.customer_id}
        publish_on_commit(RealtimeUpdate(topic="inbox", kind="conversation.read", data=data))
