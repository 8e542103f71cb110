"""Every order, from every channel, is placed by one action and moved by one status machine.

check_place_order is idempotent on an Idempotency-Key and on (source, external id): a repeat returns
the first order (created=False). It resolves the customer, prices the lines (the one price, or a
price a manager set for that channel), reserves every line atomically through the inventory actions
(all or nothing: OUT_OF_STOCK names the line), records the timeline and the history, and flags a
possible duplicate (the same customer, the same lines, another channel, shortly before).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction

from omnia.catalog.models import ChannelPrice
from omnia.core import clock
from omnia.core.errors import Conflict, ValidationFailed
from omnia.core.events import publish_on_commit
from omnia.customers import actions as customers_actions
from omnia.customers import queries as customers_queries
from omnia.customers.models import Customer
from omnia.inventory import actions as inventory_actions
from omnia.inventory import availability
from omnia.inventory.errors import OutOfStock
from omnia.inventory.models import Location, Reservation
from omnia.orders import actions_shipments
from omnia.orders.events import OrderPlaced, OrderStatusChanged
from omnia.orders.models import Order, OrderLine, Payment, Shipment, Source, StatusChange

DUPLICATE_WINDOW = dt.timedelta(minutes=int(getattr(settings, "OMNIA_ORDER_DUPLICATE_MINUTES", 60)))
MAX_LINES = 200
DEADLOCK_ATTEMPTS = 3


class TransitionNotAllowed(Conflict):
    code = "TRANSITION_NOT_ALLOWED"


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


# --- sourcing ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    index: int
    variant: Any
    quantity: int


SourcingStrategy = Callable[[Sequence[Need], FulfillmentIn], dict[int, list[Location]]]


def _same_city(location: Location, city: str) -> bool:
    return location.city.casefold() == city.strip().casefold()


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


# --- placing -------------------------------------------------------------------------------------------------


def _existing(*, source: str, external_id: str, idempotency_key: str | None) -> Order | None:
    """The order placed before with this key, else with this (source, external id). Ids are looked up
    first: the whole row is read only for a repeat, which is rare."""
    found = None
    if idempotency_key:
        found = Order.objects.filter(idempotency_key=idempotency_key).values_list("pk", flat=True).first()
    if found is None and external_id:
        found = Order.objects.filter(source=source, external_id=external_id).values_list("pk", flat=True).first()
    return Order.objects.get(pk=found) if found is not None else None


def _customer(ref: CustomerIn, *, source: str, fulfillment: str) -> tuple[Customer | None, bool]:
    """The customer, and whether the card is new (made in this transaction: it has no orders yet).
    Nobody (None) only for a take-away over a store's counter: a passer-by buying what is on the shelf."""
    if ref.id is not None:
        return customers_queries.get_customer(ref.id, field="customer.id"), False
    if not ref.phone.strip():
        if fulfillment == Order.Fulfillment.TAKEAWAY and source == "store":
            return None, False
        raise ValidationFailed("Give the customer's id or phone.", field="customer.phone", code="CUSTOMER_REQUIRED")
    channel = (
        source if source in {"whatsapp", "telegram", "instagram", "web", "store", "phone", "kaspi", "satu"} else "api"
    )
    try:
        resolution = customers_actions.do_resolve_identity(
            kind="phone", value=ref.phone, channel=channel, display_name=ref.name.strip()
        )
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field="customer.phone", code=exc.code) from exc
    if ref.email.strip():
        try:
            with transaction.atomic():
                customers_actions.check_add_identity(
                    customer=resolution.customer, kind="email", value=ref.email, channel=channel, field="customer.email"
                )
        except Conflict:
            pass  # the address is on another card: the order still belongs to this phone's card
    return resolution.customer, resolution.created_customer


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


