"""One e-mail (RFC 5322 bytes, as IMAP returns it) → one normalised inbound event. Pure: no I/O.

- A message from a person → InboundMessage: the sender's address is the customer's "email" handle,
  the Message-ID is the dedupe key (a message without one is keyed by a hash of its bytes), the
  thread's ids come from References then In-Reply-To, the text is the plain part (else the HTML
  turned into text) with the quoted history and signature trimmed off. The full text, the HTML
  and the main headers stay in `raw` (stored with the event). Attachments come back as bytes
  beside the event (ParsedMail.files) for the poller to store; their `provider_ref` is set then.
- An auto-reply (RFC 3834 Auto-Submitted, X-Autoreply, Precedence, "Out of office" subjects…) →
  InboundMessage(automatic=True): it joins its thread and never reopens it.
- A bounce (a multipart/report delivery-status notification, or a classic MAILER-DAEMON letter)
  about a message we sent → InboundStatus "failed" for the original Message-ID, with the
  diagnostic as the error. A delay notice, or a bounce we cannot tie to a message → InboundIgnored.
- Our own mailbox writing to itself → InboundIgnored.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import mimetypes
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from typing import Any

from django.utils.translation import gettext as _

from omnia.channels.base import Attachment, InboundEvent, InboundIgnored, InboundMessage, InboundStatus
from omnia.channels.email import text as email_text

MAX_ID_LENGTH = 255  # Message.provider_message_id and InboundEvent.event_id
MAX_REFERENCES = 50
MAX_RAW_TEXT = 200_000  # characters of the full body / HTML kept in the stored event
KEPT_HEADERS = (
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "Precedence",
    "X-Autoreply",
    "X-Autorespond",
    "List-Id",
    "Return-Path",
)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_AUTO_SUBJECT = re.compile(
    r"^\W*(auto(matic)?[ -]?(reply|response|answer)|autoreply|out of (the )?office|abwesenheitsnotiz"
    r"|автоответ|автоматический ответ|вне офиса|меня нет на месте|автожауап)",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"(undeliver|undelivered|delivery (status notification|failure|has failed)|returned mail|failure notice"
    r"|mail delivery (failed|failure|system)|could not be delivered|не доставлено|недоставленное|не удалось доставить"
    r"|ошибка доставки)",
    re.IGNORECASE,
)
_DAEMONS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_SMTP_REPLY = re.compile(r"\b([45]\d\d)[ -]([45]\.\d{1,3}\.\d{1,3}\b)?.*", re.IGNORECASE)
_BODY_MESSAGE_ID = re.compile(r"^message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_CHARSET_ALIASES = {"win-1251": "windows-1251", "cp-1251": "windows-1251", "x-cp1251": "windows-1251"}


@dataclass(frozen=True)
class ParsedMail:
    event: InboundEvent
    files: tuple[bytes, ...] = ()  # one per InboundMessage attachment, in order

    def with_refs(self, refs: list[str]) -> InboundEvent:
        """The event with each attachment's provider_ref set (where the poller stored its bytes)."""
        if not isinstance(self.event, InboundMessage):
            return self.event
        attachments = tuple(replace(a, provider_ref=ref) for a, ref in zip(self.event.attachments, refs, strict=True))
        raw = {**self.event.raw, "attachments": [a.__dict__ for a in attachments]}
        return replace(self.event, attachments=attachments, raw=raw)


@dataclass
class _Body:
    text: str = ""
    html: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    files: list[bytes] = field(default_factory=list)


# --- small readers --------------------------------------------------------------------------------


def fit_id(value: str) -> str:
    """An id short enough to store (255 characters); a longer one becomes a stable hash of itself."""
    return value if len(value) <= MAX_ID_LENGTH else "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def message_ids(value: str) -> list[str]:
    """The <…> ids in a Message-ID / In-Reply-To / References value, in order, without repeats."""
    found: list[str] = []
    for match in _MESSAGE_ID.findall(value or ""):
        if match not in found:
            found.append(match)
    return found


