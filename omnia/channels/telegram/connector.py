"""The Telegram bot connector (channels.md §1): secret-token webhook, Update parsing, sendMessage."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any

from omnia.channels.base import (
    ChannelCapabilities,
    InboundEvent,
    OutboundMessage,
    SendResult,
    WebhookRejected,
)
from omnia.channels.telegram import client, payloads

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
MAX_TEXT_LENGTH = 4096  # UTF-16 code units, as Telegram counts them
_CHAT_ID = re.compile(r"^-?\d{1,20}$")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, case-insensitively (Django's request.headers is; a plain dict may not be)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TelegramConnector:
    provider = "telegram"
    # No reply window; ~30 messages/s per bot overall (about 1/s per chat, bursts tolerated): spaced at 25/s.
    capabilities = ChannelCapabilities(
        reply_window=None,
        max_text_length=MAX_TEXT_LENGTH,
        messages_per_second=25.0,
        delivery_receipts=False,
        read_receipts=False,
    )

    def verify(self, *, credentials: Mapping[str, Any], headers: Mapping[str, str], body: bytes) -> None:
        """The secret-token header must equal the channel's `secret_token` exactly (no HMAC in Telegram)."""
        expected = credentials.get("secret_token")
        if not isinstance(expected, str) or not expected:
            raise WebhookRejected("the channel has no secret_token configured")
        received = _header(headers, SECRET_HEADER)
        if received is None:
            raise WebhookRejected(f"{SECRET_HEADER} missing")
        if not hmac.compare_digest(received.encode(), expected.encode()):
            raise WebhookRejected(f"{SECRET_HEADER} does not match")

    def parse(self, *, body: bytes, config: Mapping[str, Any]) -> list[InboundEvent]:
        return payloads.parse_body(body)

    def handshake(self, *, credentials: Mapping[str, Any], query: Mapping[str, str]) -> str | None:
        return None  # Telegram has no GET verification

    def send(
        self, *, credentials: Mapping[str, Any], config: Mapping[str, Any], message: OutboundMessage
    ) -> SendResult:
        if message.attachments or message.template:
            return SendResult(error="The Telegram connector sends text only.")
        text = message.text
        if not text.strip():
            return SendResult(error="The message is empty.")
        if utf16_length(text) > MAX_TEXT_LENGTH:
            return SendResult(error=f"The message is longer than Telegram's {MAX_TEXT_LENGTH} characters.")
        to = message.to.strip()
        if not to:
            return SendResult(error="The conversation has no Telegram chat to reply to.")
        chat_id: int | str = int(to) if _CHAT_ID.match(to) else to
        reply_to = _reply_message_id(message.reply_to_external_id)
        try:
            sent = client.send_message(credentials, chat_id=chat_id, text=text, reply_to_message_id=reply_to)
        except client.TelegramError as exc:
            return SendResult(error=exc.description, transient=exc.transient, retry_after=exc.retry_after)
        return SendResult(provider_message_id=f"{sent.chat_id}:{sent.message_id}")


def _reply_message_id(external_id: str) -> int | None:
    """Our external ids are 'chat_id:message_id'; a bare number is taken as the message id."""
    tail = external_id.rpartition(":")[2]
    return int(tail) if tail.isdigit() else None
