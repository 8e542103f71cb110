"""Periodic jobs: each registered task is enqueued once per interval, however many processes run.

django-tasks runs tasks but does not repeat them; this is the small piece that does. Every `omnia
serve` and `omnia worker` runs a Scheduler thread; the `ScheduledJob` row of each job is claimed with
one conditional UPDATE, so two processes never enqueue the same run twice, and a run missed while
nothing was running is enqueued once when something starts (not once per missed interval).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connections, transaction

from omnia.core import clock

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    interval: dt.timedelta
    enqueue: Callable[[], Any]


PERIODIC: dict[str, Periodic] = {}


def every(interval: dt.timedelta, task: Any, *, name: str = "") -> None:
    """Run the django-tasks `task` (no arguments) every `interval`. Call from an AppConfig.ready()."""
    job_name = name or f"{task.module_path}"
    PERIODIC[job_name] = Periodic(name=job_name, interval=interval, enqueue=task.enqueue)


def _claim(job: Periodic, now: dt.datetime) -> bool:
    from omnia.core.models import ScheduledJob

    claimed = ScheduledJob.objects.filter(name=job.name, next_run_at__lte=now).update(
        next_run_at=now + job.interval, last_run_at=now
    )
    if claimed:
        return True
    if ScheduledJob.objects.filter(name=job.name).exists():
        return False
    try:
        with transaction.atomic():
            ScheduledJob.objects.create(name=job.name, next_run_at=now + job.interval, last_run_at=now)
    except IntegrityError:
        return False  # another process created it first: its run, not ours
    return True


def enqueue_due(now: dt.datetime | None = None) -> list[str]:
    """Enqueue every job whose time has come; returns their names."""
    now = now or clock.now()
    started = []
    for job in list(PERIODIC.values()):
        with transaction.atomic():
            if not _claim(job, now):
                continue
            job.enqueue()  # the task row commits with the claim, or neither does
        started.append(job.name)
    return started


class Scheduler:
    """A daemon thread calling enqueue_due every few seconds until stopped."""

    def __init__(self, tick: float = 5.0) -> None:
        self.tick = tick
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="omnia-scheduler", daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    enqueue_due()
                except Exception:  # a database hiccup must not end the schedule
                    logger.exception("could not enqueue the periodic jobs")
                self._stop.wait(self.tick)
        finally:
            connections.close_all()

    def start(self) -> Scheduler:
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.thread.join(timeout)
