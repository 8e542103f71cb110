from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OrderPlaced:
    order_id: int
    source: str
    customer_id: int | None


@dataclass(frozen=True)
class OrderStatusChanged:
    order_id: int
    old: str
    new: str


@dataclass(frozen=True)
class OrderPaid:
    """The order's paid payments now cover its total (`payment_id` brought them there)."""

    order_id: int
    payment_id: int


@dataclass(frozen=True)
class OrderReturned:
    """Units of the order came back: Return `return_id` was recorded (a full return also changes the status)."""

    order_id: int
    return_id: int


@dataclass(frozen=True)
class ShipmentMoved:
    """One location's part of an order moved on (`old` → `new`, orders.Shipment.Status values)."""

    shipment_id: int
    order_id: int
    old: str
    new: str
