"""WhatsApp Cloud API connector: webhook signature and handshake, inbound messages and statuses, sending.

Credentials: {"access_token", "app_secret", "verify_token"}; config: {"phone_number_id", "waba_id"}.
"""

from __future__ import annotations

import datetime as dt
import re
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

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
# Statuses as the framework knows them; "played" (a voice note was listened to) implies "read".
STATUSES = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read", "failed": "failed"}
_WA_ID = re.compile(r"^\+?\d{5,20}$")


def _error_text(errors: Any) -> str:
    """'Re-engagement message (131047): details' from the first of a webhook's `errors`."""
    items = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    if not items:
        return ""
    error = items[0]
    title = str(error.get("title") or error.get("message") or "error")
    code = error.get("code")
    text = f"{title} ({code})" if code is not None else title
    message = str(error.get("message") or "")
    details = str(mapping(error.get("error_data")).get("details") or "")
    extra = details or (message if message != title else "")
    return f"{text}: {extra}" if extra else text


def _media(kind: str, media: Mapping[str, Any]) -> Attachment:
    if kind == "audio" and media.get("voice") is True:
        kind = "voice"
    return Attachment(
        kind=kind,
        provider_ref=str(media.get("id") or ""),
        mime_type=str(media.get("mime_type") or ""),
        file_name=str(media.get("filename") or ""),
        url=str(media.get("url") or media.get("link") or ""),
    )


def _content(message: Mapping[str, Any]) -> tuple[str, tuple[Attachment, ...], str]:
    """(text, attachments, unsupported) of one inbound message by its `type` (channels.md §2.3)."""
    kind = str(message.get("type") or "")
    body = mapping(message.get(kind))
    if kind == "text":
        return str(body.get("body") or ""), (), ""
    if kind in MEDIA_TYPES:
        return str(body.get("caption") or ""), (_media(kind, body),), ""
    if kind == "location":
        lat, lon = body.get("latitude"), body.get("longitude")
        where = ", ".join(str(body[k]) for k in ("name", "address") if body.get(k))
        coordinates = f"{lat},{lon}"
        attachment = Attachment(
            kind="location",
            provider_ref=coordinates,
            file_name=where,
            url=f"https://maps.google.com/?q={coordinates}",
        )
        return (f"{where} ({coordinates})" if where else coordinates), (attachment,), ""
    if kind == "contacts":
        cards = objects(message.get("contacts"), "messages[].contacts")
        attachments, lines = [], []
        for card in cards:
            name = str(mapping(card.get("name")).get("formatted_name") or "")
            phones = [str(p.get("phone") or p.get("wa_id") or "") for p in objects(card.get("phones"), "phones")]
            attachments.append(Attachment(kind="contact", provider_ref=phones[0] if phones else "", file_name=name))
            lines.append(" ".join([name, *filter(None, phones)]).strip())
        return "\n".join(lines), tuple(attachments), ""
    if kind == "interactive":
        reply_type = str(body.get("type") or "")
        reply = mapping(body.get(reply_type))
        if reply_type in ("button_reply", "list_reply") and reply.get("title"):
            text = str(reply["title"])
            if reply.get("description"):
                text = f"{text}\n{reply['description']}"
            return text, (), ""
        return "", (), f"WhatsApp interactive reply of type {reply_type or 'unknown'!r} is not supported"
    if kind == "button":
        return str(body.get("text") or body.get("payload") or ""), (), ""
    if kind == "system":
        return "", (), f"WhatsApp system message: {body.get('body') or body.get('type') or 'no details'}"
    reason = _error_text(message.get("errors"))
    label = "an unsupported message" if kind == "unsupported" else f"a message of type {kind or 'unknown'!r}"
    return (
        "",
        (),
        f"The customer sent {label}, which WhatsApp does not deliver to the API" + (f" ({reason})" if reason else ""),
    )


