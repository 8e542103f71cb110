"""Every order, from every channel, is placed by one action: check_place_order.

It is idempotent on an Idempotency-Key and on (source, external id): a repeat returns the first order
(created=False). It resolves the customer, prices the lines (the one price, or a price a manager set
for that channel), reserves every line atomically through the inventory actions (all or nothing:
OUT_OF_STOCK names the line), records the timeline and the history, and flags a possible duplicate
(the same customer, the same lines, another channel, shortly before).

Orders placed at the same moment in one process are placed together (core.batching: group commit):
one transaction and one round of statements for all of them (the customers' cards, the orders, their
lines, one guarded UPDATE of the stock rows, the ledger), which is what lets a busy shop place
hundreds a second. Each still gets exactly its own answer: if any of them cannot go with the others
(short of stock at its first location, a repeat, a lost race), the batch is rolled back and each is
placed on its own, as it would have been alone. An order placed inside a caller's transaction is
placed alone, in that transaction.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q

from omnia.catalog.models import ChannelPrice
from omnia.core import bulk, clock
from omnia.core.batching import Combiner
from omnia.core.errors import Conflict, ValidationFailed
from omnia.core.events import publish_on_commit
from omnia.core.phones import normalize_phone
from omnia.customers import actions as customers_actions
from omnia.customers import queries as customers_queries
from omnia.customers.models import Customer
from omnia.inventory import actions as inventory_actions
from omnia.inventory import availability
from omnia.inventory.errors import OutOfStock
from omnia.inventory.models import Location, Reservation
from omnia.orders.events import OrderPlaced
from omnia.orders.models import Order, OrderLine, Payment, Shipment, Source, StatusChange

logger = logging.getLogger(__name__)

DUPLICATE_WINDOW = dt.timedelta(minutes=int(getattr(settings, "OMNIA_ORDER_DUPLICATE_MINUTES", 60)))
MAX_LINES = 200
DEADLOCK_ATTEMPTS = 3
# Channels a customer's phone is recorded as coming from; any other source is "api".
_IDENTITY_CHANNELS = frozenset({"whatsapp", "telegram", "instagram", "web", "store", "phone", "kaspi", "satu"})


@dataclass(frozen=True)
class LineIn:
    variant: Any  # catalog.Variant
    quantity: int


@dataclass(frozen=True)
class CustomerIn:
    """An existing card by id, or a person by phone (and optionally name and e-mail)."""

    id: int | None = None
    phone: str = ""
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class FulfillmentIn:
    type: str  # Order.Fulfillment
    location: Location | None = None  # pick-up point, or the store of a take-away
    address: dict[str, Any] = field(default_factory=dict)  # delivery: {"city", "line1", …}


@dataclass(frozen=True)
class PaymentIn:
    method: str
    amount: Decimal
    reference: str = ""


@dataclass(frozen=True)
class Placed:
    order: Order
    created: bool
    # A new order as just written (a copy of `order` holding its lines, payments, shipments and history),
    # for an answer that needs no second read; None for a repeat.
    written: Order | None = None


# --- sourcing ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    index: int
    variant: Any
    quantity: int


SourcingStrategy = Callable[[Sequence[Need], FulfillmentIn], dict[int, list[Location]]]


def default_sourcing(needs: Sequence[Need], fulfillment: FulfillmentIn) -> dict[int, list[Location]]:
    """For each line, the locations to try in order. A take-away comes from its store only; a pick-up
    from the pick-up location first; otherwise fewest splits (a location that has every line), then the
    customer's city, then the most stock. Only locations that sell or ship are considered."""
    city = str(fulfillment.address.get("city", "")) if fulfillment.address else ""
    if fulfillment.type == Order.Fulfillment.TAKEAWAY and fulfillment.location is not None:
        return {need.index: [fulfillment.location] for need in needs}
    stock = availability.availability([need.variant.pk for need in needs], city=city, arrivals=False)
    usable: dict[int, list[availability.LocationStock]] = {}
    for need in needs:
        rows = [
            row
            for row in stock.get(need.variant.pk, [])
            if row.available >= need.quantity and (row.location.ships or row.location.sells)
        ]
        if fulfillment.type == Order.Fulfillment.DELIVERY and city:
            rows = [
                row
                for row in rows
                if row.location.ships_to_city(city) or row.location.city.casefold() == city.casefold()
            ]
        usable[need.index] = rows
    everywhere = set.intersection(*[{row.location.pk for row in rows} for rows in usable.values()]) if usable else set()
    preferred = fulfillment.location.pk if fulfillment.location is not None else None

    def rank(row: availability.LocationStock) -> tuple[int, int, int, int]:
        return (
            0 if row.location.pk == preferred else 1,
            0 if row.location.pk in everywhere else 1,  # fewest splits
            0 if city and row.location.city.casefold() == city.casefold() else 1,
            -row.available,
        )

    return {index: [row.location for row in sorted(rows, key=rank)] for index, rows in usable.items()}


