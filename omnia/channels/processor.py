"""Applying the webhook events `accept_webhook` stored, after their answer.

`omnia serve` runs one applier process beside its HTTP processes (`run_applier`, started by the CLI,
at a lower CPU priority so answering webhooks and pages comes first): it looks for waiting events
every few milliseconds while there are some and applies them in batches (`ingest.apply_pending`).
Without that process (a server started otherwise) the webhook view wakes an ingest thread of its
own process instead (`processor.wake`). Events a dead process left waiting are applied by the
periodic `apply_waiting_events` task.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time

from django.db import connections

from omnia.channels import ingest
from omnia.core import realtime

logger = logging.getLogger(__name__)

LOOK_EVERY = 5.0  # seconds: the thread's own look at the backlog when nobody wakes it
APPLIER_IDLE_LOOK = 0.05  # seconds between the applier process's looks while nothing waits
# Set by `omnia serve` for its processes when an applier process runs: the view then wakes nothing.
APPLIER_ENV = "OMNIA_INGEST_APPLIER_PROCESS"


class IngestProcessor:
    def __init__(self) -> None:
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def wake(self) -> None:
        """There is something to apply: start the thread if it is not running, and wake it (unless
        the server's applier process takes care of it)."""
        if os.environ.get(APPLIER_ENV):
            return
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._stopping = False
                    self._thread = threading.Thread(target=self._run, name="omnia-ingest", daemon=True)
                    self._thread.start()
        self._wake.set()

    def drain(self) -> int:
        """Apply everything waiting now; the number of events applied."""
        applied = 0
        try:
            while taken := ingest.apply_pending():
                applied += taken
        finally:
            connections.close_all()  # back to the pool (or closed): this thread may sleep a while
        return applied

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand and end the thread (it starts again on the next wake)."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._wake.set()
        thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait(timeout=LOOK_EVERY)
            self._wake.clear()
            if self._stopping:
                connections.close_all()
                return
            try:
                self.drain()
            except Exception:  # a database outage: keep the thread, the events wait in the table
                logger.exception("applying inbound events failed; retrying in %s s", LOOK_EVERY)


processor = IngestProcessor()


def _event_loop_thread() -> asyncio.AbstractEventLoop:
    """An event loop of this process's own, running in a daemon thread, for realtime broadcasts.

    The applier serves no HTTP, so it has no server loop: without one, each broadcast would start a
    thread and an event loop of its own (and the Redis channel layer a connection per loop)."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="omnia-ingest-broadcasts", daemon=True).start()
    return loop


def run_applier(stop: threading.Event | None = None) -> None:
    """The applier process's loop: apply what waits, look again shortly, until `stop` (or forever)."""
    realtime.serve_on(_event_loop_thread())
    idle = IngestProcessor()
    while stop is None or not stop.is_set():
        try:
            applied = idle.drain()
        except Exception:  # a database outage: the events wait in the table
            logger.exception("applying inbound events failed; retrying in %s s", LOOK_EVERY)
            time.sleep(LOOK_EVERY)
            continue
        if not applied:
            time.sleep(APPLIER_IDLE_LOOK)
