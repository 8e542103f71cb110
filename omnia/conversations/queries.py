"""Reads for the inbox and the API."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from omnia.conversations.errors import ConversationNotFound
from omnia.conversations.models import Conversation, Message
from omnia.core.errors import NotFound
from omnia.customers.queries import may_contact


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


def messages_by_id(message_id: int) -> Message | None:
    return Message.objects.filter(pk=message_id).first()


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


@dataclass(frozen=True)
class ReplyRules:
    """When a channel lets us write to a customer: free text within `window` after their last message
    (None: always); beyond it, up to `extended_window`, only messages carrying `extended_tag`
    (Instagram's HUMAN_AGENT); beyond that, only an approved template."""

    window: dt.timedelta | None = None
    extended_window: dt.timedelta | None = None
    extended_tag: str = ""
    max_length: int | None = None  # the most characters one message may have (SMS: 1,600)


def reply_window_open(
    conversation: Conversation, *, window: dt.timedelta | None, at: dt.datetime, channel: Any = None
) -> bool:
    """Whether free text may be sent through `channel` (default: the conversation's): the channel has
    no window, or the customer wrote through it within the window."""
    if window is None:
        return True
    last_in = (
        Message.objects.filter(
            conversation__customer_id=conversation.customer_id,
            channel=channel if channel is not None else conversation.channel,
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


@dataclass(frozen=True)
class ReplyChannel:
    """A channel a reply in this conversation may go through, where to, and whether it may now."""

    channel: Any
    to: str
    allowed: bool
    reason: str = ""  # why not: "no_consent"


# Which of the customer's handles a channel of each provider can reach (WhatsApp reaches a phone).
REACHABLE_KINDS: dict[str, tuple[str, ...]] = {
    "whatsapp": ("whatsapp", "whatsapp_user", "phone"),
    "telegram": ("telegram",),
    "instagram": ("instagram",),
    "email": ("email",),
    "webchat": ("webchat",),
    "viber": ("viber",),
    "vk": ("vk",),
    "sms": ("phone",),
}


def _channel_model() -> Any:
    """channels.Channel: that app sits above this one, so it is reached through the foreign key."""
    return Conversation._meta.get_field("channel").related_model


def get_channel(channel_id: int, *, field: str = "channel_id") -> Any:
    """A connected channel by id (for replying through it)."""
    channel = _channel_model().objects.filter(pk=channel_id).first()
    if channel is None:
        raise NotFound("No such channel.", field=field, code="CHANNEL_NOT_FOUND")
    return channel


def reply_channels(conversation: Conversation) -> list[ReplyChannel]:
    """The conversation's own channel first, then every other active channel that reaches one of the
    customer's handles; a channel the customer withdrew service-message consent for is not allowed."""
    customer = conversation.customer
    handles: dict[str, str] = {}
    for kind, value in customer.identities.order_by("-last_seen_at", "-id").values_list("kind", "value"):
        handles.setdefault(kind, value)
    latest_thread = dict(
        Conversation.objects.filter(customer=customer)
        .exclude(external_thread_id="")
        .order_by("last_message_at", "id")
        .values_list("channel_id", "external_thread_id")
    )  # the newest per channel wins
    options = [ReplyChannel(channel=conversation.channel, to=conversation.external_thread_id, allowed=True)]
    for channel in _channel_model().objects.filter(is_active=True).exclude(pk=conversation.channel_id):
        to = latest_thread.get(channel.pk) or next(
            (handles[kind] for kind in REACHABLE_KINDS.get(channel.provider, ()) if kind in handles), ""
        )
        if not to:
            continue
        allowed = may_contact(customer, channel=channel.provider, purpose="transactional")
        options.append(ReplyChannel(channel=channel, to=to, allowed=allowed, reason="" if allowed else "no_consent"))
    return options
