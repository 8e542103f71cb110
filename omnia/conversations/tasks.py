"""Background entry points for conversations. Idempotent: safe to run again at any time."""

from __future__ import annotations

from django_tasks import task

from omnia.conversations import routing
from omnia.core import clock


@task()
def record_sla_breaches() -> dict[str, int]:
    """Mark open conversations whose first response is overdue (once per target).

    Meant to run every minute; the project has no periodic scheduler yet, so whoever adds one
    (or a cron line running `enqueue`) should schedule this task.
    """
    return {"breached": routing.record_sla_breaches(now=clock.now())}
