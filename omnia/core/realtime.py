"""Pushes to console pages over Django Channels groups; one group per topic."""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import Future
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

from omnia.core.events import RealtimeUpdate, subscribe

logger = logging.getLogger(__name__)
_TOPIC_RE = re.compile(r"^[a-z][a-z0-9_.:-]{0,90}$")
# The event loop of this process's ASGI server, once it has served something (see omnia.asgi).
_server_loop: asyncio.AbstractEventLoop | None = None


def serve_on(loop: asyncio.AbstractEventLoop | None) -> None:
    """Remember the server's event loop: broadcasts from background threads are sent on it."""
    global _server_loop
    _server_loop = loop


def _log_failure(future: Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("a realtime broadcast failed", exc_info=future.exception())


def group_name(topic: str) -> str:
    """Channels group names allow only [A-Za-z0-9_.-]; topics use ':' as a separator."""
    if not _TOPIC_RE.match(topic):
        raise ValueError(f"bad topic {topic!r}")
    return "topic." + topic.replace(":", ".")


def broadcast(topic: str, kind: str, data: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "topic.event", "topic": topic, "kind": kind, "data": data}
    loop = _server_loop
    if loop is not None and loop.is_running() and not _in_server_thread():
        # A background thread of a server process (the ingest thread, the task worker): hand the send
        # to the server's loop and go on. async_to_sync would start a thread and an event loop for
        # each send (and channels_redis a connection per loop), and the in-memory layer only wakes
        # consumers from the loop they run on.
        sent = asyncio.run_coroutine_threadsafe(layer.group_send(group_name(topic), message), loop)
        sent.add_done_callback(_log_failure)
        return
    async_to_sync(layer.group_send)(group_name(topic), message)


def _in_server_thread() -> bool:
    """A request's thread (async_to_sync already reaches the server's loop from there), or the loop's own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return getattr(SyncToAsync.threadlocal, "main_event_loop", None) is not None
    return True


def _on_realtime_update(event: RealtimeUpdate) -> None:
    broadcast(event.topic, event.kind, event.data)


def register() -> None:
    subscribe(RealtimeUpdate, _on_realtime_update)
