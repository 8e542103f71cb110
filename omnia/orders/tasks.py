"""Background entry points for orders. Idempotent: a Kaspi order is placed, accepted or told once."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from omnia.core import clock
from omnia.orders.kaspi import importer

PUSH_ATTEMPTS = 8


@task()
def poll_kaspi() -> dict[str, int]:
    """Import new Kaspi.kz orders of every active account and accept them there. Runs every minute."""
    return importer.poll_all()


@task()
def push_kaspi_status(order_id: int, attempt: int = 1) -> str:
    """Tell Kaspi.kz the new status of our order `order_id`; a transient failure is retried with backoff."""
    pushed = importer.push_status(order_id)
    if pushed.retry and attempt < PUSH_ATTEMPTS:
        retry_at = clock.now() + dt.timedelta(minutes=2**attempt)
        push_kaspi_status.using(run_after=retry_at).enqueue(order_id, attempt + 1)
        return f"{pushed.detail}; retry at {retry_at.isoformat()}"
    return pushed.detail
