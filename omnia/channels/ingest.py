"""The ONLY bridge from an inbound webhook to the domains: verify → store (deduped) → customers → conversations.

Two ways through it:
- inline (`ingest_webhook`, `ingest_events`): store and apply in one transaction, committed before the
  answer. Pollers (the IMAP mailbox), the web-chat socket and tests use it.
- deferred (`accept_webhook` + `apply_pending`): under `omnia serve` a webhook is verified, parsed and
  stored with its parsed form in one short transaction, answered 200, and applied right after by the
  process's ingest thread (`channels.processor`). A provider gets its answer in about a millisecond
  whatever a burst costs to apply, and an event stored is applied exactly once: the row is claimed in
  the transaction that applies it, so a crash rolls the claim back and the sweep applies it later.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, OperationalError, transaction

from omnia.channels.base import (
    Attachment,
    BadPayload,
    InboundIgnored,
    InboundMessage,
    InboundStatus,
    WebhookRejected,
)
from omnia.channels.base import InboundEvent as InboundEventType
from omnia.channels.models import Channel, InboundEvent
from omnia.channels.registry import connector_for
from omnia.conversations import actions as conversations_actions
from omnia.core import clock
from omnia.core.errors import Conflict, ValidationFailed
from omnia.customers import actions as customers_actions
from omnia.customers.models import ChannelKind, Consent, Customer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    stored: int
    duplicates: int


_CLAIMED_FIELDS = ("channel", "event_id", "received_at", "payload", "parsed", "status", "error")
_PARSED_TYPES: dict[str, type[Any]] = {t.__name__: t for t in (InboundMessage, InboundStatus, InboundIgnored)}
# Events applied per transaction by apply_pending: small enough that SQLite's one writer is not held
# for long (a webhook waiting to store its event waits for the whole batch), large enough to share commits.
APPLY_BATCH = 20


def encode_parsed(parsed: InboundEventType) -> dict[str, Any]:
    """The parsed event as JSON, to apply later exactly as if it had just been parsed (without `raw`,
    which is the event's payload already)."""
    data: dict[str, Any] = {"type": type(parsed).__name__}
    for f in dataclasses.fields(parsed):
        if f.name == "raw":
            continue
        value = getattr(parsed, f.name)
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        elif f.name == "attachments":
            value = [dataclasses.asdict(a) for a in value]
        elif isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        data[f.name] = value
    return data


def decode_parsed(data: Mapping[str, Any], raw: Mapping[str, Any]) -> InboundEventType:
    """The inverse of encode_parsed."""
    cls = _PARSED_TYPES[data["type"]]
    kwargs: dict[str, Any] = {"raw": raw}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name in ("sent_at", "at"):
            value = dt.datetime.fromisoformat(value)
        elif f.name == "attachments":
            value = tuple(Attachment(**a) for a in value)
        elif isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        kwargs[f.name] = value
    return cls(**kwargs)  # type: ignore[no-any-return]


def _store(
    channel: Channel, event_id: str, payload: dict[str, object], parsed: dict[str, Any] | None = None
) -> InboundEvent | None:
    """Store the event once per channel: the new row, or None when it was delivered before.

    The unique constraint decides, through INSERT … ON CONFLICT DO NOTHING (PostgreSQL and SQLite):
    unlike catching an IntegrityError it needs no savepoint, two round trips on every delivery. A
    concurrent delivery of the same event waits for this transaction and then inserts nothing.
    """
    event = InboundEvent(
        channel=channel, event_id=event_id[:255], received_at=clock.now(), payload=payload, parsed=parsed
    )
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    fields = [f for f in InboundEvent._meta.concrete_fields if f.name in _CLAIMED_FIELDS]
    sql = "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}, {}) DO NOTHING RETURNING {}".format(  # noqa: S608 - model names
        quote(InboundEvent._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
        quote("channel_id"),
        quote("event_id"),
        quote("id"),
    )
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return None  # delivered before: stored once
    event.pk = row[0]
    event._state.adding, event._state.db = False, connection.alias
    return event


def _apply_message(channel: Channel, event: InboundEvent, message: InboundMessage, *, threaded: bool) -> None:
    try:
        resolution = customers_actions.do_resolve_identity(
            kind=message.sender_kind,
            value=message.sender_id,
            channel=channel.provider,
            display_name=message.sender_display_name,
            phone=message.sender_phone or None,
            at=message.sent_at,
        )
    except ValidationFailed as exc:
        # A handle we cannot use (e.g. a malformed phone): keep the event, say why, lose nothing.
        event.status, event.error = InboundEvent.Status.FAILED, f"{exc.field}: {exc.message}"
        return
    for kind, value in message.extra_handles:
        _add_handle(resolution.customer, kind, value, channel=channel.provider)
    stored = conversations_actions.do_receive_message(
        customer=resolution.customer,
        channel=channel,
        text=message.text,
        sent_at=message.sent_at,
        provider_message_id=message.external_message_id,
        external_chat_id=message.external_chat_id,
        attachments=[a.__dict__ for a in message.attachments],
        unsupported=message.unsupported,
        threaded=threaded,
        references=message.references,
        automatic=message.automatic,
        meta=_meta(message),
    )
    if message.opt_out:
        _record_opt_out(channel, resolution.customer, message)
    if stored is None and message.automatic:
        event.status, event.error = InboundEvent.Status.PROCESSED, "an automatic reply outside any conversation"
        return
    event.status = InboundEvent.Status.UNSUPPORTED if message.unsupported else InboundEvent.Status.PROCESSED


def _record_opt_out(channel: Channel, customer: Customer, message: InboundMessage) -> None:
    """A STOP reply withdraws every kind of message through this channel kind (the provider blocks them
    anyway); START gives them back. Recorded as consents, on the customer's timeline."""
    kind = "whatsapp" if message.sender_kind == "whatsapp" else channel.provider  # WhatsApp through Twilio
    if kind not in ChannelKind.values:
        return
    keyword = (message.text or message.opt_out).strip()[:40]
    for purpose in Consent.Purpose.values:
        customers_actions.check_record_consent(
            customer=customer,
            channel=kind,
            purpose=purpose,
            granted=message.opt_out == "start",
            source=channel.name,
            method=f"{keyword} reply",
            at=message.sent_at,
        )


def _add_handle(customer: Customer, kind: str, value: str, *, channel: str) -> None:
    """Keep another handle of the sender on their card; one already on another card stays there."""
    try:
        with transaction.atomic():
            customers_actions.check_add_identity(customer=customer, kind=kind, value=value, channel=channel)
    except (ValidationFailed, Conflict, IntegrityError) as exc:
        logger.info("handle %s:%s not added to customer %s: %s", kind, value, customer.pk, exc)


def _meta(message: InboundMessage) -> dict[str, object]:
    meta: dict[str, object] = {}
    if message.subject:
        meta["subject"] = message.subject
    if message.references:
        meta["references"] = list(message.references)
    return meta


def _verify(channel: Channel, *, headers: Mapping[str, str], body: bytes, url: str) -> None:
    """The connector's check of the request; one whose provider signs the request URL too (Twilio)
    has `verify_request`, given the public URL the provider posted to."""
    connector = connector_for(channel.provider)
    verify_request = getattr(connector, "verify_request", None)
    if verify_request is not None:
        verify_request(credentials=channel.credentials, url=url, headers=headers, body=body)
    else:
        connector.verify(credentials=channel.credentials, headers=headers, body=body)


@transaction.atomic
def ingest_webhook(*, channel: Channel, headers: Mapping[str, str], body: bytes, url: str = "") -> IngestResult:
    """Verify and store one webhook delivery, and apply it; all in one transaction, committed before the 200.

    Raises WebhookRejected (→ 403) or BadPayload (→ 400); then nothing is stored.
    """
    connector = connector_for(channel.provider)
    _verify(channel, headers=headers, body=body, url=url)
    # Already in this function's transaction: no savepoint for ingest_events' own atomic block.
    return _ingest(channel=channel, events=connector.parse(body=body, config=channel.config))


@transaction.atomic
def ingest_events(*, channel: Channel, events: Iterable[InboundEventType]) -> IngestResult:
    """Store parsed events (each once per channel) and apply them to customers and conversations.

    The webhook view calls it through ingest_webhook; pollers (the IMAP mailbox) call it directly,
    in the same transaction as their own bookkeeping.
    """
    return _ingest(channel=channel, events=events)


def _ingest(*, channel: Channel, events: Iterable[InboundEventType], defer: bool = False) -> IngestResult:
    threaded = connector_for(channel.provider).capabilities.threaded
    stored = duplicates = 0
    for parsed in events:
        payload = dict(getattr(parsed, "raw", {}) or {"event": parsed.__class__.__name__})
        event = _store(channel, parsed.event_id, payload, encode_parsed(parsed) if defer else None)
        if event is None:
            duplicates += 1
            continue
        stored += 1
        if not defer:
            _apply(channel, event, parsed, threaded=threaded)
    return IngestResult(stored=stored, duplicates=duplicates)


def _apply(
    channel: Channel, event: InboundEvent, parsed: InboundEventType, *, threaded: bool, save: bool = True
) -> None:
    if isinstance(parsed, InboundMessage):
        _apply_message(channel, event, parsed, threaded=threaded)
    elif isinstance(parsed, InboundStatus):
        known = conversations_actions.do_update_delivery_status(
            channel=channel,
            provider_message_id=parsed.external_message_id,
            status=parsed.status,
            error=parsed.error,
        )
        event.status = InboundEvent.Status.PROCESSED if known else InboundEvent.Status.UNSUPPORTED
        event.error = "" if known else "status for a message we did not send"
    elif isinstance(parsed, InboundIgnored):
        event.status, event.error = InboundEvent.Status.PROCESSED, parsed.reason
    if save:
        event.save(update_fields=["status", "error"])


@transaction.atomic
def accept_webhook(*, channel: Channel, headers: Mapping[str, str], body: bytes, url: str = "") -> IngestResult:
    """Verify and store one webhook delivery for apply_pending; committed before the 200.

    Raises WebhookRejected (→ 403) or BadPayload (→ 400); then nothing is stored.
    """
    connector = connector_for(channel.provider)
    _verify(channel, headers=headers, body=body, url=url)
    return _ingest(channel=channel, events=connector.parse(body=body, config=channel.config), defer=True)


def apply_pending(*, limit: int = APPLY_BATCH, received_before: dt.datetime | None = None) -> int:
    """Apply up to `limit` stored events that are waiting (oldest first), in one transaction; return
    how many were taken. Each is claimed by the transaction that applies it (PostgreSQL: FOR UPDATE
    SKIP LOCKED, so several processes share the backlog; SQLite: the one writer), so none is applied
    twice; one that raises is marked failed with the error and the rest go on."""
    with transaction.atomic():
        pending = InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED, parsed__isnull=False)
        if received_before is not None:
            pending = pending.filter(received_at__lt=received_before)
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True, of=("self",))
        events = list(pending.select_related("channel").order_by("id")[:limit])
        outcomes: dict[tuple[str, str], list[int]] = {}  # (status, error) → events: one UPDATE each
        for event in events:
            try:
                with transaction.atomic():
                    parsed = decode_parsed(event.parsed or {}, event.payload)
                    threaded = connector_for(event.channel.provider).capabilities.threaded
                    _apply(event.channel, event, parsed, threaded=threaded, save=False)
                    if event.status == InboundEvent.Status.RECEIVED:
                        event.status = InboundEvent.Status.PROCESSED
                    outcomes.setdefault((event.status, event.error), []).append(event.pk)
            except OperationalError:
                # A deadlock with a concurrent applier, a lock timeout, a lost connection: nothing of this
                # event was kept (its savepoint rolled back) and it stays waiting; commit what is done.
                logger.warning("inbound event %s will be applied again", event.pk, exc_info=True)
                break
            except Exception as exc:  # one bad event must not hold up the others
                logger.exception("inbound event %s could not be applied", event.pk)
                outcomes.setdefault((InboundEvent.Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]), []).append(
                    event.pk
                )
        for (status, error), ids in outcomes.items():
            InboundEvent.objects.filter(pk__in=ids).update(status=status, error=error)
    return len(events)


__all__ = [
    "BadPayload",
    "IngestResult",
    "WebhookRejected",
    "accept_webhook",
    "apply_pending",
    "ingest_events",
    "ingest_webhook",
]
