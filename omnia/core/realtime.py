"""Pushes to console pages over Django Channels groups; one group per topic."""

from __future__ import annotations

import re
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from omnia.core.events import RealtimeUpdate, subscribe

_TOPIC_RE = re.compile(r"^[a-z][a-z0-9_.:-]{0,90}$")


def group_name(topic: str) -> str:
    """Channels group names allow only [A-Za-z0-9_.-]; topics use ':' as a separator."""
    if not _TOPIC_RE.match(topic):
        raise ValueError(f"bad topic {topic!r}")
    return "topic." + topic.replace(":", ".")


def broadcast(topic: str, kind: str, data: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(
        group_name(topic), {"type": "topic.event", "topic": topic, "kind": kind, "data": data}
    )


def _on_realtime_update(event: RealtimeUpdate) -> None:
    broadcast(event.topic, event.kind, event.data)


def register() -> None:
    subscribe(RealtimeUpdate, _on_realtime_update)
