"""Instagram Direct connector: Meta's webhook signature and handshake, `messaging[]` events, sending.

Credentials: {"access_token", "app_secret", "verify_token"}; config: {"ig_user_id"} or {"page_id"}
(the object to POST messages to; "me" when neither is set).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from omnia.channels.base import (
    Attachment,
    BadPayload,
    ChannelCapabilities,
    InboundEvent,
    InboundIgnored,
    InboundMessage,
    InboundStatus,
    OutboundMessage,
    SendResult,
)
from omnia.channels.meta import client, webhook
from omnia.channels.meta.webhook import mapping, objects

HUMAN_AGENT = "HUMAN_AGENT"
MAX_TEXT_BYTES = 1000  # UTF-8 bytes, not characters (§3.3): about 500 Cyrillic letters
MEDIA_KINDS = {"image": "image", "video": "video", "audio": "audio", "file": "document"}
LINK_LABELS = {
    "share": "Shared post",
    "story_mention": "Mentioned us in a story",
    "ig_reel": "Shared reel",
    "reel": "Shared reel",
    "ig_post": "Shared post",
}


def _attachments(message: Mapping[str, Any]) -> tuple[tuple[Attachment, ...], list[str]]:
    """Media as attachments (by their expiring CDN URL); shared posts, reels and story mentions as text lines."""
    attachments: list[Attachment] = []
    lines: list[str] = []
    for item in objects(message.get("attachments"), "message.attachments"):
        kind = str(item.get("type") or "")
        url = str(mapping(item.get("payload")).get("url") or "")
        if kind in MEDIA_KINDS:
            attachments.append(Attachment(kind=MEDIA_KINDS[kind], provider_ref=url, url=url))
        else:
            label = LINK_LABELS.get(kind, f"Instagram {kind or 'attachment'}")
            lines.append(f"{label}: {url}" if url else label)
    return tuple(attachments), lines


class InstagramConnector:
    provider = "instagram"
    capabilities = ChannelCapabilities(
        reply_window=dt.timedelta(hours=24),
        extended_window=dt.timedelta(days=7),  # HUMAN_AGENT-tagged messages only (§3.4)
        extended_window_tag=HUMAN_AGENT,
        needs_template_outside_window=False,
        max_text_length=MAX_TEXT_BYTES,  # bytes on the wire: send() refuses longer UTF-8 text
        messages_per_second=5.0,
        delivery_receipts=False,  # no "delivered" webhook: the API's answer means sent
        read_receipts=True,  # messaging_seen
    )

    def verify(self, *, credentials: Mapping[str, Any], headers: Mapping[str, str], body: bytes) -> None:
        webhook.verify_signature(credentials=credentials, headers=headers, body=body)

    def handshake(self, *, credentials: Mapping[str, Any], query: Mapping[str, str]) -> str | None:
        return webhook.handshake(credentials=credentials, query=query)

    def parse(self, *, body: bytes, config: Mapping[str, Any]) -> list[InboundEvent]:
        data = webhook.load_object(body, expected_object="instagram")
        events: list[InboundEvent] = []
        for entry in objects(data.get("entry"), "entry"):
            # `standby[]` (another app owns the thread) and the dashboard's test shape (`changes[]`) are skipped.
            for item in objects(entry.get("messaging"), "entry[].messaging"):
                events.append(self._event(item))
        return events

    def _event(self, item: Mapping[str, Any]) -> InboundEvent:
        sender = str(mapping(item.get("sender")).get("id") or "")
        at = webhook.timestamp(item.get("timestamp"), milliseconds=True, where="messaging[].timestamp")
        stamp = f"{sender}:{item.get('timestamp')}"
        if "message" in item:
            return self._message(mapping(item.get("message")), sender=sender, at=at, raw=item)
        if "read" in item:
            mid = str(mapping(item.get("read")).get("mid") or "")
            if not mid:
                return InboundIgnored(event_id=f"read:{stamp}", reason="read receipt without a message id")
            return InboundStatus(event_id=f"{mid}:read", external_message_id=mid, status="read", at=at)
        if "reaction" in item:
            reaction = mapping(item.get("reaction"))
            action = str(reaction.get("action") or "react")
            return InboundIgnored(
                event_id=f"{reaction.get('mid') or ''}:reaction:{action}:{stamp}",
                reason=f"{action} {reaction.get('emoji') or reaction.get('reaction') or ''} on {reaction.get('mid')}",
            )
        if "postback" in item:
            # An icebreaker or button tap: the customer "said" the button's title.
            postback = mapping(item.get("postback"))
            mid = str(postback.get("mid") or f"postback:{stamp}")
            title = str(postback.get("title") or postback.get("payload") or "")
            return self._inbound(mid=mid, sender=sender, at=at, text=title, raw=item)
        if "message_edit" in item:
            edit = mapping(item.get("message_edit"))
            return InboundIgnored(
                event_id=f"{edit.get('mid')}:edit:{edit.get('num_edit')}", reason="the customer edited a message"
            )
        kind = next((k for k in item if k not in ("sender", "recipient", "timestamp")), "unknown")
        return InboundIgnored(event_id=f"{kind}:{stamp}", reason=f"Instagram {kind} event")

    def _message(
        self, message: Mapping[str, Any], *, sender: str, at: dt.datetime, raw: Mapping[str, Any]
    ) -> InboundEvent:
        mid = str(message.get("mid") or "")
        if not mid:
            raise BadPayload("messaging[].message.mid is missing")
        if message.get("is_echo") is True:
            # Sent by the business account (through us or the Instagram app): never a customer message.
            return InboundIgnored(event_id=mid, reason="echo of our own message")
        if message.get("is_deleted") is True:
            return InboundIgnored(event_id=f"{mid}:deleted", reason=f"the customer unsent message {mid}")
        attachments, lines = _attachments(message)
        text = "\n".join(filter(None, [str(message.get("text") or ""), *lines]))
        unsupported = ""
        if message.get("is_unsupported") is True or not (text or attachments):
            unsupported = "The customer sent an Instagram message the API does not deliver (unsupported type)"
        return self._inbound(
            mid=mid,
            sender=sender,
            at=at,
            text=text,
            attachments=attachments,
            reply_to=str(mapping(message.get("reply_to")).get("mid") or ""),
            unsupported=unsupported,
            raw=raw,
        )

    def _inbound(
        self,
        *,
        mid: str,
        sender: str,
        at: dt.datetime,
        text: str,
        raw: Mapping[str, Any],
        attachments: tuple[Attachment, ...] = (),
        reply_to: str = "",
        unsupported: str = "",
    ) -> InboundMessage:
        if not sender:
            raise BadPayload(f"message {mid} has no sender id")
        return InboundMessage(
            event_id=mid,
            external_message_id=mid,
            external_chat_id=sender,
            sender_kind="instagram",
            sender_id=sender,
            sent_at=at,
            text=text,
            attachments=attachments,
            reply_to_external_id=reply_to,
            unsupported=unsupported,
            raw=dict(raw),
        )

    def send(
        self, *, credentials: Mapping[str, Any], config: Mapping[str, Any], message: OutboundMessage
    ) -> SendResult:
        access_token = str(credentials.get("access_token") or "")
        if not access_token:
            return SendResult(error="the channel is not configured: access_token is required")
        if not message.to:
            return SendResult(error="no recipient: the conversation has no Instagram user id to reply to")
        if not message.text:
            return SendResult(error="nothing to send: Instagram sends text here")
        if len(message.text.encode()) > MAX_TEXT_BYTES:
            return SendResult(error=f"the text is longer than Instagram's {MAX_TEXT_BYTES} bytes: split it")
        payload: dict[str, Any] = {"recipient": {"id": message.to}, "message": {"text": message.text}}
        if message.tag:
            if message.tag != HUMAN_AGENT:
                return SendResult(error=f"unknown message tag {message.tag!r}: only {HUMAN_AGENT} is supported")
            payload |= {"messaging_type": "MESSAGE_TAG", "tag": HUMAN_AGENT}
        account = str(config.get("ig_user_id") or config.get("page_id") or "me")
        return client.post_message(
            path=f"{account}/messages", access_token=access_token, payload=payload, message_id=_sent_id
        )


def _sent_id(body: Mapping[str, Any]) -> str:
    return str(body.get("message_id") or "")