def _prices(needs: Sequence[Need], source: str, at: dt.datetime) -> dict[int, Decimal]:
    """{line index: unit price}: the price a manager set for the channel, else the price at `at`."""
    explicit = dict(
        ChannelPrice.objects.filter(variant_id__in={need.variant.pk for need in needs}, channel=source).values_list(
            "variant_id", "price"
        )
    )
    return {
        need.index: Decimal(explicit[need.variant.pk])
        if need.variant.pk in explicit
        else Decimal(need.variant.price_at(at))
        for need in needs
    }


def _sellable(location: Location | None) -> bool:
    return location is not None and location.is_active and (location.ships or location.sells)


def _reserve(
    order: Order,
    needs: Sequence[Need],
    prices: dict[int, Decimal],
    fulfillment: FulfillmentIn,
    sourcing: SourcingStrategy,
    actor: Any,
    customer: Customer | None,
) -> list[OrderLine]:
    """Reserve every line, all or none. The lines are stored first (a reservation names its line), then
    reserved in one go (inventory.check_reserve_many: one guarded UPDATE, all lots or none) at each
    line's first candidate. A pick-up through the default sourcing tries the pick-up location before
    reading any availability: that is the first candidate default_sourcing gives a line it has, and the
    guarded UPDATE is the check that it has it. If a lot falls short (another order took the last units
    since, or the location lacks a line), each line is tried location by location in the sourcing order."""
    lines = OrderLine.objects.bulk_create(
        OrderLine(order=order, variant=need.variant, quantity=need.quantity, unit_price=prices[need.index])
        for need in needs
    )
    place = fulfillment.location
    candidates: dict[int, list[Location]] | None = None
    if sourcing is default_sourcing and fulfillment.type == Order.Fulfillment.PICKUP and _sellable(place):
        first: list[Location | None] = [place for _ in needs]
    else:
        candidates = sourcing(needs, fulfillment)
        first = [next(iter(candidates.get(need.index, [])), None) for need in needs]
    reservations: list[Reservation] | None = None
    if all(location is not None for location in first):
        try:
            reservations = inventory_actions.check_reserve_many(
                actor=actor,
                holds=[
                    inventory_actions.Hold(need.variant, location, need.quantity, owner_ref=str(line.pk))
                    for need, location, line in zip(needs, first, lines, strict=True)
                    if location is not None
                ],
                owner_kind=Reservation.Owner.ORDER_LINE,
                customer=customer,
            )
        except OutOfStock:
            reservations = None
    if reservations is None:
        if candidates is None:
            candidates = sourcing(needs, fulfillment)
        reservations = [
            _reserve_line(need, line, candidates.get(need.index, []), actor, customer)
            for need, line in zip(needs, lines, strict=True)
        ]
    for line, reservation in zip(lines, reservations, strict=True):
        line.location_id, line.reservation = reservation.location_id, reservation
    _link(lines)
    return lines