# --- asking ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ask:
    """One order asked for, its input checked (everything that can be checked without the database)."""

    actor: Any
    customer: CustomerIn
    source: str
    needs: list[Need]
    fulfillment: FulfillmentIn
    external_id: str
    key: str | None
    payment: PaymentIn | None
    conversation: Any
    comment: str
    sourcing: SourcingStrategy
    location: Location | None


def check_place_order(
    *,
    actor: Any,
    customer: CustomerIn,
    source: str,
    lines: Sequence[LineIn],
    fulfillment: FulfillmentIn,
    external_id: str = "",
    idempotency_key: str | None = None,
    payment: PaymentIn | None = None,
    conversation: Any = None,
    comment: str = "",
    sourcing: SourcingStrategy = default_sourcing,
    location: Location | None = None,
) -> Placed:
    """Place an order (see the module docstring). A concurrent repeat of the same key or external id
    is answered with the order the other request stored. When the database breaks a deadlock by
    rolling this order back (PostgreSQL: two orders locking the same stock rows in opposite orders), it
    is placed again from the start, up to DEADLOCK_ATTEMPTS times, unless a caller's transaction is open.

    `location` is the store where it was sold (the store terminal's): the order's store when it has no
    hand-over point of its own (a delivery sold at the counter). A take-away sold at a store's counter
    (source "store") may have no customer at all."""
    external_id = external_id.strip()[:100]
    key = (idempotency_key or "").strip()[:100] or None
    try:
        ask = _ask(
            actor=actor,
            customer=customer,
            source=source,
            lines=lines,
            fulfillment=fulfillment,
            external_id=external_id,
            idempotency_key=key,
            payment=payment,
            conversation=conversation,
            comment=comment,
            sourcing=sourcing,
            location=location,
        )
    except ValidationFailed:
        found = _existing(source=source, external_id=external_id, idempotency_key=key)
        if found is not None:  # a repeat is answered with the first order, whatever has changed since
            return Placed(found, created=False)
        raise
    if transaction.get_connection().in_atomic_block:
        return _place_alone(ask)  # in the caller's transaction, which it commits or rolls back
    return _placer.submit(ask)


def _ask(
    *,
    actor: Any,
    customer: CustomerIn,
    source: str,
    lines: Sequence[LineIn],
    fulfillment: FulfillmentIn,
    external_id: str = "",
    idempotency_key: str | None = None,
    payment: PaymentIn | None = None,
    conversation: Any = None,
    comment: str = "",
    sourcing: SourcingStrategy = default_sourcing,
    location: Location | None = None,
) -> _Ask:
    """The order asked for, checked (ValidationFailed naming the field) before it meets the database."""
    needs = _clean(lines, fulfillment, source, payment)
    _clean_customer(customer, source=source, fulfillment=fulfillment.type)
    return _Ask(
        actor=actor,
        customer=customer,
        source=source,
        needs=needs,
        fulfillment=fulfillment,
        external_id=external_id.strip()[:100],
        key=(idempotency_key or "").strip()[:100] or None,
        payment=payment,
        conversation=conversation,
        comment=comment.strip()[:2000],
        sourcing=sourcing,
        location=location,
    )


