from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StockChanged:
    """On-hand, reserved or in-transit changed for these (variant, location) pairs (after commit)."""

    pairs: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class BackInStock:
    """A variant became available at a location where none was available (back-in-stock notices)."""

    variant_id: int
    location_id: int
    available: int
