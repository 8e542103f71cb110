"""The timeline: every interaction with a customer, written by every app through these actions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Greatest

from omnia.core import clock
from omnia.customers.actions.profile import contact_day
from omnia.customers.models import Customer, SearchToken, TimelineEntry

# Kinds that count as the customer being in touch ("last contact").
CONTACT_KINDS = frozenset({
    TimelineEntry.Kind.MESSAGE, TimelineEntry.Kind.CALL, TimelineEntry.Kind.ORDER, TimelineEntry.Kind.RETURN,
    TimelineEntry.Kind.VISIT, TimelineEntry.Kind.CONSULTATION,
})  # fmt: skip


def _touch_last_contact(customer: Customer, at: dt.datetime) -> None:
    moved = Customer.objects.filter(Q(last_contact_at__lt=at) | Q(last_contact_at__isnull=True), pk=customer.pk).update(
        last_contact_at=at
    )
    day = contact_day(at)
    if moved and contact_day(customer.last_contact_at) < day:
        # Name search ranks cards by the day of their last contact: the card's keys move once a day,
        # not on every message (the loaded card says when they last moved, or earlier).
        SearchToken.objects.filter(customer_id=customer.pk, contact_day__lt=day).update(contact_day=day)


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
    entry = TimelineEntry.objects.create(
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
    if kind in CONTACT_KINDS:
        _touch_last_contact(customer, at)
    return entry


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
    Customer.objects.filter(pk=customer.pk).update(
        orders_count=F("orders_count") + 1,
        lifetime_value=F("lifetime_value") + total,
        last_order_at=Greatest(Coalesce(F("last_order_at"), Value(at)), Value(at)),
    )
    return do_record_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.ORDER,
        summary=f"{number}: {total} {currency}",
        at=at,
        channel=channel,
        ref=order,
        actor=actor,
        data={"number": number, "total": str(total), "currency": currency},
    )


@transaction.atomic
def do_record_order_reversal(*, customer: Customer, total: Decimal, cancelled: bool) -> None:
    """An order recorded with do_record_order was cancelled (no longer counts at all) or returned
    (still an order the customer made, but its money no longer counts towards lifetime value)."""
    changes: dict[str, Any] = {"lifetime_value": F("lifetime_value") - total}
    if cancelled:
        changes["orders_count"] = F("orders_count") - 1
    Customer.objects.filter(pk=customer.pk).update(**changes)
