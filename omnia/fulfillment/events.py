from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class ParcelStatusChanged:
    """A parcel moved (by the operator or the carrier's webhook): `old` → `new` (Parcel.Status values)."""

    parcel_id: int
    order_id: int
    old: str
    new: str


@dataclass(frozen=True)
class ParcelDelayed:
    """A parcel will be late: its expected date passed while still on its way, or a delivery attempt failed."""

    parcel_id: int
    order_id: int
    estimated_on: dt.date | None
    reason: str
