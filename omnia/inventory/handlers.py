"""Inventory reacts to its own events after commit: a stock change makes the marketplace feeds stale."""

from __future__ import annotations

from omnia.core.events import subscribe
from omnia.inventory import feeds
from omnia.inventory.events import StockChanged


def _feeds_are_stale(event: StockChanged) -> None:
    feeds.do_mark_stale()


def register() -> None:
    subscribe(StockChanged, _feeds_are_stale)
