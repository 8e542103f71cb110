from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeliveriesQueued:
    """Deliveries committed and due now: their sending tasks are enqueued (handlers.py)."""

    delivery_ids: tuple[int, ...]
