"""What an event says: `{"id", "type", "created_at", "data"}`, with `data.order` in exactly the shape
`GET /api/v1/orders/{id}` answers (the orders API's own schema and JSON encoder are reused)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from ninja.responses import NinjaJSONEncoder

from omnia.orders import queries as orders_queries
from omnia.orders.models import Payment
from omnia.orders.schemas import OrderDetailOut, PaymentOut


def as_json(value: Any) -> Any:
    """`value` (schemas, Decimals, datetimes) as the API writes it: plain JSON types."""
    return json.loads(json.dumps(value, cls=NinjaJSONEncoder))


def order_json(order_id: int) -> dict[str, Any] | None:
    """The order as the API shows it, or None if it is gone."""
    try:
        order = orders_queries.get_order(order_id)
    except orders_queries.OrderNotFound:
        return None
    return dict(as_json(OrderDetailOut.of(order).model_dump()))


def payment_json(payment_id: int) -> dict[str, Any] | None:
    payment = Payment.objects.filter(pk=payment_id).first()
    return dict(as_json(PaymentOut.of(payment).model_dump())) if payment else None


def return_json(order: dict[str, Any], return_id: int) -> dict[str, Any] | None:
    """The return as listed in the order's `returns`."""
    return next((r for r in order.get("returns", []) if r.get("id") == return_id), None)


def envelope(*, event_id: uuid.UUID, event_type: str, at: dt.datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(event_id), "type": event_type, "created_at": as_json(at), "data": data}


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
