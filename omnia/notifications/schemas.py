from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from omnia.notifications.models import Attempt, Notification, Settings


class AttemptOut(Schema):
    id: int
    channel: str = Field(description="The channel kind: telegram, whatsapp, sms, email…")
    channel_id: int
    channel_name: str
    status: str = Field(description="queued, sent, delivered, read, failed, timed_out")
    error: str = Field(description="What the provider answered, or why it timed out")
    message_id: int | None = Field(description="The outbound message in the customer's conversation")
    conversation_id: int | None
    text: str = Field(description="What the customer was sent (an approved template as they read it)")
    created_at: dt.datetime
    updated_at: dt.datetime
    check_at: dt.datetime | None = Field(description="When it passes to the next channel if not delivered by then")

    @staticmethod
    def of(a: Attempt) -> AttemptOut:
        return AttemptOut(
            id=a.pk,
            channel=a.channel.provider,
            channel_id=a.channel_id,
            channel_name=a.channel.name,
            status=a.status,
            error=a.error,
            message_id=a.message_id,
            conversation_id=a.message.conversation_id if a.message is not None else None,
            text=a.text,
            created_at=a.created_at,
            updated_at=a.updated_at,
            check_at=a.check_at,
        )


class NotificationOut(Schema):
    id: int
    key: str = Field(description="What and for whom; the same key is never raised twice")
    event: str
    purpose: str = Field(description="transactional or marketing (the consent it needs)")
    customer_id: int
    order_id: int | None
    language: str
    status: str = Field(description="pending, sending, sent, delivered, read, failed, skipped")
    channel: str = Field(description="The kind it went (or is going) through; empty before the first try")
    reason: str = Field(description="Why a channel was passed over, or why it was not sent")
    due_at: dt.datetime = Field(description="Not sent before this (quiet hours)")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def fields_of(n: Notification) -> dict[str, Any]:
        return {
            "id": n.pk,
            "key": n.key,
            "event": n.event,
            "purpose": n.purpose,
            "customer_id": n.customer_id,
            "order_id": n.order_id,
            "language": n.language,
            "status": n.status,
            "channel": n.channel,
            "reason": n.reason,
            "due_at": n.due_at,
            "created_at": n.created_at,
            "updated_at": n.updated_at,
        }

    @staticmethod
    def of(n: Notification) -> NotificationOut:
        return NotificationOut(**NotificationOut.fields_of(n))


class NotificationDetailOut(NotificationOut):
    context: dict[str, Any] = Field(description="The values its text was written from, as of the event")
    attempts: list[AttemptOut]

    @staticmethod
    def of(n: Notification) -> NotificationDetailOut:
        return NotificationDetailOut(
            **NotificationOut.fields_of(n),
            context=n.context,
            attempts=[AttemptOut.of(a) for a in n.attempts.all()],
        )


class SettingsIn(Schema):
    fallback_chain: list[str] = Field(
        description="Channel kinds tried after the customer's preferred one, in order: whatsapp, telegram, sms…"
    )
    quiet_start: dt.time = Field(description="Quiet hours from (the shop's time zone), e.g. 21:00")
    quiet_end: dt.time = Field(description="Quiet hours until, e.g. 09:00; the same as quiet_start: none")
    undelivered_minutes: int = Field(description="Fall back when a channel that reports delivery has not, 1–10080")
    reply_waiting_minutes: int = Field(description="Tell about an unread web-chat reply after this long, 1–10080")
    disabled_events: list[str] = Field(default_factory=list, description="Events not sent at all")


class SettingsOut(SettingsIn):
    updated_at: dt.datetime | None
    updated_by: str | None

    @staticmethod
    def of(s: Settings) -> SettingsOut:
        return SettingsOut(
            fallback_chain=list(s.fallback_chain),
            quiet_start=s.quiet_start,
            quiet_end=s.quiet_end,
            undelivered_minutes=s.undelivered_minutes,
            reply_waiting_minutes=s.reply_waiting_minutes,
            disabled_events=list(s.disabled_events or []),
            updated_at=s.updated_at if s.pk else None,
            updated_by=s.updated_by.email if s.pk and s.updated_by else None,
        )
