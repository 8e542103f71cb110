"""The mailbox poller: new mail in a channel's IMAP folder → ingest_events, each message exactly once.

Bookkeeping lives in channels.MailboxState: the folder's UIDVALIDITY and the highest UID taken.
Each message is stored (ingest_events) in the SAME transaction that moves `last_uid` past it, so
a crash or restart either took a message completely or not at all: nothing is fetched twice and
nothing is skipped. The mailbox is opened read-only (EXAMINE) and read with BODY.PEEK, so the
poller changes nothing on the server (\\Seen flags stay the people's business).

- First poll, or the server renumbered the folder (UIDVALIDITY changed): read it again from
  `history_days` back (and from before the last good poll); the Message-ID is the event's dedupe
  key, so messages taken before are not stored again.
- A message larger than MAX_MESSAGE_BYTES is taken by its headers only, with a note.
- Every failure (cannot connect, login refused, folder missing, TLS) is written to the mailbox's
  `last_error` for people to see (ChannelOut.last_error) and never raises out of poll_mailbox.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import imaplib
import logging
import re
import ssl
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from omnia.channels.base import InboundEvent, InboundMessage
from omnia.channels.email import files, parsing
from omnia.channels.email.account import Mailbox, MailboxSettingsInvalid, mailbox_from
from omnia.channels.ingest import ingest_events
from omnia.channels.models import Channel, MailboxState, Provider
from omnia.core import clock

logger = logging.getLogger(__name__)
TIMEOUT = 30.0  # seconds for connecting and for each IMAP command
BATCH = 100  # messages taken per poll at most; the next poll goes on from there
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
LEASE = dt.timedelta(minutes=5)  # a crashed poll's hold on the mailbox expires
MAX_ERROR_LENGTH = 1000
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_INTERNALDATE = re.compile(rb'\bINTERNALDATE "(\d{1,2})-(\w{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})"')


class MailboxError(Exception):
    """Something people must fix or wait out (server down, login refused…); the text says what."""


class _Superseded(Exception):
    """Another poll of the same mailbox took this message first."""


@dataclass(frozen=True)
class PollResult:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    busy: bool = False  # another poll of this mailbox was running
    error: str = ""


# --- the IMAP conversation -------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    """The server's words from an imaplib error (its args are often bytes)."""
    arg = exc.args[0] if exc.args else exc
    text = arg.decode("utf-8", errors="replace") if isinstance(arg, bytes) else str(arg)
    return " ".join(text.split()) or type(exc).__name__


def imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 §5.1.3): 'Входящие' → '&BBIERQQ+BDQETwRJBDgENQ-'."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + encoded.replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _quoted(folder: str) -> str:
    return '"' + imap_utf7(folder).replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def session(mailbox: Mailbox) -> Iterator[imaplib.IMAP4]:
    """A logged-in IMAP connection (TLS as configured); MailboxError when that cannot be had."""
    where = f"{mailbox.imap_host}:{mailbox.imap_port}"
    context = ssl.create_default_context()
    try:
        if mailbox.imap_tls == "ssl":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                mailbox.imap_host, mailbox.imap_port, ssl_context=context, timeout=TIMEOUT
            )
        else:
            conn = imaplib.IMAP4(mailbox.imap_host, mailbox.imap_port, timeout=TIMEOUT)
    except ssl.SSLError as exc:
        raise MailboxError(
            _("TLS with the IMAP server %(host)s failed: %(error)s") % {"host": where, "error": exc}
        ) from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(
            _("Cannot connect to the IMAP server %(host)s: %(error)s") % {"host": where, "error": _reason(exc)}
        ) from exc
    try:
        if mailbox.imap_tls == "starttls":
            try:
                conn.starttls(ssl_context=context)
            except (ssl.SSLError, imaplib.IMAP4.error) as exc:
                raise MailboxError(
                    _("TLS with the IMAP server %(host)s failed: %(error)s") % {"host": where, "error": _reason(exc)}
                ) from exc
        _login(conn, mailbox)
        yield conn
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.logout()