def _header(msg: Message, name: str) -> str:
    """A header's decoded text; never raises (a malformed header falls back to its raw value)."""
    try:
        value = msg.get(name)
        return "" if value is None else str(value).strip()
    except Exception:
        raw = (
            next((v for k, v in msg.raw_items() if k.lower() == name.lower()), "") if hasattr(msg, "raw_items") else ""
        )
        try:
            return str(make_header(decode_header(str(raw)))).strip()
        except Exception:
            return str(raw).strip()


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, address) pairs of an address header; malformed entries are left out."""
    pairs: list[tuple[str, str]] = []
    try:
        header = msg.get(name)
        for address in getattr(header, "addresses", ()) or ():
            pairs.append((str(address.display_name or ""), str(address.addr_spec or "")))
    except Exception:
        pairs = []
    if not pairs:
        pairs = [(n, a) for n, a in email.utils.getaddresses([_header(msg, name)]) if a]
    return [(name.strip(), addr.strip()) for name, addr in pairs if "@" in addr]


def _sent_at(msg: Message, fallback: dt.datetime) -> dt.datetime:
    raw = _header(msg, "Date")
    try:
        sent = email.utils.parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError, IndexError):
        sent = None
    if sent is None:
        return fallback
    return sent if sent.tzinfo is not None else sent.replace(tzinfo=dt.UTC)


def _decode(payload: bytes, charset: str) -> str:
    """Bytes in the declared charset; a wrong or unknown one falls back to UTF-8, then windows-1251."""
    declared = _CHARSET_ALIASES.get(charset.lower(), charset.lower()) if charset else ""
    for candidate in (declared, "utf-8", "windows-1251"):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text = _decode(payload, part.get_content_charset() or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if part.get_content_type() == "text/plain" and str(part.get_param("format") or "").lower() == "flowed":
        text = email_text.unflow(text, delsp=str(part.get_param("delsp") or "").lower() == "yes")
    return text


def _file_name(part: Message, index: int) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    name = re.sub(r"[\x00-\x1f\x7f]", "", str(name)).replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name:
        return name[:200]
    extension = mimetypes.guess_extension(part.get_content_type()) or ".bin"
    return f"attachment-{index}{extension}"


def _kind(mime_type: str) -> str:
    major = mime_type.partition("/")[0]
    return major if major in ("image", "video", "audio") else "document"


# --- body and attachments ---------------------------------------------------------------------------


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    return disposition == "attachment" or bool(part.get_param("filename", header="content-disposition"))


def _leaves(part: Message, *, alternative: bool = False) -> Iterator[tuple[Message, bool]]:
    """Every leaf part (message/rfc822 counts as a leaf), and whether it is one of an alternative's."""
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        child_alternative = part.get_content_subtype() == "alternative"
        for child in part.get_payload():
            if isinstance(child, Message):
                yield from _leaves(child, alternative=child_alternative)
    else:
        yield part, alternative


def _body(msg: Message) -> _Body:
    """The text to show (plain preferred, else HTML as text), the HTML, and every other part as an attachment."""
    body = _Body()
    try:
        chosen = msg.get_body(preferencelist=("plain", "html")) if isinstance(msg, EmailMessage) else None
    except Exception:
        chosen = None
    html_part = None
    try:
        html_part = msg.get_body(preferencelist=("html",)) if isinstance(msg, EmailMessage) else None
    except Exception:
        html_part = None
    texts: list[str] = []
    for part, in_alternative in _leaves(msg):
        ctype = part.get_content_type()
        if part is chosen:
            texts.append(_part_text(part) if ctype == "text/plain" else email_text.html_to_text(_part_text(part)))
            continue
        if part is html_part:
            continue
        if ctype in ("text/plain", "text/html") and not _is_attachment(part):
            if in_alternative or (chosen is None and ctype == "text/html"):
                continue  # another rendering of the body
            texts.append(_part_text(part) if ctype == "text/plain" else email_text.html_to_text(_part_text(part)))
            continue
        if ctype == "message/rfc822":
            inner = part.get_payload()
            forwarded = inner[0] if isinstance(inner, list) and inner else None
            content = forwarded.as_bytes() if isinstance(forwarded, Message) else b""
            name = _file_name(part, len(body.files) + 1)
            if "." not in name:
                name = f"{name}.eml"
        else:
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
            name = _file_name(part, len(body.files) + 1)
        body.attachments.append(Attachment(kind=_kind(ctype), mime_type=ctype, file_name=name, size=len(content)))
        body.files.append(content)
    body.text = "\n\n".join(t.strip("\n") for t in texts if t.strip())
    if html_part is not None:
        body.html = _part_text(html_part)
    if chosen is None and not body.text and not msg.is_multipart() and msg.get_content_maintype() == "text":
        body.text = _part_text(msg)
    return body


