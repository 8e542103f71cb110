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