def _link(lines: list[OrderLine]) -> None:
    """Store each line's location and reservation: one UPDATE, written as SQL (bulk_update spends ≈1 ms of
    CPU composing this CASE statement for three lines, on every order placed)."""
    quote = connection.ops.quote_name
    cases = " ".join("WHEN %s THEN %s" for _ in lines)
    column = quote("id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(OrderLine._meta.db_table)} SET {quote('location_id')} = CASE {column} {cases} END, "  # noqa: S608
            f"{quote('reservation_id')} = CASE {column} {cases} END "
            f"WHERE {column} IN ({', '.join('%s' for _ in lines)})",  # only names and placeholders
            [
                *(value for line in lines for value in (line.pk, line.location_id)),
                *(value for line in lines for value in (line.pk, line.reservation_id)),
                *(line.pk for line in lines),
            ],
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


def _duplicate_of(order: Order, needs: Sequence[Need]) -> Order | None:
    wanted = sorted((need.variant.pk, need.quantity) for need in needs)
    recent = (
        Order.objects.filter(customer=order.customer, placed_at__gte=order.placed_at - DUPLICATE_WINDOW)
        .exclude(pk=order.pk)
        .exclude(source=order.source)
        .exclude(status=Order.Status.CANCELLED)
        .prefetch_related("lines")
        .order_by("-placed_at")
    )
    for other in recent[:20]:
        if sorted((line.variant_id, line.quantity) for line in other.lines.all()) == wanted:
            return other
    return None


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
    found = _existing(source=source, external_id=external_id, idempotency_key=key)
    if found is not None:
        return Placed(found, created=False)
    retry = not transaction.get_connection().in_atomic_block
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                order = _place(
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
            return Placed(order, created=True)
        except IntegrityError:
            found = _existing(source=source, external_id=external_id, idempotency_key=key)
            if found is None:
                raise
            return Placed(found, created=False)
        except OperationalError as exc:
            if not (retry and attempt < DEADLOCK_ATTEMPTS and _deadlock(exc)):
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _deadlock(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "40P01"  # deadlock_detected


def _place(
    *,
    actor: Any,
    customer: CustomerIn,
    source: str,
    lines: Sequence[LineIn],
    fulfillment: FulfillmentIn,
    external_id: str,
    idempotency_key: str | None,
    payment: PaymentIn | None,
    conversation: Any,
    comment: str,
    sourcing: SourcingStrategy,
    location: Location | None = None,
) -> Order:
    needs = _clean(lines, fulfillment, source, payment)
    person, new_card = _customer(customer, source=source, fulfillment=fulfillment.type)
    now = clock.now()
    user = getattr(actor, "audit_user", None)
    currency = str(settings.OMNIA_CURRENCY)
    prices = _prices(needs, source, now)
    total = sum((prices[need.index] * need.quantity for need in needs), Decimal(0))
    if payment is not None and payment.amount > total:
        raise ValidationFailed(
            f"The payment is more than the {total} {currency} due.", field="payment.amount", code="PAYMENT_TOO_LARGE"
        )
    order = Order.objects.create(
        number=f"tmp-{uuid.uuid4().hex[:24]}",
        customer=person,
        source=source,
        external_id=external_id,
        status=Order.Status.NEW,
        location=fulfillment.location or location,
        total=total,
        currency=currency,
        comment=comment.strip()[:2000],
        placed_at=now,
        fulfillment=fulfillment.type,
        delivery_address=dict(fulfillment.address or {}),
        conversation=conversation,
        idempotency_key=idempotency_key,
        placed_by=user,
    )
    order.number = f"O-{order.pk:06d}"
    order.possible_duplicate_of = None if new_card or person is None else _duplicate_of(order, needs)
    order.save(update_fields=["number", "possible_duplicate_of"])
    if payment is not None:
        Payment.objects.create(
            order=order, method=payment.method, amount=payment.amount, reference=payment.reference[:100], created_at=now
        )
    StatusChange.objects.create(
        order=order, old="", new=order.status, at=now, actor=user, reason=f"placed via {source}"
    )
    if person is not None:
        customers_actions.do_record_order(
            customer=person,
            order=order,
            number=order.number,
            total=order.total,
            currency=order.currency,
            channel=source,
            at=now,
            actor=actor,
        )
    # Last: from the stock UPDATE to the commit the stock rows stay locked, so nothing else waits in between.
    placed = _reserve(order, needs, prices, fulfillment, sourcing, actor, person)
    Shipment.objects.bulk_create(  # one per sourcing location, each picked and shipped on its own
        Shipment(order=order, location_id=where, created_at=now, updated_at=now)
        for where in sorted({line.location_id for line in placed if line.location_id is not None})
    )
    publish_on_commit(OrderPlaced(order_id=order.pk, source=source, customer_id=person.pk if person else None))
    return order


# --- the status machine ----------------------------------------------------------------------------------

S = Order.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.CONFIRMED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.PAID, S.PICKING, S.CANCELLED}),
    S.PAID: frozenset({S.PICKING, S.CANCELLED}),
    S.PICKING: frozenset({S.READY, S.SHIPPED, S.CANCELLED}),
    S.READY: frozenset({S.PICKED_UP, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.COMPLETED, S.RETURNED}),
    S.PICKED_UP: frozenset({S.COMPLETED, S.RETURNED}),
    S.COMPLETED: frozenset({S.RETURNED}),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
}
# Where the reserved units leave the shelf: handed over or shipped.
_HANDED_OVER = frozenset({S.SHIPPED, S.PICKED_UP})