def _clean(lines: Sequence[LineIn], fulfillment: FulfillmentIn, source: str, payment: PaymentIn | None) -> list[Need]:
    if source not in Source.values:
        raise ValidationFailed(f"Unknown source {source!r}.", field="source", code="SOURCE_INVALID")
    if not lines:
        raise ValidationFailed("An order needs at least one line.", field="lines", code="LINES_REQUIRED")
    if len(lines) > MAX_LINES:
        raise ValidationFailed(f"At most {MAX_LINES} lines.", field="lines")
    needs = [
        Need(index, line.variant, inventory_actions.clean_quantity(line.quantity, field=f"lines[{index}].quantity"))
        for index, line in enumerate(lines)
    ]
    for need in needs:
        if not need.variant.is_active:
            raise ValidationFailed("This item is not on sale.", field=f"lines[{need.index}].sku", code="NOT_ON_SALE")
    kind = fulfillment.type
    if kind not in Order.Fulfillment.values:
        raise ValidationFailed(f"Unknown fulfilment {kind!r}.", field="fulfillment.type", code="FULFILLMENT_INVALID")
    place = fulfillment.location
    if kind == Order.Fulfillment.PICKUP and (place is None or not place.offers_pickup or not place.is_active):
        raise ValidationFailed("Pick-up is not offered there.", field="fulfillment.location", code="PICKUP_NOT_OFFERED")
    if kind == Order.Fulfillment.TAKEAWAY and (fulfillment.location is None or not fulfillment.location.sells):
        raise ValidationFailed("Say which store sells it.", field="fulfillment.location", code="STORE_REQUIRED")
    if kind == Order.Fulfillment.DELIVERY and not str(fulfillment.address.get("city", "")).strip():
        raise ValidationFailed("Where to deliver: the city.", field="fulfillment.address.city", code="ADDRESS_REQUIRED")
    if payment is not None:
        if payment.method not in Payment.Method.values:
            raise ValidationFailed(f"Unknown method {payment.method!r}.", field="payment.method")
        if payment.amount <= 0:
            raise ValidationFailed("A payment is above zero.", field="payment.amount", code="AMOUNT_INVALID")
    return needs


def _clean_customer(ref: CustomerIn, *, source: str, fulfillment: str) -> None:
    """Somebody to place it for: a card's id or a valid phone. Nobody only for a take-away over a store's
    counter: a passer-by buying what is on the shelf."""
    if ref.id is not None:
        return
    if not ref.phone.strip():
        if fulfillment == Order.Fulfillment.TAKEAWAY and source == "store":
            return
        raise ValidationFailed("Give the customer's id or phone.", field="customer.phone", code="CUSTOMER_REQUIRED")
    try:
        normalize_phone(ref.phone, field="customer.phone")
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field="customer.phone", code=exc.code) from exc


# --- placing one, or many together -----------------------------------------------------------------------


def _existing(*, source: str, external_id: str, idempotency_key: str | None) -> Order | None:
    """The order placed before with this key, else with this (source, external id). Ids are looked up
    first: the whole row is read only for a repeat, which is rare."""
    found = None
    if idempotency_key:
        found = Order.objects.filter(idempotency_key=idempotency_key).values_list("pk", flat=True).first()
    if found is None and external_id:
        found = Order.objects.filter(source=source, external_id=external_id).values_list("pk", flat=True).first()
    return Order.objects.get(pk=found) if found is not None else None