# --- auto-replies and bounces -------------------------------------------------------------------------


def is_automatic(msg: Message, subject: str, *, mailbox: str = "") -> bool:
    """An auto-reply or other machine-sent mail (RFC 3834 and the common vendor headers).

    Mailing-list marks count, except the list that the mailbox itself is: a shop whose support
    address is a group (Google Groups: List-Id <support.shop.kz>, Precedence: list) gets every
    customer's letter through it."""
    auto_submitted = _header(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond") or _header(msg, "X-Autoresponse"):
        return True
    list_id = _header(msg, "List-Id").lower()
    own_list = bool(mailbox) and mailbox.lower().replace("@", ".") in list_id
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("auto_reply", "bulk", "junk") or (precedence == "list" and not own_list):
        return True
    if (list_id and not own_list) or _daemon_sender(msg):
        return True
    return bool(_AUTO_SUBJECT.match(subject))


@dataclass(frozen=True)
class Bounce:
    original_id: str  # the Message-ID of the message that could not be delivered; "" if not found
    failed: bool  # False for a delay notice (still trying)
    recipient: str
    reason: str


def _dsn_fields(part: Message) -> list[Message]:
    """The field blocks of a message/delivery-status part (per-message first, then per-recipient)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = payload if isinstance(payload, str) else ""
    return [HeaderParser(policy=email.policy.default).parsestr(block) for block in re.split(r"\n\s*\n", text)]


def _original_id(msg: Message) -> str:
    """The Message-ID of the returned message, from its attached copy or headers, else from the text."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found = message_ids(_header(inner[0], "Message-ID"))
                if found:
                    return found[0]
        elif ctype == "text/rfc822-headers":
            headers = HeaderParser(policy=email.policy.default).parsestr(_part_text(part))
            found = message_ids(_header(headers, "Message-ID"))
            if found:
                return found[0]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            match = _BODY_MESSAGE_ID.search(_part_text(part))
            if match:
                return match.group(1)
    return ""


def _daemon_sender(msg: Message) -> bool:
    addresses = _addresses(msg, "From")
    local = addresses[0][1].partition("@")[0].lower() if addresses else ""
    return local in _DAEMONS or _header(msg, "Return-Path").replace(" ", "") == "<>"


def bounce_of(msg: Message, subject: str) -> Bounce | None:
    """The delivery failure this message reports, or None when it is not a bounce."""
    if msg.get_content_type() == "multipart/report" and str(msg.get_param("report-type") or "").lower() == (
        "delivery-status"
    ):
        status_part = next((p for p in msg.walk() if p.get_content_type() == "message/delivery-status"), None)
        blocks = _dsn_fields(status_part)[1:] if status_part is not None else []
        recipients = [b for b in blocks if _header(b, "Action") or _header(b, "Final-Recipient")]
        failed = [b for b in recipients if _header(b, "Action").lower() == "failed" or _header(b, "Status")[:1] == "5"]
        chosen = failed[0] if failed else (recipients[0] if recipients else None)
        recipient = _header(chosen, "Final-Recipient").partition(";")[2].strip() if chosen is not None else ""
        diagnostic = _header(chosen, "Diagnostic-Code") if chosen is not None else ""
        status = _header(chosen, "Status") if chosen is not None else ""
        reason = " ".join((diagnostic.partition(";")[2] or diagnostic or status).split())
        if status and status not in reason:
            reason = f"{reason} ({status})" if reason else status
        return Bounce(
            original_id=_original_id(msg),
            failed=bool(failed) or not recipients,
            recipient=recipient,
            reason=reason or subject,
        )
    if _daemon_sender(msg) and _BOUNCE_SUBJECT.search(subject):
        reason = ""
        for part in msg.walk():
            if part.get_content_maintype() == "text" and not reason:
                for line in _part_text(part).splitlines():
                    if _SMTP_REPLY.search(line):
                        reason = line.strip()
                        break
        return Bounce(original_id=_original_id(msg), failed=True, recipient="", reason=reason or subject)
    return None


# --- the event ----------------------------------------------------------------------------------------


def _raw_headers(msg: Message) -> dict[str, str]:
    return {name: value for name in KEPT_HEADERS if (value := _header(msg, name))}


def parse_mail(
    raw: bytes,
    *,
    mailbox: str,
    received_at: dt.datetime,
    extra: Mapping[str, Any] | None = None,
) -> ParsedMail:
    """The event one e-mail carries for the mailbox `mailbox` (its own address). Never raises for
    bad input: what cannot be read becomes an "unsupported" message or an ignored event, with why."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    digest = hashlib.sha256(raw).hexdigest()
    ids = message_ids(_header(msg, "Message-ID"))
    message_id = fit_id(ids[0]) if ids else f"sha256:{digest}"
    subject = _header(msg, "Subject")
    headers = _raw_headers(msg)
    base: dict[str, Any] = {"headers": headers, "size": len(raw), **(extra or {})}

    bounce = bounce_of(msg, subject)
    if bounce is not None:
        base["bounce"] = bounce.__dict__
        if not bounce.failed:
            return ParsedMail(
                InboundIgnored(event_id=message_id, reason="delivery delayed: " + bounce.reason, raw=base)
            )
        if not bounce.original_id:
            return ParsedMail(
                InboundIgnored(
                    event_id=message_id,
                    reason="a bounce for a message we cannot identify: " + bounce.reason,
                    raw=base,
                )
            )
        if bounce.recipient:
            error = _("Not delivered to %(recipient)s: %(reason)s") % {
                "recipient": bounce.recipient,
                "reason": bounce.reason,
            }
        else:
            error = _("Not delivered: %(reason)s") % {"reason": bounce.reason}
        return ParsedMail(
            InboundStatus(
                event_id=message_id,
                external_message_id=fit_id(bounce.original_id),
                status="failed",
                at=_sent_at(msg, received_at),
                error=error,
                raw=base,
            )
        )

    senders = _addresses(msg, "From")
    display_name, sender = senders[0] if senders else ("", "")
    if sender and sender.lower() == mailbox.lower():
        return ParsedMail(InboundIgnored(event_id=message_id, reason="sent from this mailbox itself", raw=base))
    reply_to = next((address for _, address in _addresses(msg, "Reply-To")), "") or sender

    references = [fit_id(i) for i in message_ids(_header(msg, "References"))]
    for parent in message_ids(_header(msg, "In-Reply-To")):
        if fit_id(parent) not in references:
            references.append(fit_id(parent))
    if len(references) > MAX_REFERENCES:
        references = [references[0], *references[-(MAX_REFERENCES - 1) :]]

    unsupported = ""
    try:
        body = _body(msg)
    except Exception as exc:  # a part the email package cannot take apart: keep the message, say so
        body = _Body()
        unsupported = _("This e-mail could not be read (%(error)s): open it in the mailbox.") % {
            "error": type(exc).__name__
        }
    full_text = body.text.strip()
    shown = email_text.trim_reply(full_text) if full_text else ""
    if not shown and not body.attachments and not unsupported:
        shown = subject
    base.update(
        {
            "text": full_text[:MAX_RAW_TEXT],
            "html": body.html[:MAX_RAW_TEXT],
            "attachments": [a.__dict__ for a in body.attachments],
        }
    )
    return ParsedMail(
        InboundMessage(
            event_id=message_id,
            external_message_id=message_id,
            external_chat_id=reply_to,
            sender_kind="email",
            sender_id=sender,
            sent_at=_sent_at(msg, received_at),
            text=shown,
            sender_display_name=display_name,
            attachments=tuple(body.attachments),
            reply_to_external_id=references[-1] if references else "",
            unsupported=unsupported,
            references=tuple(references),
            subject=subject,
            automatic=is_automatic(msg, subject, mailbox=mailbox),
            raw=base,
        ),
        files=tuple(body.files),
    )


def parse_headers_only(
    raw_headers: bytes, *, size: int, mailbox: str, received_at: dt.datetime, extra: Mapping[str, Any] | None = None
) -> ParsedMail:
    """A message too large to fetch whole: its headers, and a note saying why the rest is missing."""
    parsed = parse_mail(raw_headers, mailbox=mailbox, received_at=received_at, extra={**(extra or {}), "size": size})
    if not isinstance(parsed.event, InboundMessage):
        return parsed
    note = _("This e-mail is too large to show here (%(size)s MB): open it in the mailbox.") % {
        "size": f"{size / 1_000_000:.1f}"
    }
    return ParsedMail(replace(parsed.event, text="", attachments=(), unsupported=note))