@transaction.atomic
def check_transition(*, actor: Any, order: Order, to: str, reason: str = "", move_shipments: bool = True) -> Order:
    """Move the order on, if the rule allows it from where it is (TRANSITION_NOT_ALLOWED otherwise).

    Cancelling releases the reservations; shipping or a pick-up takes the reserved units off the
    shelf (sold); a take-away may go from new straight to completed at the counter. Its shipments not yet
    further along move with it (actions_shipments.do_follow_order; not when a shipment moved the order).
    """
    locked = Order.objects.select_for_update().get(pk=order.pk)
    allowed = TRANSITIONS.get(locked.status, frozenset())
    takeaway = (
        locked.fulfillment == Order.Fulfillment.TAKEAWAY
        and to == S.COMPLETED
        and locked.status
        in (
            S.NEW,
            S.CONFIRMED,
            S.PAID,
        )
    )
    if to not in S.values:
        raise ValidationFailed(f"Unknown status {to!r}.", field="to", code="STATUS_INVALID")
    if to not in allowed and not takeaway:
        raise TransitionNotAllowed(
            f"An order that is {locked.get_status_display()} cannot become {S(to).label}.", field="to"
        )
    if to == S.CANCELLED and not reason.strip() and actor is not None:
        raise ValidationFailed("Say why it is cancelled.", field="reason", code="REASON_REQUIRED")
    if move_shipments:
        actions_shipments.do_follow_order(actor=actor, order=locked, to=to, reason=reason)
    lines = list(locked.lines.select_related("reservation"))
    for line in lines:
        reservation = line.reservation
        if reservation is None or reservation.status != Reservation.Status.ACTIVE:
            continue
        if to == S.CANCELLED:
            inventory_actions.do_release(actor=actor, reservation=reservation, reason=f"order {locked.number}")
        elif to in _HANDED_OVER or takeaway:
            inventory_actions.check_consume(actor=actor, reservation=reservation, reference=f"order:{locked.number}")
    old = locked.status
    locked.status = to
    locked.save(update_fields=["status"])
    StatusChange.objects.create(
        order=locked, old=old, new=to, at=clock.now(), actor=getattr(actor, "audit_user", None), reason=reason[:300]
    )
    if to in (S.CANCELLED, S.RETURNED) and locked.customer is not None:
        customers_actions.do_record_order_reversal(
            customer=locked.customer, total=locked.total, cancelled=to == S.CANCELLED
        )
    publish_on_commit(OrderStatusChanged(order_id=locked.pk, old=old, new=to))
    order.refresh_from_db()
    return order


def allowed_transitions(order: Order) -> list[str]:
    """The statuses the order may move to from where it is, in the machine's order (what check_transition
    accepts: the table, plus a take-away completed at the counter)."""
    allowed = set(TRANSITIONS.get(order.status, frozenset()))
    if order.fulfillment == Order.Fulfillment.TAKEAWAY and order.status in (S.NEW, S.CONFIRMED, S.PAID):
        allowed.add(S.COMPLETED)
    if S.CANCELLED in allowed and order.shipments.filter(status__in=actions_shipments.HANDED_OVER_OR_DONE).exists():
        allowed.discard(S.CANCELLED)  # a part already left: a return, not a cancellation
    return [status for status in S.values if status in allowed]


@transaction.atomic
def check_clear_duplicate(*, actor: Any, order: Order) -> Order:
    """An operator confirmed the order is not a duplicate: the flag goes (a repeat changes nothing)."""
    Order.objects.filter(pk=order.pk).update(possible_duplicate_of=None)
    order.refresh_from_db()
    return order