def _place_alone(ask: _Ask) -> Placed:
    """Place one order in a transaction of its own (or the caller's), retrying a broken deadlock."""
    found = _existing(source=ask.source, external_id=ask.external_id, idempotency_key=ask.key)
    if found is not None:
        return Placed(found, created=False)
    retry = not transaction.get_connection().in_atomic_block
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                (placed,) = _place([ask], alone=True)
            return placed
        except IntegrityError:
            found = _existing(source=ask.source, external_id=ask.external_id, idempotency_key=ask.key)
            if found is None:
                raise
            return Placed(found, created=False)
        except OperationalError as exc:
            if not (retry and attempt < DEADLOCK_ATTEMPTS and _deadlock(exc)):
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _deadlock(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "40P01"  # deadlock_detected


def _place_batch(asks: Sequence[_Ask]) -> list[Placed | BaseException]:
    """The Combiner's handler: the orders asked for at the same moment, together if they can all go
    together, else each on its own."""
    if len(asks) > 1:
        try:
            return list(_place_together(asks))
        except Exception as exc:  # each is placed alone next, and answers for itself
            logger.info("%d orders could not be placed together (%r): each on its own", len(asks), exc)
    answers: list[Placed | BaseException] = []
    for ask in asks:
        try:
            answers.append(_place_alone(ask))
        except Exception as exc:  # raised in the caller that asked for this order
            answers.append(exc)
    return answers


def _place_together(asks: Sequence[_Ask]) -> list[Placed]:
    """Every order in one transaction, or none (any error rolls all of them back)."""
    found = _existing_many(asks)
    fresh = [ask for index, ask in enumerate(asks) if index not in found]
    with transaction.atomic():
        orders = iter(_place(fresh, alone=False) if fresh else [])
    repeats = Order.objects.in_bulk(set(found.values())) if found else {}
    return [
        Placed(repeats[found[index]], created=False) if index in found else next(orders) for index in range(len(asks))
    ]


def _existing_many(asks: Sequence[_Ask]) -> dict[int, int]:
    """{index in asks: the id of the order placed before with its key, else its (source, external id)}:
    one read."""
    wanted = Q(pk__in=[])
    keys = [ask.key for ask in asks if ask.key]
    if keys:
        wanted |= Q(idempotency_key__in=keys)
    for ask in asks:
        if ask.external_id:
            wanted |= Q(source=ask.source, external_id=ask.external_id)
    by_key: dict[str, int] = {}
    by_external: dict[tuple[str, str], int] = {}
    if keys or any(ask.external_id for ask in asks):
        for pk, key, source, external_id in Order.objects.filter(wanted).values_list(
            "pk", "idempotency_key", "source", "external_id"
        ):
            if key:
                by_key[key] = pk
            if external_id:
                by_external[(source, external_id)] = pk
    found: dict[int, int] = {}
    for index, ask in enumerate(asks):
        order = by_key.get(ask.key or "") or (
            by_external.get((ask.source, ask.external_id)) if ask.external_id else None
        )
        if order is not None:
            found[index] = order
    return found


def _place(asks: Sequence[_Ask], *, alone: bool) -> list[Placed]:
    """Store the orders asked for, in the open transaction: each order, its payment, its history, its
    customer's timeline, its lines reserved, its shipments; a statement serves all of them at each step.
    Stock is reserved last: from the stock UPDATE to the commit the stock rows stay locked, so nothing
    else waits in between. `alone`: one order, whose lines may be sourced line by line if its first
    choice falls short (together, that falls back to placing each alone)."""
    now = clock.now()
    people = _customers(asks, now)
    currency = str(settings.OMNIA_CURRENCY)
    prices = _prices(asks, now)
    totals = [
        sum((price[need.index] * need.quantity for need in ask.needs), Decimal(0))
        for ask, price in zip(asks, prices, strict=True)
    ]
    for ask, total in zip(asks, totals, strict=True):
        if ask.payment is not None and ask.payment.amount > total:
            raise ValidationFailed(
                f"The payment is more than the {total} {currency} due.",
                field="payment.amount",
                code="PAYMENT_TOO_LARGE",
            )
    orders = bulk.insert(
        [
            Order(
                number=f"tmp-{uuid.uuid4().hex[:24]}",
                customer=person,
                source=ask.source,
                external_id=ask.external_id,
                status=Order.Status.NEW,
                location=ask.fulfillment.location or ask.location,
                total=total,
                currency=currency,
                comment=ask.comment,
                placed_at=now,
                fulfillment=ask.fulfillment.type,
                delivery_address=dict(ask.fulfillment.address or {}),
                conversation=ask.conversation,
                idempotency_key=ask.key,
                placed_by=getattr(ask.actor, "audit_user", None),
            )
            for ask, (person, _), total in zip(asks, people, totals, strict=True)
        ]
    )
    payments = [
        Payment(
            order=order,
            method=ask.payment.method,
            amount=ask.payment.amount,
            reference=ask.payment.reference[:100],
            created_at=now,
        )
        for ask, order in zip(asks, orders, strict=True)
        if ask.payment is not None
    ]
    if payments:
        bulk.insert(payments)
    history = bulk.insert(
        [
            StatusChange(
                order=order,
                old="",
                new=order.status,
                at=now,
                actor=order.placed_by,
                reason=f"placed via {order.source}",
            )
            for order in orders
        ]
    )
    lines = bulk.insert(
        [
            OrderLine(order=order, variant=need.variant, quantity=need.quantity, unit_price=price[need.index])
            for ask, order, price in zip(asks, orders, prices, strict=True)
            for need in ask.needs
        ]
    )
    per_order: list[list[OrderLine]] = []
    start = 0
    for ask in asks:
        per_order.append(lines[start : start + len(ask.needs)])
        start += len(ask.needs)
    for order in orders:
        order.number = f"O-{order.pk:06d}"
    _flag_duplicates(
        [
            (order, ask.needs)
            for order, ask, (person, new_card) in zip(orders, asks, people, strict=True)
            if person is not None and not new_card
        ]
    )
    bulk.update(  # the numbers (from the ids), and the orders they may repeat
        Order,
        {
            "number": {order.pk: order.number for order in orders},
            "possible_duplicate_of": {
                order.pk: order.possible_duplicate_of_id for order in orders if order.possible_duplicate_of_id
            },
        },
    )
    records = [
        customers_actions.OrderRecord(
            order.customer, order, order.number, order.total, order.currency, order.source, now, ask.actor
        )
        for order, ask in zip(orders, asks, strict=True)
        if order.customer is not None
    ]
    if records:
        customers_actions.do_record_orders(records)
    _reserve(asks, per_order, [person for person, _ in people], alone=alone)
    locations = {line.location_id: line.location for line in lines}
    shipments = bulk.insert(
        [  # one per sourcing location, each picked and shipped on its own
            Shipment(order=order, location=locations[where], created_at=now, updated_at=now)
            for order, placed in zip(orders, per_order, strict=True)
            for where in sorted({line.location_id for line in placed if line.location_id is not None})
        ]
    )
    for order in orders:
        publish_on_commit(OrderPlaced(order_id=order.pk, source=order.source, customer_id=order.customer_id))
    return [
        Placed(
            order,
            created=True,
            written=_written(
                order,
                lines=placed,
                payments=[payment for payment in payments if payment.order_id == order.pk],
                shipments=[shipment for shipment in shipments if shipment.order_id == order.pk],
                history=[change for change in history if change.order_id == order.pk],
            ),
        )
        for order, placed in zip(orders, per_order, strict=True)
    ]


def _written(order: Order, **related: list[Any]) -> Order:
    """A copy of the order holding the rows just written with it, as a read with their prefetch would
    (`order.lines.all()` and the rest answer from them): the answer to a new order needs no second read.
    A copy, so that the order a caller goes on changing reads its relations afresh."""
    written = copy.copy(order)
    written._prefetched_objects_cache = {**related, "returns": []}  # type: ignore[attr-defined]
    return written


def _customers(asks: Sequence[_Ask], at: dt.datetime) -> list[tuple[Customer | None, bool]]:
    """Each order's customer, and whether the card is new (made in this transaction: it has no orders
    yet): a card by id, or the card of the phone (one read for all the phones; new cards in one go)."""
    people: list[tuple[Customer | None, bool]] = [(None, False)] * len(asks)
    phones: list[tuple[int, customers_actions.PhoneIn]] = []
    for index, ask in enumerate(asks):
        ref = ask.customer
        if ref.id is not None:
            people[index] = (customers_queries.get_customer(ref.id, field="customer.id"), False)
        elif ref.phone.strip():
            channel = ask.source if ask.source in _IDENTITY_CHANNELS else "api"
            phones.append((index, customers_actions.PhoneIn(ref.phone, channel, ref.name.strip())))
    if phones:
        try:
            resolved = customers_actions.do_resolve_phones([phone for _, phone in phones], at=at)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field="customer.phone", code=exc.code) from exc
        for (index, _), resolution in zip(phones, resolved, strict=True):
            people[index] = (resolution.customer, resolution.created_customer)
    for ask, (person, _) in zip(asks, people, strict=True):
        if person is not None and ask.customer.id is None and ask.customer.email.strip():
            try:
                with transaction.atomic():
                    customers_actions.check_add_identity(
                        customer=person,
                        kind="email",
                        value=ask.customer.email,
                        channel=ask.source if ask.source in _IDENTITY_CHANNELS else "api",
                        field="customer.email",
                    )
            except Conflict:
                pass  # the address is on another card: the order still belongs to this phone's card
    return people


