"""Background entry points for orders. Idempotent: a Kaspi or Satu order is placed, accepted or told once."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from omnia.core import clock
from omnia.orders.kaspi import importer
from omnia.orders.satu import importer as satu_importer

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


@task()
def poll_satu() -> dict[str, int]:
    """Import new Satu.kz orders of every active account and accept them there. Runs every minute."""
    return satu_importer.poll_all()


@task()
def push_satu_status(order_id: int, attempt: int = 1) -> str:
    """Tell Satu.kz the new status of our order `order_id`; a transient failure is retried with backoff."""
    pushed = satu_importer.push_status(order_id)
    if pushed.retry and attempt < PUSH_ATTEMPTS:
        retry_at = clock.now() + dt.timedelta(minutes=2**attempt)
        push_satu_status.using(run_after=retry_at).enqueue(order_id, attempt + 1)
        return f"{pushed.detail}; retry at {retry_at.isoformat()}"
    return pushed.detail
