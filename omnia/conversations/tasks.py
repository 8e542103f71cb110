"""Background entry points for conversations. Idempotent: safe to run again at any time."""

from __future__ import annotations

from django_tasks import task

from omnia.conversations import actions, routing
from omnia.core import clock


@task()
def record_sla_breaches() -> dict[str, int]:
    """Mark open conversations whose first response is overdue (once per target). Runs every 30 s."""
    return {"breached": routing.record_sla_breaches(now=clock.now())}


@task()
def wake_snoozed() -> dict[str, int]:
    """Open the snoozed conversations whose time has come. Runs every 30 s."""
    return {"woken": actions.do_wake_snoozed(now=clock.now())}