def _prices(asks: Sequence[_Ask], at: dt.datetime) -> list[dict[int, Decimal]]:
    """For each order, {line index: unit price}: the price a manager set for its channel, else the price
    at `at`. One read for every order."""
    explicit = {
        (variant, channel): Decimal(price)
        for variant, channel, price in ChannelPrice.objects.filter(
            variant_id__in={need.variant.pk for ask in asks for need in ask.needs},
            channel__in={ask.source for ask in asks},
        ).values_list("variant_id", "channel", "price")
    }
    return [
        {
            need.index: explicit[(need.variant.pk, ask.source)]
            if (need.variant.pk, ask.source) in explicit
            else Decimal(need.variant.price_at(at))
            for need in ask.needs
        }
        for ask in asks
    ]


def _sellable(location: Location | None) -> bool:
    return location is not None and location.is_active and (location.ships or location.sells)


class _Apart(Exception):
    """An order of a batch cannot be reserved together with the others: each is placed on its own."""


def _reserve(
    asks: Sequence[_Ask], lines: Sequence[list[OrderLine]], people: Sequence[Customer | None], *, alone: bool
) -> None:
    """Reserve every line of every order, all or none, in one go (inventory.check_reserve_many: one
    guarded UPDATE, all lots or none) at each line's first candidate. A pick-up through the default
    sourcing tries the pick-up location before reading any availability: that is the first candidate
    default_sourcing gives a line it has, and the guarded UPDATE is the check that it has it. If a lot
    falls short (another order took the last units since, or the location lacks a line), an order
    placed alone tries each line location by location in the sourcing order; orders placed together
    are each placed alone instead."""
    candidates: list[dict[int, list[Location]] | None] = []
    holds: list[inventory_actions.Hold] = []
    short = False
    for ask, placed, person in zip(asks, lines, people, strict=True):
        place = ask.fulfillment.location
        if ask.sourcing is default_sourcing and ask.fulfillment.type == Order.Fulfillment.PICKUP and _sellable(place):
            first: list[Location | None] = [place for _ in ask.needs]
            candidates.append(None)
        else:
            sourced = ask.sourcing(ask.needs, ask.fulfillment)
            candidates.append(sourced)
            first = [next(iter(sourced.get(need.index, [])), None) for need in ask.needs]
        short = short or any(location is None for location in first)
        holds.extend(
            inventory_actions.Hold(
                need.variant, location, need.quantity, owner_ref=str(line.pk), customer=person, actor=ask.actor
            )
            for need, location, line in zip(ask.needs, first, placed, strict=True)
            if location is not None
        )
    reservations: list[Reservation] | None = None
    if not short:
        try:
            reservations = inventory_actions.check_reserve_many(
                actor=None, holds=holds, owner_kind=Reservation.Owner.ORDER_LINE
            )
        except OutOfStock:
            reservations = None
    every = [line for placed in lines for line in placed]
    if reservations is None:
        if not alone:
            raise _Apart
        (ask,), (chosen,), (person,), (placed,) = asks, candidates, people, lines
        if chosen is None:
            chosen = ask.sourcing(ask.needs, ask.fulfillment)
        reservations = [
            _reserve_line(need, line, chosen.get(need.index, []), ask.actor, person)
            for need, line in zip(ask.needs, placed, strict=True)
        ]
    for line, reservation in zip(every, reservations, strict=True):
        line.location, line.reservation = reservation.location, reservation
    bulk.update(
        OrderLine,
        {
            "location": {line.pk: line.location_id for line in every},
            "reservation": {line.pk: line.reservation_id for line in every},
        },
    )


