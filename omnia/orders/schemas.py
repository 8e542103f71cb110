from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema

from omnia.orders.models import Order


class OrderLineOut(Schema):
    sku: str
    quantity: int
    unit_price: Decimal


class OrderOut(Schema):
    id: int
    number: str
    source: str
    status: str
    customer_id: int | None
    location: str | None
    total: Decimal
    currency: str
    placed_at: dt.datetime
    lines: list[OrderLineOut]

    @staticmethod
    def of(o: Order) -> OrderOut:
        return OrderOut(
            id=o.pk,
            number=o.number,
            source=o.source,
            status=o.status,
            customer_id=o.customer_id,
            location=o.location.code if o.location else None,
            total=o.total,
            currency=o.currency,
            placed_at=o.placed_at,
            lines=[
                OrderLineOut(sku=line.variant.sku, quantity=line.quantity, unit_price=line.unit_price)
                for line in o.lines.all()
            ],
        )
