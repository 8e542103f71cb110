"""The one source of time: tests freeze it with time-machine, code never calls datetime.now()."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    """The current aware time (UTC)."""
    return timezone.now()


def local_now() -> dt.datetime:
    """The current time in the shop's time zone (Asia/Almaty by default)."""
    return timezone.localtime(timezone.now())


def today() -> dt.date:
    """Today's date in the shop's time zone."""
    return local_now().date()
