"""Replies scheduled for later ("Send later" in the composer): scheduling one, and cancelling it
before the delivery task claims it.

A scheduled reply is an outbox row with status `scheduled` and `send_after`; the sender claims it
at that time by turning it `queued` (channels.delivery._claim). Cancelling is therefore one
conditional DELETE on status=scheduled: it removes the row only if no sender has it yet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from omnia.conversations import actions as conversations_actions
from omnia.conversations import queries as conversations_queries
from omnia.conversations.errors import ReplyWindowClosed
from omnia.conversations.models import Conversation, Message
from omnia.core import clock
from omnia.core.audit import do_record_audit
from omnia.core.errors import Conflict, ValidationFailed
from omnia.core.events import RealtimeUpdate, publish_on_commit
from omnia.core.permissions import Section, require

MAX_DELAY = dt.timedelta(days=365)


class ScheduledTooLate(Conflict):
    """The sender already took the message (it is being sent or was sent): it cannot be cancelled."""

    code = "SCHEDULED_ALREADY_SENT"


@transaction.atomic
def check_schedule_message(
    *,
    actor: Any,
    conversation: Conversation,
    text: str,
    send_after: dt.datetime,
    window: dt.timedelta | None = None,
    extended_window: dt.timedelta | None = None,
    extended_tag: str = "",
    idempotency_key: str | None = None,
    via: Any | None = None,
    max_length: int | None = None,
) -> Message:
    """Queue a reply to go at `send_after` (aware, in the future, within a year).

    Besides check_send_message's rules (checked now), the reply window of the channel it goes
    through must still allow it at `send_after`: a WhatsApp reply scheduled past the customer's
    24 hours would only fail at the provider (SCHEDULE_AFTER_WINDOW).
    """
    if idempotency_key:
        existing = Message.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    if send_after.tzinfo is None:
        raise ValidationFailed("Give the time with its time zone.", field="send_after", code="SEND_AFTER_INVALID")
    now = clock.now()
    if send_after <= now:
        raise ValidationFailed("Schedule it for a time in the future.", field="send_after", code="SEND_AFTER_PAST")
    if send_after > now + MAX_DELAY:
        raise ValidationFailed("Schedule it at most a year ahead.", field="send_after", code="SEND_AFTER_TOO_FAR")
    message = conversations_actions.check_send_message(
        actor=actor,
        conversation=conversation,
        text=text,
        window=window,
        extended_window=extended_window,
        extended_tag=extended_tag,
        idempotency_key=idempotency_key,
        send_after=send_after,
        via=via,
        max_length=max_length,
    )
    # check_send_message judged the window now; the tag it chose must still hold when it goes.
    rule = extended_window if message.meta.get("tag") else window
    if not conversations_queries.reply_window_open(conversation, window=rule, at=send_after, channel=message.channel):
        raise ReplyWindowClosed(
            "The customer's reply window closes before that time: schedule it earlier or use a template.",
            field="send_after",
            code="SCHEDULE_AFTER_WINDOW",
        )  # the atomic block rolls the queued message back
    return message


@transaction.atomic
def check_cancel_scheduled(*, actor: Any, message: Message) -> None:
    """Cancel a scheduled reply that has not been picked up for sending: the outbox row is deleted
    (recorded in the audit log). SCHEDULED_ALREADY_SENT when the sender took it first."""
    require(actor, Section.INBOX)
    if message.direction != Message.Direction.OUT or message.kind != Message.Kind.TEXT:
        raise ValidationFailed("Only a reply can be cancelled.", field="message_id", code="MESSAGE_NOT_SCHEDULED")
    deleted, _ = Message.objects.filter(pk=message.pk, status=Message.Status.SCHEDULED).delete()
    if not deleted:
        raise ScheduledTooLate("It has already been sent: it can no longer be cancelled.", field="message_id")
    do_record_audit(
        actor=actor,
        action="message.scheduled_cancelled",
        target=message,
        changes={
            "conversation_id": message.conversation_id,
            "text": message.text[:500],
            "send_after": message.send_after.isoformat() if message.send_after else None,
        },
    )
    _wait_again(message.conversation_id)
    conversation = Conversation.objects.filter(pk=message.conversation_id).only("pk", "customer_id").first()
    if conversation is not None:
        data = {"conversation_id": conversation.pk, "customer_id": conversation.customer_id, "message_id": message.pk}
        for topic in ("inbox", f"inbox:conversation:{conversation.pk}"):
            publish_on_commit(RealtimeUpdate(topic=topic, kind="message.cancelled", data=data))


def _wait_again(conversation_id: int) -> None:
    """Scheduling a reply stopped the waiting clock; without it the customer waits again, since
    their oldest message after the last reply still standing (auto-replies do not count)."""
    last_reply = (
        Message.objects.filter(conversation_id=conversation_id, direction=Message.Direction.OUT, kind=Message.Kind.TEXT)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    unanswered = Message.objects.filter(conversation_id=conversation_id, direction=Message.Direction.IN)
    if last_reply is not None:
        unanswered = unanswered.filter(created_at__gt=last_reply)
    since = next(
        (
            at
            for at, meta in unanswered.order_by("created_at", "id").values_list("created_at", "meta")[:100]
            if not (meta or {}).get("automatic")
        ),
        None,
    )
    if since is not None:
        Conversation.objects.filter(pk=conversation_id, waiting_since__isnull=True).update(waiting_since=since)