def _login(conn: imaplib.IMAP4, mailbox: Mailbox) -> None:
    try:
        if mailbox.username.isascii() and mailbox.password.isascii():
            conn.login(mailbox.username, mailbox.password)
        else:  # LOGIN is ASCII-only in imaplib: SASL PLAIN carries UTF-8
            secret = f"\0{mailbox.username}\0{mailbox.password}".encode()
            conn.authenticate("PLAIN", lambda _challenge: secret)
    except imaplib.IMAP4.abort as exc:
        raise MailboxError(_("The IMAP server closed the connection: %(reason)s") % {"reason": _reason(exc)}) from exc
    except imaplib.IMAP4.error as exc:
        raise MailboxError(
            _("The IMAP server refused the login for %(username)s: %(reason)s")
            % {"username": mailbox.username, "reason": _reason(exc)}
        ) from exc


def _select(conn: imaplib.IMAP4, folder: str) -> tuple[int, int | None]:
    """Open `folder` read-only: (UIDVALIDITY, UIDNEXT or None)."""
    status, data = conn.select(_quoted(folder), readonly=True)
    if status != "OK":
        reason = _reason(imaplib.IMAP4.error(data[0] if data else status))
        raise MailboxError(
            _("The IMAP server cannot open the folder %(folder)s: %(reason)s") % {"folder": folder, "reason": reason}
        )
    numbers = {}
    for name in ("UIDVALIDITY", "UIDNEXT"):
        _name, values = conn.response(name)
        value = values[0] if values and values[0] else b""
        numbers[name] = int(value) if isinstance(value, bytes) and value.isdigit() else None
    uidvalidity = numbers["UIDVALIDITY"]
    if uidvalidity is None:
        raise MailboxError(_("The IMAP server gave no UIDVALIDITY for the folder %(folder)s.") % {"folder": folder})
    return uidvalidity, numbers["UIDNEXT"]


def _command(conn: imaplib.IMAP4, *args: str) -> list[object]:
    status, data = conn.uid(*args)
    if status != "OK":
        reason = _reason(imaplib.IMAP4.error(data[0] if data else status))
        raise MailboxError(_("The IMAP server answered with an error: %(reason)s") % {"reason": reason})
    return list(data)


def _search(conn: imaplib.IMAP4, *criteria: str) -> list[int]:
    data = _command(conn, "SEARCH", *criteria)
    found: set[int] = set()
    for line in data:
        if isinstance(line, bytes):
            found.update(int(token) for token in line.split() if token.isdigit())
    return sorted(found)


def _sizes(conn: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for line in _command(conn, "FETCH", ",".join(map(str, uids)), "(UID RFC822.SIZE)"):
        meta = line[0] if isinstance(line, tuple) else line
        if isinstance(meta, bytes):
            uid, size = _UID.search(meta), _SIZE.search(meta)
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _internaldate(meta: bytes) -> dt.datetime | None:
    match = _INTERNALDATE.search(meta)
    if match is None:
        return None
    day, month, year, hour, minute, second, sign, tz_hours, tz_minutes = (g.decode() for g in match.groups())
    if month not in _MONTHS:
        return None
    offset = dt.timedelta(hours=int(tz_hours), minutes=int(tz_minutes)) * (-1 if sign == "-" else 1)
    try:
        return dt.datetime(
            int(year),
            _MONTHS.index(month) + 1,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=dt.timezone(offset),
        )
    except ValueError:
        return None


def _fetch(conn: imaplib.IMAP4, uid: int, *, headers_only: bool) -> tuple[bytes, dt.datetime | None] | None:
    """The message's bytes (or only its header) and INTERNALDATE; None if it is gone (expunged)."""
    part = "BODY.PEEK[HEADER]" if headers_only else "BODY.PEEK[]"
    for item in _command(conn, "FETCH", str(uid), f"(UID INTERNALDATE {part})"):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            meta = item[0] if isinstance(item[0], bytes) else b""
            found = _UID.search(meta)
            if found is not None and int(found.group(1)) != uid:
                continue
            return item[1], _internaldate(meta)
    return None


def _since(day: dt.date) -> str:
    return f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year}"


# --- bookkeeping -------------------------------------------------------------------------------------


