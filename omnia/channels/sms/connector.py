"""The SMS connector, Twilio-compatible (channels.md §5): signed form webhooks in, the Messages API out.

Credentials: {"auth_token"}; config: {"account_sid", "phone_number" (the number or sender ID replies
come from), "messaging_service_sid" (optional: sends through the Messaging Service instead),
"status_callback_url" (optional: this channel's webhook address, where Twilio reports delivery)}.

One webhook address takes both incoming messages and status callbacks; a status callback is the one
with `MessageStatus`. Twilio answers nothing back itself: the webhook is acknowledged with an empty
TwiML `<Response/>` and replies go through the outbox like every channel's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

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
    WebhookRejected,
)
from omnia.channels.sms import client
from omnia.core import clock

SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_TEXT_LENGTH = 1600  # Twilio's limit for Body (§5.3); longer texts are refused before sending
MAX_MEDIA = 10
# Twilio's MessageStatus → the framework's; the rest (queued, accepting, scheduled, sending…) are kept, not applied.
STATUSES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}
# What Twilio's error codes mean (§5.5), for the operator reading why a message failed.
ERRORS = {
    "21211": "the 'To' number is not a valid phone number",
    "21408": "sending to this region is not enabled in the Twilio account (Geo permissions)",
    "21610": "the recipient unsubscribed (replied STOP)",
    "21614": "the 'To' number is not a mobile number",
    "30003": "unreachable destination handset",
    "30004": "message blocked",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "filtered by the carrier",
    "30008": "unknown error",
}
_MESSAGE_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
# Twilio's standard opt-out and opt-in keywords (§5.5): the whole message, any case, is the keyword. Russian
# and Kazakh customers write them in their own language too. A Messaging Service with Advanced Opt-Out also
# sends OptOutType (STOP, START, HELP).
OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "СТОП", "ОТПИСАТЬСЯ", "ТОҚТАТУ"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP", "OPTIN", "СТАРТ"})


def opt_out_keyword(body: str, opt_out_type: str = "") -> str:
    """ "stop" or "start" when the message is an opt-out or opt-in keyword, else ""."""
    declared = opt_out_type.strip().upper()
    if declared in ("STOP", "START"):
        return declared.lower()
    word = re.sub(r"[\s.!]+", "", body).upper()
    if word in OPT_OUT_WORDS:
        return "stop"
    if word in OPT_IN_WORDS:
        return "start"
    return ""


_DEFAULT_PORTS = {"https": 443, "http": 80}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, case-insensitively (Django's request.headers is; a plain dict may not be)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def signature(auth_token: str, url: str, params: Mapping[str, list[str]]) -> str:
    """X-Twilio-Signature for a form POST to `url` (§5.2): base64 HMAC-SHA1 of the URL followed by each
    parameter's name and value, names sorted, a repeated name's values sorted and de-duplicated."""
    text = url
    for name in sorted(params):
        for value in sorted(set(params[name])):
            text += name + value
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def url_variants(url: str) -> list[str]:
    """The URL as given and with its default port added or removed: Twilio signs either (§5.2)."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is None or not parts.hostname:
        return [url]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    userinfo = f"{userinfo}@" if userinfo else ""
    try:
        port = parts.port
    except ValueError:
        return [url]
    if port is None:
        other = urlunsplit(parts._replace(netloc=f"{userinfo}{host}:{default}"))
    elif port == default:
        other = urlunsplit(parts._replace(netloc=f"{userinfo}{host}"))
    else:
        return [url]
    return [url, other]


