"""What the marketplace imports (Kaspi.kz, Satu.kz) share: the poll's tally, the status push's outcome,
reading loose JSON values, and polling every account once at a time under a lease."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Q

from omnia.core import clock

logger = logging.getLogger(__name__)

# A poll holds its account this long at the most: one that died is taken over after it.
LEASE = dt.timedelta(minutes=10)


@dataclass
class PollResult:
    imported: int = 0
    accepted: int = 0
    cancelled: int = 0
    failed: int = 0
    to_retry: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "imported": self.imported,
            "accepted": self.accepted,
            "cancelled": self.cancelled,
            "failed": self.failed,
            "to_retry": self.to_retry,
        }


@dataclass(frozen=True)
class Pushed:
    """What telling the marketplace our new status came to; `retry` when worth trying again."""

    detail: str
    retry: bool = False


def text(value: Any) -> str:
    """A JSON string or number as stripped text; anything else (booleans, objects, null) as ""."""
    return str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""


def poll_all(
    accounts: models.QuerySet[Any],
    poll_account: Callable[..., PollResult],
    *,
    lease: dt.timedelta = LEASE,
    name: str,
) -> dict[str, int]:
    """Poll every account of `accounts`, each on its own (one failing never stops the others) and by
    one poll at a time (a slow poll still running when the next is due keeps the account)."""
    model = accounts.model
    totals: dict[str, int] = {}
    for account in accounts.order_by("pk"):
        now = clock.now()
        free = Q(polling_since__isnull=True) | Q(polling_since__lt=now - lease)
        if not model.objects.filter(free, pk=account.pk).update(polling_since=now):
            continue
        try:
            counts = poll_account(account, now=now).as_dict()
        except Exception:
            logger.exception("%s %s: the poll failed", name, account.name)
            model.objects.filter(pk=account.pk).update(last_error="the poll failed: see the log")
            continue
        finally:
            model.objects.filter(pk=account.pk, polling_since=now).update(polling_since=None)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals
