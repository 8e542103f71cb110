"""The in-process event bus.

Services publish frozen dataclasses; subscribers run only after the surrounding transaction
commits, so nobody reacts to a state that was rolled back. Subscriptions are explicit calls
made from each app's ``handlers.py`` (imported by its AppConfig.ready), never Django signals.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import OperationalError, transaction

logger = logging.getLogger(__name__)

E = TypeVar("E")
Handler = Callable[[Any], None]

_subscribers: dict[type, list[Handler]] = defaultdict(list)


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    """Call `handler(event)` after commit for every published event of `event_type`."""
    if handler not in _subscribers[event_type]:
        _subscribers[event_type].append(handler)


# A subscriber that lost a deadlock or a serialisation race (PostgreSQL 40P01 / 40001), or found SQLite
# busy, is run again: subscribers are written to be idempotent, and the work was rolled back.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
RETRIES = 3


def _transient(exc: BaseException) -> bool:
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    return "database is locked" in str(exc)


def _run(handler: Handler, event: object) -> None:
    for attempt in range(1, RETRIES + 1):
        try:
            handler(event)
            return
        except Exception as exc:  # one broken subscriber must not stop the others
            if attempt < RETRIES and _transient(exc) and not transaction.get_connection().in_atomic_block:
                logger.info("event handler %r lost a race for %r (attempt %d), again", handler, event, attempt)
                time.sleep(0.05 * attempt)
                continue
            logger.exception("event handler %r failed for %r", handler, event)
            return


def _dispatch(event: object) -> None:
    for event_type in type(event).__mro__:
        for handler in list(_subscribers.get(event_type, ())):
            _run(handler, event)


def publish_on_commit(event: object) -> None:
    """Deliver `event` to its subscribers once the current transaction commits."""
    transaction.on_commit(lambda: _dispatch(event), robust=True)


@dataclass(frozen=True, slots=True)
class RealtimeUpdate:
    """Tell every console page subscribed to `topic` that something changed."""

    topic: str
    kind: str
    data: dict[str, Any]
