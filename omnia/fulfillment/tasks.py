"""Background entry points for delivery. Idempotent: a parcel is reported late once."""

from __future__ import annotations

from django_tasks import task

from omnia.fulfillment import actions_parcels


@task()
def report_delayed_parcels() -> int:
    """Every 15 minutes: parcels past their expected date, still on their way, reported late (once each)."""
    return len(actions_parcels.do_report_delayed())
