from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageReceived:
    conversation_id: int
    message_id: int
    customer_id: int
    opened: bool = True  # the message started its conversation (False: it joined one)


@dataclass(frozen=True)
class MessageQueued:
    message_id: int


@dataclass(frozen=True)
class MessageStatusChanged:
    conversation_id: int
    message_id: int
    status: str


@dataclass(frozen=True)
class ConversationStatusChanged:
    conversation_id: int
    old: str
    new: str
    actor_id: int | None = None
