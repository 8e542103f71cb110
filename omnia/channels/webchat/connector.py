"""Web chat connector: no webhooks; replies go to the visitor's open widget over the channel layer.

Pure like every connector: no database access. The visitor's address (`to`, the conversation's
external thread id) is "<channel key>:<visitor id>", so a reply can be routed to the right socket group.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from omnia.channels.base import (
    ChannelCapabilities,
    InboundEvent,
    OutboundMessage,
    SendResult,
    WebhookRejected,
)
from omnia.core import clock, realtime

VISITOR_RE = re.compile(r"^[a-z0-9][a-z0-9-]{7,39}$")


def normalize_visitor(raw: str) -> str | None:
    """The visitor id as stored (lower-case), or None when it is not one the widget makes."""
    visitor = (raw or "").strip().lower()
    return visitor if VISITOR_RE.match(visitor) else None


def thread_id(key: str, visitor: str) -> str:
    """Where replies to this visitor go: the conversation's external thread id."""
    return f"{key}:{visitor}"


def topic(key: str, visitor: str) -> str:
    """The realtime topic the visitor's sockets listen to."""
    return f"webchat:{key.lower()}:{visitor}"


class WebchatConnector:
    provider = "webchat"
    capabilities = ChannelCapabilities(reply_window=None, max_text_length=4000, messages_per_second=50.0)

    def verify(self, *, credentials: Mapping[str, Any], headers: Mapping[str, str], body: bytes) -> None:
        raise WebhookRejected("web chat has no webhooks: visitors talk over /ws/webchat/<key>/")

    def parse(self, *, body: bytes, config: Mapping[str, Any]) -> list[InboundEvent]:
        return []

    def handshake(self, *, credentials: Mapping[str, Any], query: Mapping[str, str]) -> str | None:
        return None

    def send(
        self, *, credentials: Mapping[str, Any], config: Mapping[str, Any], message: OutboundMessage
    ) -> SendResult:
        key, _, raw_visitor = message.to.rpartition(":")
        visitor = normalize_visitor(raw_visitor)
        if not key or visitor is None:
            return SendResult(error=f"not a web chat visitor address: {message.to!r}")
        text = message.text
        if not text and message.template:
            text = str(message.template.get("text") or message.template.get("name") or "")
        provider_message_id = f"webchat-{uuid.uuid4().hex}"
        try:
            realtime.broadcast(
                topic(key, visitor),
                "message",
                {"id": provider_message_id, "text": text, "at": clock.now().isoformat()},
            )
        except ValueError as exc:  # a topic the channel layer cannot name
            return SendResult(error=str(exc))
        except Exception as exc:
            return SendResult(error=f"channel layer: {exc}", transient=True)
        # Delivered to the widget if it is open; otherwise the visitor sees it in the history on return.
        return SendResult(provider_message_id=provider_message_id)
