"""The ingest thread of a server process: applies the webhook events `accept_webhook` stored.

The webhook view stores an event, answers, and wakes this thread; the thread applies everything
waiting (`ingest.apply_pending`, a batch per transaction) and sleeps until woken again. It also looks
every few seconds, so events stored by a process that died before applying them are not left behind
(the periodic `apply_waiting_events` task does the same from the worker). One thread per process,
started on the first deferred webhook.
"""

from __future__ import annotations

import logging
import threading

from django.db import connections

from omnia.channels import ingest

logger = logging.getLogger(__name__)

LOOK_EVERY = 5.0  # seconds: the thread's own look at the backlog when nobody wakes it


class IngestProcessor:
    def __init__(self) -> None:
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def wake(self) -> None:
        """There is something to apply: start the thread if it is not running, and wake it."""
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
