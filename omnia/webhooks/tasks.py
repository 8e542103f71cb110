"""Background entry points for webhooks. Idempotent: a delivery already sent (or being sent) is not sent again."""

from __future__ import annotations

from django_tasks import task

from omnia.webhooks import actions, sending


@task()
def send_delivery(delivery_id: int) -> str:
    """One attempt of a delivery; a failure schedules the next attempt (backoff) as a new task."""
    retry_at = sending.attempt(delivery_id)
    if retry_at is not None:
        send_delivery.using(run_after=retry_at).enqueue(delivery_id)
        return f"retry at {retry_at.isoformat()}"
    return "done"


@task()
def send_overdue() -> int:
    """Every minute: deliveries whose task was lost (a crash between commit and enqueue, a restart) get a new one."""
    ids = actions.do_requeue_overdue()
    for delivery_id in ids:
        send_delivery.enqueue(delivery_id)
    return len(ids)


@task()
def prune_deliveries() -> int:
    """Daily: forget finished deliveries older than 30 days."""
    return actions.do_prune()
