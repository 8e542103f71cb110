"""The in-process event bus.

Services publish frozen dataclasses; subscribers run only after the surrounding transaction
commits, so nobody reacts to a state that was rolled back. Subscriptions are explicit calls
made from each app's ``handlers.py`` (imported by its AppConfig.ready), never Django signals.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction

logger = logging.getLogger(__name__)

E = TypeVar("E")
Handler = Callable[[Any], None]

_subscribers: dict[type, list[Handler]] = defaultdict(list)


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    """Call `handler(event)` after commit for every published event of `event_type`."""
    if handler not in _subscribers[event_type]:
        _subscribers[event_type].append(handler)


def _dispatch(event: object) -> None:
    for event_type in type(event).__mro__:
        for handler in list(_subscribers.get(event_type, ())):
            try:
                handler(event)
            except Exception:  # one broken subscriber must not stop the others
                logger.exception("event handler %r failed for %r", handler, event)


def publish_on_commit(event: object) -> None:
    """Deliver `event` to its subscribers once the current transaction commits."""
    transaction.on_commit(lambda: _dispatch(event), robust=True)


@dataclass(frozen=True, slots=True)
class RealtimeUpdate:
    """Tell every console page subscribed to `topic` that something changed."""

    topic: str
    kind: str
    data: dict[str, Any]
