"""Reads for the inbox and the API."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from omnia.conversations.errors import ConversationNotFound
from omnia.conversations.models import Conversation, Message


@dataclass(frozen=True)
class ConversationFilters:
    status: str = ""  # "" = open, pending and snoozed (not resolved); "all" = every status
    channel_id: int | None = None
    provider: str = ""
    assignee_id: int | None = None
    unassigned: bool = False
    team: str = ""
    label: str = ""
    customer_id: int | None = None


def list_conversations(filters: ConversationFilters | None = None) -> QuerySet[Conversation]:
    """The inbox list: longest-waiting first, then most recent."""
    f = filters or ConversationFilters()
    qs = Conversation.objects.select_related("customer", "channel", "assignee")
    if f.status == "all":
        pass
    elif f.status:
        qs = qs.filter(status=f.status)
    else:
        qs = qs.exclude(status=Conversation.Status.RESOLVED)
    if f.channel_id:
        qs = qs.filter(channel_id=f.channel_id)
    if f.provider:
        qs = qs.filter(channel__provider=f.provider)
    if f.unassigned:
        qs = qs.filter(assignee__isnull=True)
    elif f.assignee_id:
        qs = qs.filter(assignee_id=f.assignee_id)
    if f.team:
        qs = qs.filter(team=f.team)
    if f.label:
        # Labels are a JSON list; SQLite stores non-ASCII letters as \uXXXX escapes, PostgreSQL as is.
        label = f.label.strip().lower()
        qs = qs.filter(Q(labels__icontains=f'"{label}"') | Q(labels__icontains=json.dumps(label)))
    if f.customer_id:
        qs = qs.filter(customer_id=f.customer_id)
    return qs.order_by(F("waiting_since").asc(nulls_last=True), "-last_message_at", "-id")


def get_conversation(conversation_id: int, *, field: str = "conversation_id") -> Conversation:
    conversation = (
        Conversation.objects.select_related("customer", "channel", "assignee").filter(pk=conversation_id).first()
    )
    if conversation is None:
        raise ConversationNotFound(f"No conversation #{conversation_id}.", field=field)
    return conversation


def messages_of(conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.select_related("author", "channel").order_by("created_at", "id")


def customer_thread(customer_id: int) -> QuerySet[Message]:
    """Every message with the customer across all their conversations and channels, oldest first."""
    return (
        Message.objects.filter(conversation__customer_id=customer_id)
        .select_related("author", "channel", "conversation")
        .order_by("created_at", "id")
    )


def counts_by_status() -> dict[str, Any]:
    rows = Conversation.objects.values_list("status", flat=True)
    counts: dict[str, int] = {}
    for status in rows:
        counts[status] = counts.get(status, 0) + 1
    return counts


def unread_total(*, assignee_id: int | None = None) -> int:
    qs = Conversation.objects.exclude(status=Conversation.Status.RESOLVED).filter(unread_count__gt=0)
    if assignee_id:
        qs = qs.filter(Q(assignee_id=assignee_id) | Q(assignee__isnull=True))
    return qs.count()


def with_previews(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Annotate each conversation with its last customer-visible message (`preview`, `preview_direction`)."""
    last = (
        Message.objects.filter(conversation=OuterRef("pk"))
        .exclude(kind__in=[Message.Kind.NOTE, Message.Kind.SYSTEM])
        .order_by("-created_at", "-id")
    )
    return conversations.annotate(
        preview=Subquery(last.values("text")[:1]), preview_direction=Subquery(last.values("direction")[:1])
    )


def reply_window_open(conversation: Conversation, *, window: dt.timedelta | None, at: dt.datetime) -> bool:
    """Whether free text may be sent: the channel has no window, or the customer wrote within it."""
    if window is None:
        return True
    last_in = (
        Message.objects.filter(
            conversation__customer_id=conversation.customer_id,
            channel=conversation.channel,
            direction=Message.Direction.IN,
        )
        .order_by("-created_at", "-id")
        .values_list("sent_at", "created_at")
        .first()
    )
    if last_in is None:
        return False
    customer_wrote_at = last_in[0] or last_in[1]  # the provider's time, else when we received it
    return at - customer_wrote_at <= window
