"""Background entry points for stock. Idempotent: safe to run again at any time."""

from __future__ import annotations

import logging

from django_tasks import task

from omnia.core import clock
from omnia.inventory import actions, feeds, queries

logger = logging.getLogger(__name__)


@task()
def check_stock_integrity() -> int:
    """Log every stock level whose on-hand differs from its ledger; return how many drifted."""
    drift = queries.list_stock_drift()
    for row in drift:
        logger.error("stock drift: %s", row)
    return len(drift)


@task()
def release_expired_holds() -> int:
    """Release the reservations whose hold ran out. Runs every minute."""
    return actions.do_release_expired(now=clock.now())


@task()
def build_stale_feeds() -> int:
    """Rebuild the marketplace feeds that stock changes made stale. Runs every minute."""
    return feeds.do_build_stale()
