from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import Field

from omnia.orders.models import Order, OrderLine, Payment, Return, Shipment, StatusChange

# --- input ---------------------------------------------------------------------------------------------


CENT = Decimal("0.01")


def money(amount: Decimal) -> Decimal:
    """An amount as the database keeps it (two decimal places), whether read back or just computed."""
    return Decimal(amount).quantize(CENT)


class CustomerRefIn(Schema):
    """An existing card by `id`, or a person by `phone` (found or created; `name` and `email` added)."""

    id: int | None = None
    phone: str = Field("", max_length=40)
    name: str = Field("", max_length=200)
    email: str = Field("", max_length=254)


class OrderLineIn(Schema):
    sku: str = Field(max_length=64)
    quantity: int


class FulfillmentIn(Schema):
    type: str = Field(description="pickup (at `location`), delivery (to `address`) or takeaway (in store `location`)")
    location: str | None = Field(None, description="The location's code")
    address: dict[str, Any] = Field(default_factory=dict, description='{"city", "line1", …}')


class PaymentIn(Schema):
    method: str
    amount: Decimal


class OrderIn(Schema):
    customer: CustomerRefIn
    source: str
    external_id: str = Field("", max_length=100)
    lines: list[OrderLineIn]
    fulfillment: FulfillmentIn
    payment: PaymentIn | None = None
    comment: str = Field("", max_length=2000)
    conversation_id: int | None = None


class ShipmentTransitionIn(Schema):
    to: str = Field(description="picking, ready, shipped, delivered or picked_up")
    reason: str = Field("", max_length=300)


class TransitionIn(Schema):
    to: str
    reason: str = Field("", max_length=300)


class CancelIn(Schema):
    reason: str = Field(max_length=300)


class NewPaymentIn(Schema):
    method: str
    amount: Decimal
    reference: str = Field("", max_length=100)
    status: str = Field("pending", description="pending or paid")


class PaymentStatusIn(Schema):
    status: str = Field(description="paid or failed (a pending payment), refunded (a paid one)")
    reference: str | None = Field(None, max_length=100)


class RefundIn(Schema):
    method: str
    amount: Decimal
    reference: str = Field("", max_length=100)


class ExchangeIn(Schema):
    lines: list[OrderLineIn]
    fulfillment: FulfillmentIn | None = Field(None, description="Take-away at the return location when left out")
    source: str = Field("", description="The returned order's source when left out")


class ReturnIn(Schema):
    location: str = Field(description="Code of the location taking the units back (any that accepts returns)")
    lines: list[OrderLineIn]
    reason: str = Field(max_length=300)
    refund: RefundIn | None = None
    exchange: ExchangeIn | None = Field(None, description="Place a new order for the customer in the same step")


# --- output --------------------------------------------------------------------------------------------


class OrderLineOut(Schema):
    sku: str
    quantity: int
    unit_price: Decimal
    location: str | None = Field(description="The code of the location it is sourced from")

    @staticmethod
    def of(line: OrderLine) -> OrderLineOut:
        return OrderLineOut(
            sku=line.variant.sku,
            quantity=line.quantity,
            unit_price=money(line.unit_price),
            location=line.location.code if line.location else None,
        )


class ShipmentOut(Schema):
    id: int
    location: str = Field(description="The code of the location this part is sourced from")
    status: str = Field(description="pending, picking, ready, shipped, delivered, picked_up or cancelled")
    lines: list[str] = Field(description="The SKUs of the order's lines in this part")

    @staticmethod
    def of(s: Shipment, lines: list[OrderLine]) -> ShipmentOut:
        return ShipmentOut(
            id=s.pk,
            location=s.location.code,
            status=s.status,
            lines=[line.variant.sku for line in lines if line.location_id == s.location_id],
        )


class FulfillmentOut(Schema):
    type: str
    location: str | None
    address: dict[str, Any]


class PaymentOut(Schema):
    id: int
    method: str
    amount: Decimal
    status: str
    reference: str
    created_at: dt.datetime

    @staticmethod
    def of(p: Payment) -> PaymentOut:
        return PaymentOut(
            id=p.pk,
            method=p.method,
            amount=money(p.amount),
            status=p.status,
            reference=p.reference,
            created_at=p.created_at,
        )


class OrderOut(Schema):
    id: int
    number: str
    status: str
    source: str
    external_id: str
    customer_id: int | None
    lines: list[OrderLineOut]
    total: Decimal
    delivery_price: Decimal = Field(description="The chosen delivery's price, included in the total")
    currency: str
    location: str | None = Field(description="Where it was sold or is handed out (pick-up, take-away)")
    fulfillment: FulfillmentOut
    payments: list[PaymentOut]
    comment: str
    conversation_id: int | None
    possible_duplicate_of: int | None = Field(description="Another order this one may repeat: confirm or merge")
    placed_at: dt.datetime
    shipments: list[ShipmentOut] = Field(description="Each sourcing location's part, moving on its own")

    @staticmethod
    def of(o: Order) -> OrderOut:
        return OrderOut(**OrderOut.fields_of(o))

    @staticmethod
    def fields_of(o: Order) -> dict[str, Any]:
        location = o.location.code if o.location else None
        lines = list(o.lines.all())
        return {
            "id": o.pk,
            "number": o.number,
            "status": o.status,
            "source": o.source,
            "external_id": o.external_id,
            "customer_id": o.customer_id,
            "lines": [OrderLineOut.of(line) for line in lines],
            "total": money(o.total),
            "delivery_price": money(o.delivery_price),
            "currency": o.currency,
            "location": location,
            "fulfillment": FulfillmentOut(type=o.fulfillment, location=location, address=o.delivery_address or {}),
            "payments": [PaymentOut.of(p) for p in o.payments.all()],
            "comment": o.comment,
            "conversation_id": o.conversation_id,
            "possible_duplicate_of": o.possible_duplicate_of_id,
            "placed_at": o.placed_at,
            "shipments": [ShipmentOut.of(s, lines) for s in o.shipments.all()],
        }


class StatusChangeOut(Schema):
    old: str
    new: str
    at: dt.datetime
    actor: str | None
    reason: str

    @staticmethod
    def of(c: StatusChange) -> StatusChangeOut:
        return StatusChangeOut(old=c.old, new=c.new, at=c.at, actor=c.actor.email if c.actor else None, reason=c.reason)


class ReturnLineOut(Schema):
    sku: str
    quantity: int


class ReturnOut(Schema):
    id: int
    order_id: int
    location: str
    reason: str
    at: dt.datetime
    lines: list[ReturnLineOut]
    refund: PaymentOut | None
    replacement_id: int | None = Field(description="The new order of an exchange")

    @staticmethod
    def of(r: Return) -> ReturnOut:
        return ReturnOut(
            id=r.pk,
            order_id=r.order_id,
            location=r.location.code,
            reason=r.reason,
            at=r.at,
            lines=[ReturnLineOut(sku=line.order_line.variant.sku, quantity=line.quantity) for line in r.lines.all()],
            refund=PaymentOut.of(r.refund) if r.refund else None,
            replacement_id=r.replacement_id,
        )


class OrderDetailOut(OrderOut):
    history: list[StatusChangeOut]
    returns: list[ReturnOut]

    @staticmethod
    def of(o: Order) -> OrderDetailOut:
        return OrderDetailOut(
            **OrderOut.fields_of(o),
            history=[StatusChangeOut.of(c) for c in o.history.all()],
            returns=[ReturnOut.of(r) for r in o.returns.all()],
        )