class WhatsAppConnector:
    provider = "whatsapp"
    capabilities = ChannelCapabilities(
        reply_window=dt.timedelta(hours=24),
        needs_template_outside_window=True,
        max_text_length=4096,
        messages_per_second=20.0,  # 80 by default, 20 for numbers shared with the Business app (§2.7)
        delivery_receipts=True,
        read_receipts=True,
    )

    def verify(self, *, credentials: Mapping[str, Any], headers: Mapping[str, str], body: bytes) -> None:
        webhook.verify_signature(credentials=credentials, headers=headers, body=body)

    def handshake(self, *, credentials: Mapping[str, Any], query: Mapping[str, str]) -> str | None:
        return webhook.handshake(credentials=credentials, query=query)

    def parse(self, *, body: bytes, config: Mapping[str, Any]) -> list[InboundEvent]:
        data = webhook.load_object(body, expected_object="whatsapp_business_account")
        ours = str(config.get("phone_number_id") or "")
        events: list[InboundEvent] = []
        for entry in objects(data.get("entry"), "entry"):
            for change in objects(entry.get("changes"), "entry[].changes"):
                if change.get("field") != "messages":
                    continue  # account, template and quality updates: not conversation events
                value = mapping(change.get("value"))
                metadata = mapping(value.get("metadata"))
                number = str(metadata.get("phone_number_id") or "")
                if ours and number and number != ours:
                    # One Meta app may serve several numbers through one callback URL: not this channel's.
                    reason = f"for phone number id {number}, not this channel's {ours}"
                    for item in objects(value.get("messages"), "messages") + objects(value.get("statuses"), "statuses"):
                        item_id = str(item.get("id") or "")
                        suffix = f":{item['status']}" if "status" in item else ""
                        if item_id:
                            events.append(InboundIgnored(event_id=f"{item_id}{suffix}", reason=reason))
                    continue
                events.extend(self._messages(value, metadata))
                events.extend(self._statuses(value))
        return events

    def _messages(self, value: Mapping[str, Any], metadata: Mapping[str, Any]) -> list[InboundEvent]:
        contacts = objects(value.get("contacts"), "contacts")
        profiles = {str(c.get("wa_id") or c.get("user_id") or ""): c for c in contacts}
        events: list[InboundEvent] = []
        for message in objects(value.get("messages"), "messages"):
            message_id = str(message.get("id") or "")
            if not message_id:
                raise BadPayload("messages[].id is missing")
            sender = str(message.get("from") or message.get("from_user_id") or "")
            if not sender:
                raise BadPayload(f"message {message_id} has no sender")
            if message.get("type") == "reaction":
                reaction = mapping(message.get("reaction"))
                events.append(
                    InboundIgnored(
                        event_id=message_id,
                        reason=f"reaction {reaction.get('emoji') or '(removed)'} to {reaction.get('message_id')}",
                    )
                )
                continue
            contact = profiles.get(sender) or (contacts[0] if len(contacts) == 1 else {})
            text, attachments, unsupported = _content(message)
            is_phone = bool(message.get("from"))
            # A username user may come without a phone (wa_id): then the business-scoped user id is the
            # handle; with both, the phone leads and the user id is kept on the card too (§2.3).
            user_id = str(message.get("from_user_id") or contact.get("user_id") or "")
            extra = (("whatsapp_user", user_id),) if is_phone and user_id else ()
            events.append(
                InboundMessage(
                    event_id=message_id,
                    external_message_id=message_id,
                    external_chat_id=sender,
                    sender_kind="whatsapp" if is_phone else "whatsapp_user",
                    sender_id=sender,
                    extra_handles=extra,
                    sent_at=webhook.timestamp(
                        message.get("timestamp"), milliseconds=False, where="messages[].timestamp"
                    ),
                    text=text,
                    sender_display_name=str(mapping(contact.get("profile")).get("name") or ""),
                    sender_username=str(mapping(contact.get("profile")).get("username") or ""),
                    sender_phone=sender if is_phone else "",
                    attachments=attachments,
                    reply_to_external_id=str(mapping(message.get("context")).get("id") or ""),
                    unsupported=unsupported,
                    raw={"metadata": dict(metadata), "contact": dict(contact), "message": message},
                )
            )
        return events

    def _statuses(self, value: Mapping[str, Any]) -> list[InboundEvent]:
        events: list[InboundEvent] = []
        for status in objects(value.get("statuses"), "statuses"):
            message_id, name = str(status.get("id") or ""), str(status.get("status") or "")
            if not message_id or not name:
                raise BadPayload("statuses[] needs an id and a status")
            event_id = f"{message_id}:{name}"
            if name not in STATUSES:
                events.append(InboundIgnored(event_id=event_id, reason=f"status {name!r} is not tracked"))
                continue
            events.append(
                InboundStatus(
                    event_id=event_id,
                    external_message_id=message_id,
                    status=STATUSES[name],
                    at=webhook.timestamp(status.get("timestamp"), milliseconds=False, where="statuses[].timestamp"),
                    error=(_error_text(status.get("errors")) or "failed") if name == "failed" else "",
                )
            )
        return events

    def send(
        self, *, credentials: Mapping[str, Any], config: Mapping[str, Any], message: OutboundMessage
    ) -> SendResult:
        phone_number_id = str(config.get("phone_number_id") or "")
        access_token = str(credentials.get("access_token") or "")
        if not phone_number_id or not access_token:
            return SendResult(error="the channel is not configured: phone_number_id and access_token are required")
        if not message.to:
            return SendResult(error="no recipient: the conversation has no WhatsApp id to reply to")
        payload: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        if _WA_ID.match(message.to):
            payload["to"] = message.to.lstrip("+")
        else:
            payload["recipient"] = message.to  # a business-scoped user id (username users, §2.3)
        if message.template:
            template = _template(message.template)
            if isinstance(template, str):
                return SendResult(error=template)
            payload |= {"type": "template", "template": template}
        elif message.text:
            if len(message.text) > self.capabilities.max_text_length:
                return SendResult(error=f"the text is longer than {self.capabilities.max_text_length} characters")
            payload |= {"type": "text", "text": {"body": message.text}}
        else:
            return SendResult(error="nothing to send: WhatsApp sends text or a template here")
        if message.reply_to_external_id:
            payload["context"] = {"message_id": message.reply_to_external_id}
        return client.post_message(
            path=f"{phone_number_id}/messages", access_token=access_token, payload=payload, message_id=_sent_id
        )


def _template(template: Mapping[str, Any]) -> dict[str, Any] | str:
    """{"name", "language": {"code"}, "components"} from a stored template (language may be a bare code),
    or what is wrong with it."""
    name = str(template.get("name") or "")
    language = template.get("language")
    if isinstance(language, str):
        language = {"code": language}
    if not name or not isinstance(language, dict) or not language.get("code"):
        return "the template needs a name and a language code"
    result: dict[str, Any] = {"name": name, "language": language}
    if template.get("components"):
        result["components"] = template["components"]
    return result


def _sent_id(body: Mapping[str, Any]) -> str:
    messages = body.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    return str(first.get("id") or "") if isinstance(first, dict) else ""
