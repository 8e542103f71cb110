"""Last-seen, written in batches off the request path (under `omnia serve` and `omnia worker`).

A returning customer's handle gets its last-seen moved at most hourly. Inline that is one UPDATE on the
path of the message that brought them back; buffered (`OMNIA_LAST_SEEN_BUFFER`, on in the server) the
resolution notes it here and a thread of the process writes every noted handle about once a second in
one transaction. Last-seen is informational (the contacts themselves are on the timeline): a process
that dies loses at most the last second of it, never a message."""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import time

from django.db import connections, transaction

from omnia.customers.models import Identity

logger = logging.getLogger(__name__)

FLUSH_EVERY = 1.0  # seconds

_pending: dict[int, dt.datetime] = {}
_lock = threading.Lock()
_thread: threading.Thread | None = None
AUTOSTART = True  # the writer thread starts with the first note (tests call flush themselves instead)


def note(identity_id: int, at: dt.datetime) -> None:
    """Remember that the handle was seen at `at`; the writer thread stores it shortly."""
    global _thread
    with _lock:
        seen = _pending.get(identity_id)
        if seen is None or at > seen:
            _pending[identity_id] = at
        if AUTOSTART and (_thread is None or not _thread.is_alive()):
            _thread = threading.Thread(target=_run, name="omnia-last-seen", daemon=True)
            _thread.start()


def flush() -> int:
    """Write every noted last-seen (only ever forward); how many handles were written."""
    with _lock:
        batch = dict(_pending)
        _pending.clear()
    if not batch:
        return 0
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} = %s WHERE {} = %s AND {} < %s".format(  # noqa: S608 - model names only
        quote(Identity._meta.db_table), quote("last_seen_at"), quote("id"), quote("last_seen_at")
    )
    field = Identity._meta.get_field("last_seen_at")
    rows = []
    for identity_id, at in sorted(batch.items()):  # one order for everyone: no deadlocks between writers
        value = field.get_db_prep_save(at, connection)
        rows.append((value, identity_id, value))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return len(rows)


def _run() -> None:
    while True:
        time.sleep(FLUSH_EVERY)
        try:
            flush()
        except Exception:  # the database is away: what was taken out is lost (informational), go on
            logger.exception("writing last-seen failed")
        finally:
            connections.close_all()


atexit.register(lambda: _pending and flush())