def form_params(body: bytes) -> dict[str, list[str]]:
    """The form body as names → values (every value of a repeated name); BadPayload if it is not a form."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadPayload(f"the body is not UTF-8: {exc}") from exc
    try:
        return parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=1000)
    except ValueError as exc:
        raise BadPayload(f"the body is not a form: {exc}") from exc


def _first(params: Mapping[str, list[str]], name: str) -> str:
    values = params.get(name)
    return values[0] if values else ""


def _attachment(url: str, mime_type: str) -> Attachment:
    top = mime_type.partition("/")[0]
    kind = top if top in ("image", "video", "audio") else "document"
    shown = url if urlsplit(url).scheme in ("https", "http") else ""  # a link operators may open
    return Attachment(kind=kind, provider_ref=url, mime_type=mime_type, url=shown)


def _error_text(code: str, message: str) -> str:
    """'Twilio error 30003: unreachable destination handset' (with Twilio's own message when it gives one)."""
    meaning = message.strip() or ERRORS.get(code, "")
    if code:
        return f"Twilio error {code}: {meaning}" if meaning else f"Twilio error {code}"
    return meaning


class SmsConnector:
    provider = "sms"
    # No reply window (§5.5); a long code sends about one message a second, Twilio queues the excess.
    capabilities = ChannelCapabilities(
        reply_window=None,
        max_text_length=MAX_TEXT_LENGTH,
        messages_per_second=1.0,
        delivery_receipts=True,
        read_receipts=False,
    )
    # The webhook view answers Twilio with empty TwiML (no auto-reply) instead of the usual JSON.
    webhook_ack = ('<?xml version="1.0" encoding="UTF-8"?><Response/>', "text/xml")

    def verify(self, *, credentials: Mapping[str, Any], headers: Mapping[str, str], body: bytes) -> None:
        """Twilio signs the URL it requested: without it nothing can be verified (see verify_request)."""
        raise WebhookRejected("a Twilio signature covers the request URL, which was not given")

    def verify_request(
        self, *, credentials: Mapping[str, Any], url: str, headers: Mapping[str, str], body: bytes
    ) -> None:
        """Raise WebhookRejected unless X-Twilio-Signature signs `url` (the public address Twilio posted to)
        and the form parameters with the channel's auth token (§5.2)."""
        auth_token = str(credentials.get("auth_token") or "")
        if not auth_token:
            raise WebhookRejected("the channel has no auth token")
        sent = (_header(headers, SIGNATURE_HEADER) or "").strip()
        if not sent:
            raise WebhookRejected(f"{SIGNATURE_HEADER} missing")
        query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        if "bodySHA256" in query:  # a JSON-body webhook: the URL is signed, the body is hashed (§5.2, 5)
            expected_hash = hashlib.sha256(body).hexdigest()
            if not hmac.compare_digest(expected_hash.encode(), query["bodySHA256"].lower().encode("utf-8", "replace")):
                raise WebhookRejected("bodySHA256 does not match the body")
            params: dict[str, list[str]] = {}
        else:
            try:
                params = form_params(body)
            except BadPayload as exc:
                raise WebhookRejected(f"the body cannot be verified: {exc}") from exc
        received = sent.encode("utf-8", "replace")
        for candidate in url_variants(url):
            if hmac.compare_digest(signature(auth_token, candidate, params).encode(), received):
                return
        raise WebhookRejected(f"{SIGNATURE_HEADER} does not match this URL and body")

    def handshake(self, *, credentials: Mapping[str, Any], query: Mapping[str, str]) -> str | None:
        return None  # Twilio has no GET verification

    def parse(self, *, body: bytes, config: Mapping[str, Any]) -> list[InboundEvent]:
        params = form_params(body)
        if not params:
            raise BadPayload("the body is empty")
        sid = _first(params, "MessageSid") or _first(params, "SmsSid") or _first(params, "SmsMessageSid")
        if not _MESSAGE_SID.match(sid):
            raise BadPayload(f"MessageSid is missing or malformed: {sid!r}")
        raw: dict[str, Any] = {name: values[0] if len(values) == 1 else values for name, values in params.items()}
        if "MessageStatus" in params:
            return [self._status(sid, params, raw)]
        return [self._message(sid, params, raw)]

    def _status(self, sid: str, params: Mapping[str, list[str]], raw: dict[str, Any]) -> InboundEvent:
        name = _first(params, "MessageStatus").strip().lower()
        event_id = f"{sid}:{name}"
        if name not in STATUSES:
            return InboundIgnored(event_id=event_id, reason=f"status {name or '(empty)'!r} is not tracked", raw=raw)
        status = STATUSES[name]
        error = ""
        if status == "failed":
            code = _first(params, "ErrorCode").strip()
            error = _error_text(code, _first(params, "ErrorMessage")) or name
        return InboundStatus(
            event_id=event_id, external_message_id=sid, status=status, at=clock.now(), error=error, raw=raw
        )

    def _message(self, sid: str, params: Mapping[str, list[str]], raw: dict[str, Any]) -> InboundEvent:
        sender = _first(params, "From").strip()
        if not sender:
            raise BadPayload(f"message {sid} has no From")
        kind, handle = "phone", sender
        if sender.lower().startswith("whatsapp:"):  # WhatsApp through Twilio (§5.1)
            kind, handle = "whatsapp", sender.partition(":")[2]
        try:
            count = int(_first(params, "NumMedia") or 0)
        except ValueError:
            raise BadPayload(f"NumMedia is not a number: {_first(params, 'NumMedia')!r}") from None
        attachments = []
        for index in range(min(max(count, 0), MAX_MEDIA)):
            url = _first(params, f"MediaUrl{index}")
            if url:
                attachments.append(_attachment(url, _first(params, f"MediaContentType{index}")))
        return InboundMessage(
            event_id=sid,
            external_message_id=sid,
            external_chat_id=sender,  # replies go to the number exactly as it wrote
            sender_kind=kind,
            sender_id=handle,
            sender_phone=handle,
            sender_display_name=_first(params, "ProfileName"),
            sent_at=clock.now(),  # Twilio sends no time: the time it reached us (§0.2)
            text=_first(params, "Body"),
            attachments=tuple(attachments),
            opt_out=opt_out_keyword(_first(params, "Body"), _first(params, "OptOutType")),
            raw=raw,
        )

    def send(
        self, *, credentials: Mapping[str, Any], config: Mapping[str, Any], message: OutboundMessage
    ) -> SendResult:
        account_sid = str(config.get("account_sid") or "").strip()
        auth_token = str(credentials.get("auth_token") or "")
        if not account_sid or not auth_token:
            return SendResult(error="The SMS channel is not configured: Account SID and auth token are required.")
        if message.template or message.attachments:
            return SendResult(error="The SMS connector sends text only.")
        text = message.text
        if not text.strip():
            return SendResult(error="The message is empty.")
        if len(text) > MAX_TEXT_LENGTH:
            return SendResult(error=f"The message is longer than the {MAX_TEXT_LENGTH} characters an SMS may have.")
        to = message.to.strip()
        if not to:
            return SendResult(error="The conversation has no phone number to reply to.")
        form = {"To": to, "Body": text}
        service = str(config.get("messaging_service_sid") or "").strip()
        sender = str(config.get("phone_number") or "").strip()
        if service:
            form["MessagingServiceSid"] = service
        elif sender:
            if to.lower().startswith("whatsapp:") and not sender.lower().startswith("whatsapp:"):
                sender = f"whatsapp:{sender}"  # Twilio wants both ends on the same channel
            form["From"] = sender
        else:
            return SendResult(error="The SMS channel has no number (or Messaging Service) to send from.")
        callback = str(config.get("status_callback_url") or "").strip()
        if callback:
            form["StatusCallback"] = callback
        return client.create_message(account_sid=account_sid, auth_token=auth_token, form=form)
