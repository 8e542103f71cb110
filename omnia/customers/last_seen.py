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
FLUSH_CHUNK = 1000  # handles per UPDATE on PostgreSQL

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
    table, column = quote(Identity._meta.db_table), quote("last_seen_at")
    field = Identity._meta.get_field("last_seen_at")
    # One order for every writer (no deadlocks between processes), and only ever forward.
    rows = [(identity_id, field.get_db_prep_save(at, connection)) for identity_id, at in sorted(batch.items())]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for start in range(0, len(rows), FLUSH_CHUNK):  # one statement per chunk: one round trip
                chunk = rows[start : start + FLUSH_CHUNK]
                values = ", ".join(["(%s::bigint, %s::timestamptz)"] * len(chunk))
                cursor.execute(
                    f"UPDATE {table} AS i SET {column} = v.at FROM (VALUES {values}) AS v(id, at) "  # noqa: S608
                    f"WHERE i.{quote('id')} = v.id AND i.{column} < v.at",
                    [value for row in chunk for value in row],
                )
        else:
            sql = f"UPDATE {table} SET {column} = %s WHERE {quote('id')} = %s AND {column} < %s"  # noqa: S608
            cursor.executemany(sql, [(at, identity_id, at) for identity_id, at in rows])
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
