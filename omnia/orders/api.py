"""Orders over REST: place (idempotent), read, list, move through the status machine, payments, returns.

Variants are named by SKU and locations by code. Reads need `orders:read`, changes `orders:write`.
Domain errors become the common error shape in omnia.api: SKU_NOT_FOUND / LOCATION_NOT_FOUND /
ORDER_NOT_FOUND / SHIPMENT_NOT_FOUND → 404, OUT_OF_STOCK / TRANSITION_NOT_ALLOWED / RETURN_NOT_ALLOWED → 409,
bad input → 422, each naming the field (lines[1].quantity); nothing is changed and no reservation is left behind.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest
from ninja import Header, Query, Router, Status

from omnia.catalog import queries as catalog_queries
from omnia.catalog.models import Variant
from omnia.conversations import queries as conversations_queries
from omnia.core.errors import ValidationFailed
from omnia.core.pagination import Page, paginate
from omnia.core.permissions import Section, actor_of, authorize
from omnia.inventory import queries as inventory_queries
from omnia.orders import actions, actions_payments, actions_returns, actions_shipments, queries
from omnia.orders.models import Order
from omnia.orders.schemas import (
    CancelIn,
    FulfillmentIn,
    NewPaymentIn,
    OrderDetailOut,
    OrderIn,
    OrderLineIn,
    OrderOut,
    PaymentOut,
    PaymentStatusIn,
    ReturnIn,
    ReturnOut,
    ShipmentTransitionIn,
    TransitionIn,
)

router = Router(tags=["orders"])


def _variants(lines: Sequence[OrderLineIn], *, field: str = "lines") -> list[Variant]:
    """The variant of each line, in order; SKU_NOT_FOUND names the line (lines[2].sku)."""
    found = catalog_queries.find_variants_by_sku((line.sku for line in lines), related=False)
    return [
        found.get(line.sku.strip()) or catalog_queries.get_variant_by_sku(line.sku, field=f"{field}[{index}].sku")
        for index, line in enumerate(lines)
    ]


def _fulfillment(payload: FulfillmentIn, *, field: str = "fulfillment") -> actions.FulfillmentIn:
    location = (
        inventory_queries.get_location(payload.location, field=f"{field}.location", active_only=True)
        if payload.location is not None and payload.location.strip()
        else None
    )
    return actions.FulfillmentIn(type=payload.type, location=location, address=dict(payload.address or {}))


def _key(header: str | None) -> str | None:
    key = (header or "").strip() or None
    if key is not None and len(key) > 100:
        raise ValidationFailed("An Idempotency-Key has at most 100 characters.", field="Idempotency-Key")
    return key


def _detail(order_id: int) -> OrderDetailOut:
    return OrderDetailOut.of(queries.get_order(order_id))


@router.post(
    "/orders",
    response={201: OrderDetailOut, 200: OrderDetailOut},
    summary="Place an order from any channel (idempotent)",
    description=(
        "201 with the order. The same `Idempotency-Key` header, or the same (`source`, `external_id`), "
        "answers 200 with the first order and places nothing. `customer` is `{id}` or `{phone, name?, email?}`. "
        "`fulfillment` is `{type: pickup, location}`, `{type: delivery, address: {city, line1, …}}` or "
        "`{type: takeaway, location}`. Not enough stock: 409 OUT_OF_STOCK naming `lines[i].quantity`; an unknown "
        "SKU: 404 SKU_NOT_FOUND naming `lines[i].sku`; an unknown location: 404 naming `fulfillment.location`; "
        "a quantity ≤ 0, a pick-up where none is offered, an unknown source or a payment above the total: 422."
    ),
)
def place_order(
    request: HttpRequest,
    payload: OrderIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status[OrderDetailOut]:
    actor = actor_of(request)
    authorize(actor, Section.ORDERS, write=True)
    key = _key(idempotency_key)
    variants = _variants(payload.lines)
    fulfillment = _fulfillment(payload.fulfillment)
    conversation = (
        conversations_queries.get_conversation(payload.conversation_id, field="conversation_id")
        if payload.conversation_id is not None
        else None
    )
    placed = actions.check_place_order(
        actor=actor,
        customer=actions.CustomerIn(
            id=payload.customer.id, phone=payload.customer.phone, name=payload.customer.name,
            email=payload.customer.email,
        ),
        source=payload.source,
        lines=[actions.LineIn(v, line.quantity) for v, line in zip(variants, payload.lines, strict=True)],
        fulfillment=fulfillment,
        external_id=payload.external_id,
        idempotency_key=key,
        payment=actions.PaymentIn(payload.payment.method, payload.payment.amount) if payload.payment else None,
        conversation=conversation,
        comment=payload.comment,
    )  # fmt: skip
    if placed.written is not None:  # new: answered from what was just written, without reading it back
        return Status(201, OrderDetailOut.of(placed.written))
    return Status(201 if placed.created else 200, _detail(placed.order.pk))


@router.get("/orders", response=Page[OrderOut], summary="The one order book, every channel")
def list_orders(
    request: HttpRequest,
    source: str = "",
    status: str = "",
    customer: int | None = None,
    customer_id: int | None = None,
    location: str = "",
    cursor: str | None = None,
    limit: int = Query(50),
) -> dict[str, object]:
    authorize(actor_of(request), Section.ORDERS)
    place = inventory_queries.get_location(location) if location.strip() else None
    qs = queries.list_orders(
        source=source, status=status, customer_id=customer or customer_id, location_id=place.pk if place else None
    )
    return paginate(qs, cursor=cursor, limit=limit, serialize=OrderOut.of)


@router.get("/orders/{order_id}", response=OrderDetailOut, summary="An order with its lines, payments and history")
def get_order(request: HttpRequest, order_id: int) -> OrderDetailOut:
    authorize(actor_of(request), Section.ORDERS)
    return _detail(order_id)


@router.post(
    "/orders/{order_id}/transitions",
    response=OrderDetailOut,
    summary="Move the order on: confirmed, paid, picking, ready, shipped, delivered, picked_up, completed, cancelled",
    description=(
        "Answers the order. A move the rules do not allow from the current status: 409 TRANSITION_NOT_ALLOWED; "
        "cancelling needs a `reason` and releases the reservations."
    ),
)
def transition(request: HttpRequest, order_id: int, payload: TransitionIn) -> OrderDetailOut:
    actor = actor_of(request)
    authorize(actor, Section.ORDERS, write=True)
    order = queries.get_order(order_id)
    actions.check_transition(actor=actor, order=order, to=payload.to, reason=payload.reason)
    return _detail(order.pk)


@router.post(
    "/orders/{order_id}/shipments/{shipment_id}/transitions",
    response=OrderDetailOut,
    summary="Move one location's part on: picking, ready, shipped, delivered, picked_up",
    description=(
        "Answers the order. A shipment moves pending → picking → ready | shipped; ready → picked_up; "
        "shipped → delivered; shipping or handing it out takes only its own lines' units off the shelf. The order "
        "follows when all its parts have come that far (the first picked: the order is picking). Another move, a "
        "new or closed order: 409 TRANSITION_NOT_ALLOWED; a shipment is cancelled only with its order; an unknown "
        "shipment: 404 SHIPMENT_NOT_FOUND."
    ),
)
def shipment_transition(
    request: HttpRequest, order_id: int, shipment_id: int, payload: ShipmentTransitionIn
) -> OrderDetailOut:
    actor = actor_of(request)
    authorize(actor, Section.ORDERS, write=True)
    order = queries.get_order(order_id)
    shipment = queries.get_shipment(order, shipment_id)
    actions_shipments.check_move_shipment(actor=actor, shipment=shipment, to=payload.to, reason=payload.reason)
    return _detail(order.pk)


@router.post(
    "/orders/{order_id}/cancel",
    response=OrderDetailOut,
    summary="Cancel the order (a reason is required); its reservations are released",
    description="The same as a transition to cancelled: once shipped or handed over, 409 TRANSITION_NOT_ALLOWED.",
)
def cancel(request: HttpRequest, order_id: int, payload: CancelIn) -> OrderDetailOut:
    actor = actor_of(request)
    authorize(actor, Section.ORDERS, write=True)
    order = queries.get_order(order_id)
    actions.check_transition(actor=actor, order=order, to=Order.Status.CANCELLED, reason=payload.reason)
    return _detail(order.pk)


@router.post(
    "/orders/{order_id}/payments",
    response={201: PaymentOut},
    summary="Record a payment (pending or paid)",
    description="What is paid may not exceed the total: 422 PAYMENT_TOO_LARGE. A cancelled or returned order: 409.",
)
def add_payment(request: HttpRequest, order_id: int, payload: NewPaymentIn) -> Status[PaymentOut]:
    actor = actor_of(request)
    authorize(actor, Section.ORDERS, write=True)
    order = queries.get_order(order_id)
    payment = actions_payments.check_add_payment(
        actor=actor, order=order, method=payload.method, amount=payload.amount, reference=payload.reference,
        status=payload.status,
    )  # fmt: skip
    return Status(201, PaymentOut.of(payment))


@router.post(
    "/orders/{order_id}/payments/{payment_id}/status",
    response=PaymentOut,
    summary="Mark a payment paid or failed (from pending) or refunded (from paid)",
    description="Another move: 409 PAYMENT_TRANSITION_NOT_ALLOWED; paid past the total: 422 PAYMENT_TOO_LARGE.",
)
def set_payment_status(request: HttpRequest, order_id: int, payment_id: int, payload: PaymentStatusIn) -> PaymentOut:
    actor = actor_of(request)
    authorize(actor, Section.ORDERS, write=True)
    payment = queries.get_payment(queries.get_order(order_id), payment_id)
    payment = actions_payments.check_set_payment_status(
        actor=actor, payment=payment, status=payload.status, reference=payload.reference
    )
    return PaymentOut.of(payment)


@router.post(
    "/orders/{order_id}/returns",
    response={201: ReturnOut, 200: ReturnOut},
    summary="Take units of a handed-over order back at any location that accepts returns (refund, exchange)",
    description=(
        "The units go back on hand at `location` (ledger kind return, reference order:<number>). More than was "
        "bought less earlier returns: 422 RETURN_TOO_MANY naming the line; a location that takes no returns: "
        "422 RETURNS_NOT_ACCEPTED; an order not yet handed over: 409 RETURN_NOT_ALLOWED. `refund` is recorded as a "
        "refunded payment (at most the value returned: 422 REFUND_TOO_LARGE). `exchange` places a new order for "
        "the customer in the same step, linked as `replacement_id`. When everything is back the order is returned. "
        "Send an `Idempotency-Key` header to retry safely: a repeat answers 200 with the first return."
    ),
)
def take_return(
    request: HttpRequest,
    order_id: int,
    payload: ReturnIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status[ReturnOut]:
    actor = actor_of(request)
    authorize(actor, Section.ORDERS, write=True)
    key = _key(idempotency_key)
    order = queries.get_order(order_id)
    location = inventory_queries.get_location(payload.location)
    variants = _variants(payload.lines)
    refund = (
        actions_returns.RefundIn(payload.refund.method, payload.refund.amount, payload.refund.reference)
        if payload.refund
        else None
    )
    exchange = None
    if payload.exchange is not None:
        new_variants = _variants(payload.exchange.lines, field="exchange.lines")
        exchange = actions_returns.ExchangeIn(
            lines=[
                actions.LineIn(v, line.quantity) for v, line in zip(new_variants, payload.exchange.lines, strict=True)
            ],
            fulfillment=_fulfillment(payload.exchange.fulfillment, field="exchange.fulfillment")
            if payload.exchange.fulfillment
            else None,
            source=payload.exchange.source,
        )
    returned = actions_returns.check_return(
        actor=actor,
        order=order,
        location=location,
        lines=[actions_returns.ReturnLineIn(v, line.quantity) for v, line in zip(variants, payload.lines, strict=True)],
        reason=payload.reason,
        refund=refund,
        exchange=exchange,
        idempotency_key=key,
    )
    record = next(r for r in queries.get_order(order.pk).returns.all() if r.pk == returned.record.pk)
    return Status(201 if returned.created else 200, ReturnOut.of(record))