def _state_for(channel: Channel) -> MailboxState:
    state = MailboxState.objects.filter(channel=channel).first()
    if state is not None:
        return state
    try:
        with transaction.atomic():
            return MailboxState.objects.create(channel=channel)
    except IntegrityError:  # another poll created it first
        return MailboxState.objects.get(channel=channel)


def _claim(state: MailboxState, now: dt.datetime) -> bool:
    return bool(
        MailboxState.objects.filter(Q(busy_until__isnull=True) | Q(busy_until__lt=now), pk=state.pk).update(
            busy_until=now + LEASE
        )
    )


def _finish(state: MailboxState, error: str) -> None:
    now = clock.now()
    fields: dict[str, object] = {"last_polled_at": now, "last_error": error[:MAX_ERROR_LENGTH], "busy_until": None}
    if not error:
        fields["synced_at"] = now
    MailboxState.objects.filter(pk=state.pk).update(**fields)


def _resync(conn: imaplib.IMAP4, state: MailboxState, mailbox: Mailbox, uidvalidity: int, uidnext: int | None) -> None:
    """A folder seen for the first time, or renumbered: start a little before the history window."""
    start: int | None = None
    if mailbox.history_days > 0:
        since = clock.now() - dt.timedelta(days=mailbox.history_days)
        if state.synced_at is not None:
            since = min(since, state.synced_at - dt.timedelta(days=1))
        candidates = _search(conn, "SINCE", _since(since.date()))
        if candidates:
            start = candidates[0] - 1
    if start is None:
        start = uidnext - 1 if uidnext else max(_search(conn, "ALL") or [0])
    logger.info(
        "mailbox of channel %s: folder %s has UIDVALIDITY %s (was %s): reading on from UID %s",
        state.channel_id,
        mailbox.folder,
        uidvalidity,
        state.uidvalidity,
        start + 1,
    )
    MailboxState.objects.filter(pk=state.pk).update(uidvalidity=uidvalidity, last_uid=start, folder=mailbox.folder)
    state.uidvalidity, state.last_uid, state.folder = uidvalidity, start, mailbox.folder


def _unreadable(raw: bytes, exc: Exception, received_at: dt.datetime, extra: dict[str, object]) -> InboundEvent:
    """A message the parser failed on: kept as an unsupported message from whoever the From line names."""
    sender = re.search(rb"^From:.*?([^\s<>\"]+@[^\s<>\"]+)", raw[:20_000], re.MULTILINE | re.IGNORECASE)
    address = sender.group(1).decode("ascii", errors="ignore") if sender else ""
    found = re.search(rb"^Message-ID:\s*(<[^<>\s]+>)", raw[:20_000], re.MULTILINE | re.IGNORECASE)
    message_id = found.group(1).decode("ascii", errors="ignore") if found else ""
    key = parsing.fit_id(message_id) if message_id else "sha256:" + hashlib.sha256(raw).hexdigest()
    return InboundMessage(
        event_id=key,
        external_message_id=key,
        external_chat_id=address,
        sender_kind="email",
        sender_id=address,
        sent_at=received_at,
        unsupported=_("This e-mail could not be read (%(error)s): open it in the mailbox.")
        % {"error": type(exc).__name__},
        raw={**extra, "error": repr(exc)[:500]},
    )


def _take(
    conn: imaplib.IMAP4, channel: Channel, state: MailboxState, mailbox: Mailbox, uid: int, size: int
) -> tuple[int, int]:
    """Fetch, store and record one message: (stored, duplicates)."""
    uidvalidity = state.uidvalidity
    too_large = size > MAX_MESSAGE_BYTES
    fetched = _fetch(conn, uid, headers_only=too_large)
    extra: dict[str, object] = {"imap": {"folder": mailbox.folder, "uidvalidity": uidvalidity, "uid": uid}}
    event: InboundEvent | None = None
    if fetched is not None:
        raw, internaldate = fetched
        received_at = internaldate or clock.now()
        try:
            if too_large:
                parsed = parsing.parse_headers_only(
                    raw, size=size, mailbox=mailbox.address, received_at=received_at, extra=extra
                )
            else:
                parsed = parsing.parse_mail(raw, mailbox=mailbox.address, received_at=received_at, extra=extra)
            event = parsed.with_refs([files.store(content) for content in parsed.files])
        except OSError:
            raise  # the disk, not the message: try again on the next poll
        except Exception as exc:
            logger.exception("mailbox of channel %s: UID %s could not be parsed", channel.pk, uid)
            event = _unreadable(raw, exc, received_at, extra)
    with transaction.atomic():
        moved = MailboxState.objects.filter(pk=state.pk, uidvalidity=uidvalidity, last_uid__lt=uid).update(last_uid=uid)
        if not moved:
            raise _Superseded
        result = ingest_events(channel=channel, events=[event] if event is not None else [])
    state.last_uid = uid
    return result.stored, result.duplicates