def _reserve_line(
    need: Need, line: OrderLine, candidates: list[Location], actor: Any, customer: Customer | None
) -> Reservation:
    """Reserve one line at the first candidate that still has it."""
    for location in candidates:
        try:
            return inventory_actions.check_reserve(
                actor=actor,
                variant=need.variant,
                location=location,
                quantity=need.quantity,
                owner_kind=Reservation.Owner.ORDER_LINE,
                owner_ref=str(line.pk),
                customer=customer,
            )
        except OutOfStock:
            continue
    raise OutOfStock(f"{need.variant.sku}: not enough available.", field=f"lines[{need.index}].quantity")


def _flag_duplicates(placed: Sequence[tuple[Order, Sequence[Need]]]) -> None:
    """Flag each order that repeats one its customer placed shortly before (DUPLICATE_WINDOW) through
    another channel, with the same lines: one read of these customers' recent orders and one of their
    lines, for all of them (the orders placed together with it count as before it when their id is lower)."""
    if not placed:
        return
    since = min(order.placed_at for order, _ in placed) - DUPLICATE_WINDOW
    customers = {order.customer_id for order, _ in placed}
    recent = list(
        Order.objects.filter(customer_id__in=customers, placed_at__gte=since)
        .exclude(status=Order.Status.CANCELLED)
        .order_by("-placed_at", "-pk")
        .values_list("pk", "customer_id", "source", "placed_at")[: 20 * len(customers) + len(placed)]
    )
    lines: dict[int, list[tuple[int, int]]] = {}
    for order_id, variant_id, quantity in OrderLine.objects.filter(order_id__in=[row[0] for row in recent]).values_list(
        "order_id", "variant_id", "quantity"
    ):
        lines.setdefault(order_id, []).append((variant_id, quantity))
    for order, needs in placed:
        wanted = sorted((need.variant.pk, need.quantity) for need in needs)
        order.possible_duplicate_of_id = next(
            (
                pk
                for pk, customer_id, source, placed_at in recent
                if customer_id == order.customer_id
                and pk < order.pk
                and source != order.source
                and placed_at >= order.placed_at - DUPLICATE_WINDOW
                and sorted(lines.get(pk, [])) == wanted
            ),
            None,
        )


# Orders asked for at the same moment in this process are placed together: one batch at a time (two
# processes keep two cores busy), waiting up to 2 ms for as many orders as the last batch held.
_placer: Combiner[_Ask, Placed] = Combiner(_place_batch, runners=1, max_batch=32, linger=0.002)
