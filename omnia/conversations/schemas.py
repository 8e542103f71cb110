"""Input and output shapes of the inbox API (conversations and their messages)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import AwareDatetime, Field

from omnia.conversations.models import CannedResponse, Conversation, Message

PriorityName = Literal["low", "normal", "high", "urgent"]
StatusName = Literal["open", "pending", "snoozed", "resolved"]


def priority_name(priority: int) -> PriorityName:
    names: dict[int, PriorityName] = {
        Conversation.Priority.LOW: "low",
        Conversation.Priority.NORMAL: "normal",
        Conversation.Priority.HIGH: "high",
        Conversation.Priority.URGENT: "urgent",
    }
    return names[priority]


def priority_value(name: PriorityName) -> int:
    return int(Conversation.Priority[name.upper()])


# --- outputs ----------------------------------------------------------------------------------


class ConversationOut(Schema):
    """A conversation as listed in the inbox."""

    id: int
    customer_id: int
    channel: str = Field(description="The provider: telegram, whatsapp, instagram, email, webchat…")
    channel_id: int
    channel_name: str
    status: str = Field(description="open, pending, snoozed or resolved")
    priority: PriorityName
    assignee: int | None = Field(description="The user id of the person it is assigned to; null if nobody")
    team: str
    labels: list[str]
    unread_count: int
    waiting_since: dt.datetime | None = Field(description="The oldest inbound message not answered yet")
    first_response_due: dt.datetime | None
    first_response_at: dt.datetime | None
    last_message_at: dt.datetime
    snoozed_until: dt.datetime | None
    resolved_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def of(c: Conversation) -> ConversationOut:
        return ConversationOut(**_conversation_fields(c))


def _conversation_fields(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.pk,
        "customer_id": c.customer_id,
        "channel": c.channel.provider,
        "channel_id": c.channel_id,
        "channel_name": c.channel.name,
        "status": c.status,
        "priority": priority_name(c.priority),
        "assignee": c.assignee_id,
        "team": c.team,
        "labels": list(c.labels),
        "unread_count": c.unread_count,
        "waiting_since": c.waiting_since,
        "first_response_due": c.first_response_due,
        "first_response_at": c.first_response_at,
        "last_message_at": c.last_message_at,
        "snoozed_until": c.snoozed_until,
        "resolved_at": c.resolved_at,
        "created_at": c.created_at,
    }


class CustomerRefOut(Schema):
    id: int
    name: str


class ConversationDetailOut(ConversationOut):
    """One conversation with who it is with."""

    customer: CustomerRefOut

    @staticmethod
    def of(c: Conversation) -> ConversationDetailOut:
        return ConversationDetailOut(
            **_conversation_fields(c), customer=CustomerRefOut(id=c.customer_id, name=c.customer.full_name)
        )


class MessageOut(Schema):
    id: int
    conversation_id: int
    direction: Literal["in", "out"]
    kind: str = Field(description="text, note (private, never sent), system or unsupported")
    channel: str = Field(description="The provider it came or goes through")
    text: str
    attachments: list[dict[str, Any]]
    template: dict[str, Any] | None
    status: str = Field(description="received, scheduled, queued, sent, delivered, read or failed")
    error: str
    author: int | None = Field(description="The user id of who wrote it (outbound and notes); null otherwise")
    author_name: str
    created_at: dt.datetime
    sent_at: dt.datetime | None = Field(description="When the provider sent or received it")
    send_after: dt.datetime | None
    channel_id: int = Field(description="The connected channel it came or goes through")
    subject: str = Field("", description="E-mail subject (threaded channels)")
    tag: str = Field("", description="A provider message tag it carries (Instagram HUMAN_AGENT)")
    automatic: bool = Field(False, description="An auto-reply (out of office): it reopens nothing")

    @staticmethod
    def of(m: Message) -> MessageOut:
        return MessageOut(
            id=m.pk,
            conversation_id=m.conversation_id,
            direction=m.direction,  # type: ignore[arg-type]
            kind=m.kind,
            channel=m.channel.provider,
            text=m.text,
            attachments=list(m.attachments or []),
            template=m.template,
            status=m.status,
            error=m.error,
            author=m.author_id,
            author_name=m.author.display_name if m.author is not None else "",
            created_at=m.created_at,
            sent_at=m.sent_at,
            send_after=m.send_after,
            channel_id=m.channel_id,
            subject=str((m.meta or {}).get("subject", "")),
            tag=str((m.meta or {}).get("tag", "")),
            automatic=bool((m.meta or {}).get("automatic", False)),
        )


class ReplyChannelOut(Schema):
    channel_id: int
    provider: str
    name: str
    to: str = Field(description="Where a reply through this channel goes: chat id, phone, e-mail address")
    allowed: bool = Field(description="False when the customer withdrew consent to service messages there")
    reason: str = Field(description="Why not allowed: no_consent; empty when allowed")
    window_open: bool = Field(description="Free text may be sent now; false: only an approved template (or a tag)")


# --- inputs -----------------------------------------------------------------------------------


class MessageIn(Schema):
    text: str = ""
    template: dict[str, Any] | None = Field(
        None,
        description="Needed outside the reply window: a registered template {'id', 'values': [...]} "
        "(GET /channels/{id}/templates), or the provider's own form {'name', 'language', 'components'}",
    )
    send_after: AwareDatetime | None = Field(None, description="Schedule: not sent before this time")
    channel_id: int | None = Field(
        None,
        description="Reply through another channel that reaches this customer (see reply_channels); "
        "default: the conversation's own",
    )


class NoteIn(Schema):
    text: str


class AssignIn(Schema):
    assignee_id: int | None = Field(None, description="A user id; null unassigns. Left out: unchanged")
    team: str | None = Field(None, description="A team; null or '' clears it. Left out: unchanged")


class StatusIn(Schema):
    status: StatusName
    snoozed_until: AwareDatetime | None = Field(None, description="Required for 'snoozed': a future time")


class LabelsIn(Schema):
    labels: list[str] = Field(description="Replaces the labels; stored trimmed, lower-case, unique")


class PriorityIn(Schema):
    priority: PriorityName


class MoveIn(Schema):
    customer_id: int = Field(description="The card the conversation belongs to from now on")


class MergeIn(Schema):
    other_id: int = Field(description="The conversation whose messages move into the one in the path")


# --- canned responses -------------------------------------------------------------------------

CannedLanguage = Literal["", "ru", "kk", "en"]


class CannedResponseOut(Schema):
    id: int
    shortcut: str = Field(description='Typed after "/" in the composer')
    title: str
    text: str = Field(description="May hold {{customer.first_name}}, {{order.number}}… (see the allow-list)")
    channel: str = Field(description='A provider, or "" for every channel')
    language: str = Field(description='ru, kk, en, or "" for every language')
    is_active: bool
    created_by: int | None
    updated_at: dt.datetime

    @staticmethod
    def of(c: CannedResponse) -> CannedResponseOut:
        return CannedResponseOut(
            id=c.pk,
            shortcut=c.shortcut,
            title=c.title,
            text=c.text,
            channel=c.channel,
            language=c.language,
            is_active=c.is_active,
            created_by=c.created_by_id,
            updated_at=c.updated_at,
        )


class CannedResponseIn(Schema):
    shortcut: str
    title: str
    text: str
    channel: str = ""
    language: CannedLanguage = ""


class CannedResponsePatchIn(Schema):
    shortcut: str | None = None
    title: str | None = None
    text: str | None = None
    channel: str | None = None
    language: CannedLanguage | None = None
    is_active: bool | None = None


class CannedRenderOut(Schema):
    text: str = Field(description="Filled in for the conversation's customer")
    missing: list[str] = Field(description="Variables left as written because no value is known (order.*)")