def _poll(channel: Channel, state: MailboxState) -> PollResult:
    try:
        mailbox = mailbox_from(channel.credentials, channel.config)
    except MailboxSettingsInvalid as exc:
        raise MailboxError(str(exc)) from exc
    except ValueError as exc:  # credentials encrypted with another secret key
        raise MailboxError(_("The channel's credentials cannot be read: enter them again.")) from exc
    if state.folder != mailbox.folder:
        state.uidvalidity = None  # another folder: its UIDs start over
    counts: Counter[str] = Counter()
    with session(mailbox) as conn:
        try:
            uidvalidity, uidnext = _select(conn, mailbox.folder)
            if state.uidvalidity != uidvalidity:
                _resync(conn, state, mailbox, uidvalidity, uidnext)
            uids = [uid for uid in _search(conn, f"UID {state.last_uid + 1}:*") if uid > state.last_uid][:BATCH]
            sizes = _sizes(conn, uids) if uids else {}
            for uid in uids:
                stored, duplicates = _take(conn, channel, state, mailbox, uid, sizes.get(uid, 0))
                counts.update(fetched=1, stored=stored, duplicates=duplicates)
        except _Superseded:
            logger.info("mailbox of channel %s: another poll is taking the same messages", channel.pk)
        except imaplib.IMAP4.abort as exc:
            raise MailboxError(
                _("The IMAP server closed the connection: %(reason)s") % {"reason": _reason(exc)}
            ) from exc
        except imaplib.IMAP4.error as exc:
            raise MailboxError(
                _("The IMAP server answered with an error: %(reason)s") % {"reason": _reason(exc)}
            ) from exc
        except OSError as exc:
            raise MailboxError(_("The connection to the IMAP server broke: %(error)s") % {"error": exc}) from exc
    return PollResult(fetched=counts["fetched"], stored=counts["stored"], duplicates=counts["duplicates"])


def poll_mailbox(channel: Channel) -> PollResult:
    """Take the new mail of one e-mail channel. Never raises: a failure is the result's (and the
    mailbox's) `error`; a mailbox another poll is working on is left alone (busy)."""
    state = _state_for(channel)
    if not _claim(state, clock.now()):
        return PollResult(busy=True)
    result, error = PollResult(), ""
    try:
        result = _poll(channel, state)
    except MailboxError as exc:
        error = str(exc)
        logger.warning("mailbox of channel %s: %s", channel.pk, error)
    except Exception as exc:
        logger.exception("mailbox of channel %s: unexpected failure", channel.pk)
        error = _("Checking the mailbox failed unexpectedly (%(error)s): see the server log.") % {
            "error": type(exc).__name__
        }
    finally:
        _finish(state, error)
    return replace(result, error=error)


def poll_all() -> dict[str, int]:
    """Poll every active e-mail channel except the demo's placeholder; one mailbox failing (or a bug
    with one) stops no other."""
    totals: Counter[str] = Counter(mailboxes=0, fetched=0, stored=0, failed=0)
    for channel in Channel.objects.filter(provider=Provider.EMAIL, is_active=True).order_by("pk"):
        if (channel.config or {}).get("demo") is True:
            continue
        totals["mailboxes"] += 1
        try:
            result = poll_mailbox(channel)
        except Exception:  # e.g. the database refused the bookkeeping row: log it, go on with the others
            logger.exception("mailbox of channel %s could not be polled", channel.pk)
            totals["failed"] += 1
            continue
        totals.update(fetched=result.fetched, stored=result.stored, failed=int(bool(result.error)))
    return dict(totals)
