"""The outbox sender: queued outbound messages → connector.send → status written back.

Retries transient failures with exponential backoff (or the provider's Retry-After), spaces sends
per channel to the provider's rate, and never sends a message twice: a send is claimed first.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.cache import cache
from django.db.models import Q

from omnia.channels.base import OutboundMessage
from omnia.channels.registry import connector_for
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Message
from omnia.core import clock

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
CLAIM = dt.timedelta(minutes=5)  # a crashed sender's claim expires; the message is retried


def backoff(attempt: int) -> dt.timedelta:
    """2 s, 4 s, 8 s … capped at 10 minutes."""
    return dt.timedelta(seconds=min(600, 2 ** max(1, attempt)))


def _claim(message_id: int, now: dt.datetime) -> bool:
    return bool(
        Message.objects.filter(
            Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True),
            pk=message_id,
            direction=Message.Direction.OUT,
            status__in=[Message.Status.QUEUED, Message.Status.SCHEDULED],
        ).update(next_attempt_at=now + CLAIM, status=Message.Status.QUEUED)
    )


def _rate_slot(channel_id: int, per_second: float, now: dt.datetime) -> dt.datetime | None:
    """None if this channel may send now; else when it may (spacing sends at the provider's rate)."""
    interval = 1.0 / per_second if per_second > 0 else 0.0
    key = f"omnia:channel-send:{channel_id}"
    last: dt.datetime | None = cache.get(key)
    if last is not None and (now - last).total_seconds() < interval:
        return last + dt.timedelta(seconds=interval)
    cache.set(key, now, timeout=60)
    return None


def _outbound(message: Message, *, threaded: bool) -> OutboundMessage:
    """What the connector sends. In a threaded channel (e-mail) a reply answers the newest message of
    its conversation in that channel: same subject, In-Reply-To and References."""
    meta = message.meta or {}
    subject, answers = str(meta.get("subject", "")), ""
    references: tuple[str, ...] = ()
    if threaded:
        previous = (
            Message.objects.filter(conversation_id=message.conversation_id, channel_id=message.channel_id)
            .exclude(pk=message.pk)
            .exclude(provider_message_id="")
            .exclude(kind=Message.Kind.NOTE)
            .order_by("-created_at", "-id")
            .only("provider_message_id", "meta")
            .first()
        )
        if previous is not None:
            earlier = [str(ref) for ref in (previous.meta or {}).get("references", [])]
            answers = previous.provider_message_id
            references = (*[ref for ref in earlier if ref != answers], answers)
            subject = subject or str((previous.meta or {}).get("subject", ""))
    return OutboundMessage(
        to=message.reply_to,
        text=message.text,
        template=message.template,
        tag=str(meta.get("tag", "")),
        subject=subject,
        references=references,
        reply_to_external_id=answers,
    )


def deliver(message_id: int) -> dt.datetime | None:
    """Try to send one outbox message. Returns when to try again, or None when done (sent, failed, not due)."""
    now = clock.now()
    message = Message.objects.select_related("conversation", "channel").filter(pk=message_id).first()
    if message is None or message.status not in (Message.Status.QUEUED, Message.Status.SCHEDULED):
        return None
    if message.send_after and message.send_after > now:
        return message.send_after
    if not _claim(message.pk, now):
        return None  # another worker has it, or it is not due yet
    try:
        connector = connector_for(message.channel.provider)
    except LookupError:
        conversations_actions.do_record_send_result(
            message=message, error=f"Sending through {message.channel.get_provider_display()} is not available yet."
        )
        return None
    wait = _rate_slot(message.channel_id, connector.capabilities.messages_per_second, now)
    if wait is not None:
        Message.objects.filter(pk=message.pk).update(next_attempt_at=wait)  # give the claim back
        return wait
    message.refresh_from_db(fields=["status", "attempts", "next_attempt_at"])
    outbound = _outbound(message, threaded=connector.capabilities.threaded)
    if connector.capabilities.threaded:  # kept so that a reply to this reply finds the whole thread
        message.meta = {**(message.meta or {}), "subject": outbound.subject, "references": list(outbound.references)}
        Message.objects.filter(pk=message.pk).update(meta=message.meta)
    result = connector.send(credentials=message.channel.credentials, config=message.channel.config, message=outbound)
    if result.ok:
        conversations_actions.do_record_send_result(message=message, provider_message_id=result.provider_message_id)
        return None
    if result.transient and message.attempts + 1 < MAX_ATTEMPTS:
        delay = dt.timedelta(seconds=result.retry_after) if result.retry_after else backoff(message.attempts + 1)
        retry_at = clock.now() + delay
        conversations_actions.do_record_send_result(message=message, error=result.error, retry_at=retry_at)
        logger.info("message %s: transient failure (%s), retry at %s", message.pk, result.error, retry_at)
        return retry_at
    conversations_actions.do_record_send_result(message=message, error=result.error or "rejected by the provider")
    return None
