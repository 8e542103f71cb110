"""Normalised types every connector speaks, and the connector protocol. No database access here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Attachment:
    kind: str  # image, video, audio, voice, document, sticker, location, contact
    provider_ref: str = ""  # file_id / media id / URL
    mime_type: str = ""
    file_name: str = ""
    size: int | None = None
    url: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """A message a customer sent, as every channel describes it."""

    event_id: str  # dedupe key within the channel (see channels.md §0.2)
    external_message_id: str
    external_chat_id: str  # where to reply
    sender_kind: str  # customers.Identity kind: telegram, whatsapp, instagram, email, webchat…
    sender_id: str  # the handle's value as received
    sent_at: dt.datetime
    text: str = ""
    sender_display_name: str = ""
    sender_username: str = ""
    sender_phone: str = ""  # only when the channel really supplies it
    sender_language: str = ""
    attachments: tuple[Attachment, ...] = ()
    reply_to_external_id: str = ""
    unsupported: str = ""  # set when the message type is not supported: shown to operators as such
    # Threaded channels (e-mail): the ids of the thread this message answers (References, oldest first,
    # then In-Reply-To if not among them).
    references: tuple[str, ...] = ()
    subject: str = ""
    automatic: bool = False  # an auto-reply (out of office…): kept in its thread, never reopens it
    # A keyword reply that opts the sender out of ("stop") or back into ("start") messages on this channel.
    opt_out: str = ""
    # Other handles the provider gives for the same sender, (identity kind, value): added to their card.
    extra_handles: tuple[tuple[str, str], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundStatus:
    """A delivery status callback for a message we sent."""

    event_id: str
    external_message_id: str
    status: str  # sent, delivered, read, failed
    at: dt.datetime
    error: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundIgnored:
    """An event that carries nothing for operators (our own echo, a typing notice…); stored, not shown."""

    event_id: str
    reason: str
    raw: Mapping[str, Any] = field(default_factory=dict)


InboundEvent = InboundMessage | InboundStatus | InboundIgnored


@dataclass(frozen=True)
class OutboundMessage:
    to: str  # external chat id / phone / e-mail
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    reply_to_external_id: str = ""
    template: Mapping[str, Any] | None = None  # WhatsApp: {"name", "language", "components"}
    tag: str = ""  # Instagram HUMAN_AGENT outside 24 h
    subject: str = ""  # threaded channels (e-mail)
    references: tuple[str, ...] = ()  # threaded channels: the thread's message ids, oldest first


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str = ""
    error: str = ""
    transient: bool = False  # worth retrying (429, 5xx, network)
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return bool(self.provider_message_id) and not self.error


@dataclass(frozen=True)
class ChannelCapabilities:
    reply_window: dt.timedelta | None = None  # free text only within this time after the last inbound
    extended_window: dt.timedelta | None = None  # e.g. Instagram HUMAN_AGENT tag: 7 days
    extended_window_tag: str = ""  # the tag a message sent in the extended window carries
    threaded: bool = False  # conversations follow the provider's threads (e-mail), not one per customer
    needs_template_outside_window: bool = False
    max_text_length: int = 4096
    messages_per_second: float = 20.0
    delivery_receipts: bool = False
    read_receipts: bool = False


class WebhookRejected(Exception):
    """Signature or secret missing or wrong: answer 403 and store nothing."""


class BadPayload(Exception):
    """The body is not what the provider sends: answer 400 and store nothing."""


class Connector(Protocol):
    """One provider. Pure: no database access; HTTP only through its client.py.

    Optional, looked up with getattr: `webhooks = False` (polled, not pushed); `verify_request(*,
    credentials, url, headers, body)`, called instead of `verify` when the provider signs the public
    request URL too (Twilio); `webhook_ack = (body, content type)`, the answer the provider expects
    instead of the JSON one (Twilio: empty TwiML).
    """

    provider: str
    capabilities: ChannelCapabilities

    def verify(self, *, credentials: Mapping[str, Any], headers: Mapping[str, str], body: bytes) -> None:
        """Raise WebhookRejected unless the request is authentic exactly as the provider specifies."""

    def parse(self, *, body: bytes, config: Mapping[str, Any]) -> list[InboundEvent]:
        """The events in one webhook body; raise BadPayload for a malformed body."""

    def handshake(self, *, credentials: Mapping[str, Any], query: Mapping[str, str]) -> str | None:
        """Answer a GET verification (Meta's hub.challenge); None when the provider has none or it fails."""

    def send(
        self, *, credentials: Mapping[str, Any], config: Mapping[str, Any], message: OutboundMessage
    ) -> SendResult:
        """Send one message; never raises for provider or network errors (they come back in SendResult)."""
