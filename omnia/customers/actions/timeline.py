"""The timeline: every interaction with a customer, written by every app through these actions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.db.models import F, Q

from omnia.core import bulk, clock
from omnia.customers.actions.profile import contact_day
from omnia.customers.models import Customer, SearchToken, TimelineEntry

# Kinds that count as the customer being in touch ("last contact").
CONTACT_KINDS = frozenset({
    TimelineEntry.Kind.MESSAGE, TimelineEntry.Kind.CALL, TimelineEntry.Kind.ORDER, TimelineEntry.Kind.RETURN,
    TimelineEntry.Kind.VISIT, TimelineEntry.Kind.CONSULTATION,
})  # fmt: skip


def _touch_last_contact(customers: Sequence[Customer], at: dt.datetime) -> None:
    ids = [customer.pk for customer in customers]
    moved = Customer.objects.filter(Q(last_contact_at__lt=at) | Q(last_contact_at__isnull=True), pk__in=ids).update(
        last_contact_at=at
    )
    day = contact_day(at)
    stale = [customer.pk for customer in customers if contact_day(customer.last_contact_at) < day]
    if moved and stale:
        # Name search ranks cards by the day of their last contact: the card's keys move once a day,
        # not on every message (the loaded card says when they last moved, or earlier).
        SearchToken.objects.filter(customer_id__in=stale, contact_day__lt=day).update(contact_day=day)


def _entry(
    *,
    customer: Customer,
    kind: str,
    summary: str,
    at: dt.datetime,
    channel: str,
    ref: models.Model | None,
    actor: Any,
    data: dict[str, Any] | None,
) -> TimelineEntry:
    return TimelineEntry(
        customer=customer,
        at=at,
        kind=kind,
        channel=channel,
        summary=summary[:500],
        ref_type=ref._meta.label_lower if ref is not None else "",
        ref_id=str(ref.pk) if ref is not None else "",
        actor=getattr(actor, "audit_user", None),
        data=data or {},
    )


# No savepoint inside a caller's transaction (two statements on every message): an error rolls back
# the caller's work too, and nobody records a timeline entry they can do without.
@transaction.atomic(savepoint=False)
def do_record_timeline(
    *,
    customer: Customer,
    kind: str,
    summary: str,
    at: dt.datetime | None = None,
    channel: str = "",
    ref: models.Model | None = None,
    actor: Any = None,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    """Append one entry to the customer's timeline; contacts (messages, calls, visits…) move 'last contact'."""
    at = at or clock.now()
    entry = _entry(
        customer=customer, kind=kind, summary=summary, at=at, channel=channel, ref=ref, actor=actor, data=data
    )
    entry.save(force_insert=True)
    if kind in CONTACT_KINDS:
        _touch_last_contact([customer], at)
    return entry


@dataclass(frozen=True)
class OrderRecord:
    """An order placed by the customer, for do_record_orders."""

    customer: Customer
    order: models.Model
    number: str
    total: Decimal
    currency: str
    channel: str
    at: dt.datetime
    actor: Any = None


@transaction.atomic
def do_record_order(
    *,
    customer: Customer,
    order: models.Model,
    number: str,
    total: Decimal,
    currency: str,
    channel: str,
    at: dt.datetime,
    actor: Any = None,
) -> TimelineEntry:
    """An order placed by the customer (any channel, on- or offline): timeline + lifetime value."""
    record = OrderRecord(customer, order, number, total, currency, channel, at, actor)
    return do_record_orders([record])[0]


# No savepoint inside a caller's transaction (placing orders): an error rolls back the caller's work too.
@transaction.atomic(savepoint=False)
def do_record_orders(records: Sequence[OrderRecord]) -> list[TimelineEntry]:
    """do_record_order for many orders at once (placed together): one UPDATE of the cards' order counts,
    lifetime values, last orders and last contacts, one INSERT of the timeline entries, and the cards'
    search keys moved to the day of this contact when they were behind."""
    if not records:
        return []
    cards: dict[int, Customer] = {}
    counts: dict[int, int] = {}
    values: dict[int, Decimal] = {}
    latest: dict[int, dt.datetime] = {}
    for record in records:
        pk = record.customer.pk
        cards.setdefault(pk, record.customer)
        counts[pk] = counts.get(pk, 0) + 1
        values[pk] = values.get(pk, Decimal(0)) + record.total
        latest[pk] = max(latest.get(pk, record.at), record.at)
    _add_orders(counts, values, latest)
    entries = bulk.insert(
        [
            _entry(
                customer=record.customer,
                kind=TimelineEntry.Kind.ORDER,
                summary=f"{record.number}: {record.total} {record.currency}",
                at=record.at,
                channel=record.channel,
                ref=record.order,
                actor=record.actor,
                data={"number": record.number, "total": str(record.total), "currency": record.currency},
            )
            for record in records
        ]
    )
    stale = {
        pk: contact_day(at) for pk, at in latest.items() if contact_day(cards[pk].last_contact_at) < contact_day(at)
    }
    for day in sorted(set(stale.values())):
        SearchToken.objects.filter(
            customer_id__in=[pk for pk, its in stale.items() if its == day], contact_day__lt=day
        ).update(contact_day=day)
    return entries


def _add_orders(counts: dict[int, int], values: dict[int, Decimal], latest: dict[int, dt.datetime]) -> None:
    """UPDATE the cards: orders_count += count, lifetime_value += value, last order and last contact moved
    forward to `latest` (never back). Written as SQL: the ORM spends more CPU composing these CASE
    expressions than the database spends running them, on the path of every order placed."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    column = quote("id")
    cases = " ".join("WHEN %s THEN %s" for _ in counts)
    ids = list(counts)
    at = [connection.ops.adapt_datetimefield_value(latest[pk]) for pk in ids]

    def per_card(values: list[Any]) -> list[Any]:
        return [value for pk, its in zip(ids, values, strict=True) for value in (pk, its)]

    def forward(name: str) -> tuple[str, list[Any]]:
        field = quote(name)
        moved = f"CASE {column} {cases} END"
        sql = f"{field} = CASE WHEN {field} IS NULL OR {field} < {moved} THEN {moved} ELSE {field} END"
        return sql, per_card(at) * 2

    last_order, last_order_params = forward("last_order_at")
    last_contact, last_contact_params = forward("last_contact_at")
    count, value = quote("orders_count"), quote("lifetime_value")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Customer._meta.db_table)} SET {count} = {count} + CASE {column} {cases} END, "  # noqa: S608
            f"{value} = {value} + CASE {column} {cases} END, {last_order}, {last_contact} "
            f"WHERE {column} IN ({', '.join('%s' for _ in ids)})",  # only names and placeholders
            [
                *per_card([counts[pk] for pk in ids]),
                *per_card([connection.ops.adapt_decimalfield_value(values[pk], 16, 2) for pk in ids]),
                *last_order_params,
                *last_contact_params,
                *ids,
            ],
        )


@transaction.atomic
def do_record_order_reversal(*, customer: Customer, total: Decimal, cancelled: bool) -> None:
    """An order recorded with do_record_order was cancelled (no longer counts at all) or returned
    (still an order the customer made, but its money no longer counts towards lifetime value)."""
    changes: dict[str, Any] = {"lifetime_value": F("lifetime_value") - total}
    if cancelled:
        changes["orders_count"] = F("orders_count") - 1
    Customer.objects.filter(pk=customer.pk).update(**changes)
