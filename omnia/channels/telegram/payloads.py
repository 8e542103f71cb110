"""Telegram `Update` JSON → normalised inbound events (channels.md §1.3). Pure: no I/O, no database.

Decisions, so every update has exactly one documented outcome:

- ``message`` in a private chat → ``InboundMessage``; text or caption, attachments for photo (largest
  size), document, voice, audio, video, video note, animation, sticker, location / venue, contact.
  A contact whose ``user_id`` is the sender's own id sets ``sender_phone`` (E.164), so identity
  resolution can link the Telegram user to a card known by phone.
- A message of a type we do not handle (poll, dice, game, story…) → ``InboundMessage`` with
  ``unsupported="Unsupported Telegram message: <type>"``: operators see that the customer wrote.
- Service messages (pinned message, auto-delete timer…) → ``InboundIgnored``.
- ``edited_message`` → ``InboundIgnored("edit")``: the edited text has the same external id as the
  original, which the conversation already holds; edits are kept in the raw event log only.
- ``my_chat_member`` → ``InboundIgnored`` ("bot blocked" when the user blocked the bot).
- Group, supergroup and channel messages, ``callback_query`` (we send no inline keyboards) and every
  other update type → ``InboundIgnored``.
- Not JSON, not an object, no integer ``update_id``, or a message without its required fields →
  ``BadPayload``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from omnia.channels.base import Attachment, BadPayload, InboundEvent, InboundIgnored, InboundMessage
from omnia.core.errors import ValidationFailed
from omnia.core.phones import normalize_phone

SENDER_KIND = "telegram"
UNSUPPORTED = "Unsupported Telegram message: {}"

# Message fields that describe a message rather than carry its content.
METADATA_FIELDS = frozenset(
    {
        "message_id",
        "message_thread_id",
        "from",
        "sender_chat",
        "sender_boost_count",
        "sender_business_bot",
        "date",
        "business_connection_id",
        "chat",
        "forward_origin",
        "forward_from",
        "forward_from_chat",
        "forward_from_message_id",
        "forward_signature",
        "forward_sender_name",
        "forward_date",
        "is_topic_message",
        "is_automatic_forward",
        "reply_to_message",
        "external_reply",
        "quote",
        "reply_to_story",
        "via_bot",
        "edit_date",
        "has_protected_content",
        "is_from_offline",
        "media_group_id",
        "author_signature",
        "entities",
        "caption",
        "caption_entities",
        "link_preview_options",
        "effect_id",
        "show_caption_above_media",
        "has_media_spoiler",
        "reply_markup",
    }
)
# Content we turn into text and attachments. `document` comes with `animation` too (compatibility).
CONTENT_FIELDS = (
    "text",
    "photo",
    "animation",
    "document",
    "voice",
    "audio",
    "video",
    "video_note",
    "sticker",
    "venue",
    "location",
    "contact",
)
# Service messages in a private chat: nothing a customer wrote.
SERVICE_FIELDS = frozenset(
    {
        "pinned_message",
        "message_auto_delete_timer_changed",
        "write_access_allowed",
        "chat_background_set",
        "chat_shared",
        "users_shared",
        "connected_website",
        "proximity_alert_triggered",
        "boost_added",
        "delete_chat_photo",
        "new_chat_photo",
        "new_chat_title",
    }
)


def parse_body(body: bytes) -> list[InboundEvent]:
    """The event in one webhook body (Telegram sends one update per request)."""
    try:
        update = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadPayload("The body is not JSON.") from exc
    if not isinstance(update, dict):
        raise BadPayload("The body is not a Telegram Update object.")
    return [parse_update(update)]


def parse_update(update: Mapping[str, Any]) -> InboundEvent:
    update_id = update.get("update_id")
    if not _is_int(update_id):
        raise BadPayload("The update has no integer update_id.")
    event_id = str(update_id)
    if "message" in update:
        return _parse_message(event_id, _object(update["message"], "message"), update)
    if "edited_message" in update:
        return InboundIgnored(event_id=event_id, reason="edit")
    if "my_chat_member" in update:
        member = _object(update["my_chat_member"], "my_chat_member")
        new_member = member.get("new_chat_member")
        status = new_member.get("status", "") if isinstance(new_member, dict) else ""
        if status == "kicked":
            return InboundIgnored(event_id=event_id, reason="bot blocked")
        if status == "member":
            return InboundIgnored(event_id=event_id, reason="bot unblocked")
        return InboundIgnored(event_id=event_id, reason=f"chat member: {status or 'unknown'}")
    if "callback_query" in update:
        return InboundIgnored(event_id=event_id, reason="callback query")
    kinds = sorted(key for key in update if key != "update_id")
    return InboundIgnored(event_id=event_id, reason=f"update: {kinds[0] if kinds else 'empty'}")


def _parse_message(event_id: str, message: Mapping[str, Any], update: Mapping[str, Any]) -> InboundEvent:
    chat = _object(message.get("chat"), "message.chat")
    chat_id, message_id, date = _int(chat.get("id")), _int(message.get("message_id")), _int(message.get("date"))
    if chat_id is None or message_id is None or date is None:
        raise BadPayload("The message lacks chat.id, message_id or date.")
    if chat.get("type") != "private":
        return InboundIgnored(event_id=event_id, reason=f"{chat.get('type') or 'unknown'} chat")
    sender = message.get("from")
    sender = sender if isinstance(sender, dict) else {}
    sender_id = sender.get("id") if _is_int(sender.get("id")) else chat_id  # private chat: chat id = user id
    try:
        sent_at = dt.datetime.fromtimestamp(date, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise BadPayload("The message date is out of range.") from exc

    content = next((key for key in CONTENT_FIELDS if key in message), None)
    if content is None:
        others = sorted(key for key in message if key not in METADATA_FIELDS)
        if others and others[0] in SERVICE_FIELDS:
            return InboundIgnored(event_id=event_id, reason=f"service message: {others[0]}")
    unsupported = "" if content else UNSUPPORTED.format(_unknown_kind(message))

    text = message.get("text") if "text" in message else message.get("caption")
    reply = message.get("reply_to_message")
    reply_id = reply.get("message_id") if isinstance(reply, dict) else None
    return InboundMessage(
        event_id=event_id,
        external_message_id=f"{chat_id}:{message_id}",
        external_chat_id=str(chat_id),
        sender_kind=SENDER_KIND,
        sender_id=str(sender_id),
        sent_at=sent_at,
        text=text if isinstance(text, str) else "",
        sender_display_name=display_name(sender),
        sender_username=_str(sender.get("username")),
        sender_phone=_own_phone(message, sender_id),
        sender_language=_str(sender.get("language_code")),
        attachments=attachments(message),
        reply_to_external_id=f"{chat_id}:{reply_id}" if _is_int(reply_id) else "",
        unsupported=unsupported,
        raw=dict(update),
    )


def display_name(user: Mapping[str, Any]) -> str:
    """'First Last' as the user set it in Telegram (first_name is always there; last_name optional)."""
    return " ".join(part.strip() for part in (_str(user.get("first_name")), _str(user.get("last_name"))) if part)


def attachments(message: Mapping[str, Any]) -> tuple[Attachment, ...]:
    """What the message carries besides text. Files are referenced by file_id: fetch on demand (getFile)."""
    found: list[Attachment] = []
    photo = message.get("photo")
    if isinstance(photo, list) and photo and isinstance(photo[-1], dict):
        found.append(_file("image", photo[-1], mime_type="image/jpeg"))  # the last size is the largest
    if isinstance(message.get("animation"), dict):
        found.append(_file("video", message["animation"]))
    elif isinstance(message.get("document"), dict):
        found.append(_file("document", message["document"]))
    for field, kind, default_mime in (
        ("voice", "voice", "audio/ogg"),
        ("audio", "audio", ""),
        ("video", "video", ""),
        ("video_note", "video", "video/mp4"),
    ):
        if isinstance(message.get(field), dict):
            found.append(_file(kind, message[field], mime_type=default_mime))
    sticker = message.get("sticker")
    if isinstance(sticker, dict):
        if sticker.get("is_animated"):
            mime = "application/x-tgsticker"
        elif sticker.get("is_video"):
            mime = "video/webm"
        else:
            mime = "image/webp"
        found.append(_file("sticker", sticker, mime_type=mime, file_name=_str(sticker.get("emoji"))))
    venue = message.get("venue")
    location = venue.get("location") if isinstance(venue, dict) else message.get("location")
    if isinstance(location, dict) and "latitude" in location and "longitude" in location:
        # A geo: URI (RFC 5870); a venue's title names the place.
        label = _str(venue.get("title")) if isinstance(venue, dict) else ""
        found.append(
            Attachment(kind="location", url=f"geo:{location['latitude']},{location['longitude']}", file_name=label)
        )
    contact = message.get("contact")
    if isinstance(contact, dict) and _str(contact.get("phone_number")):
        # A contact card: the number as sent (tel: URI), the name as the file name.
        found.append(
            Attachment(
                kind="contact",
                provider_ref=_str(contact.get("phone_number")),
                url=f"tel:{_international(_str(contact.get('phone_number')))}",
                file_name=display_name(contact),
            )
        )
    return tuple(found)


def _file(kind: str, obj: Mapping[str, Any], *, mime_type: str = "", file_name: str = "") -> Attachment:
    size = obj.get("file_size")
    return Attachment(
        kind=kind,
        provider_ref=_str(obj.get("file_id")),
        mime_type=_str(obj.get("mime_type")) or mime_type,
        file_name=_str(obj.get("file_name")) or file_name,
        size=size if _is_int(size) else None,
    )


def _own_phone(message: Mapping[str, Any], sender_id: object) -> str:
    """The sender's own number (E.164) when they shared their own contact; '' otherwise or if invalid.

    Telegram's phone_number is international, with or without '+'. An invalid number is left out
    (the contact attachment still shows it) so the message itself is never lost over a bad phone.
    """
    contact = message.get("contact")
    if not isinstance(contact, dict) or contact.get("user_id") != sender_id:
        return ""
    raw = _str(contact.get("phone_number"))
    if not raw:
        return ""
    try:
        return normalize_phone(_international(raw))
    except ValidationFailed:
        return ""


def _international(phone: str) -> str:
    phone = phone.strip()
    return phone if phone.startswith("+") or not phone[:1].isdigit() else f"+{phone}"


def _unknown_kind(message: Mapping[str, Any]) -> str:
    others = sorted(key for key in message if key not in METADATA_FIELDS)
    return others[0] if others else "empty"


def _object(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadPayload(f"{name} is not an object.")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""
