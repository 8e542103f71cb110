"""Broadcasts from a server process's background threads go out on the server's own event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer, channel_layers

from omnia.core import realtime

SENT_ON: list[asyncio.AbstractEventLoop] = []


class RecordingLayer(InMemoryChannelLayer):
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        SENT_ON.append(asyncio.get_running_loop())
        await super().group_send(group, message)


@pytest.fixture
def server_loop(settings: Any) -> Iterator[asyncio.AbstractEventLoop]:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.core.test_realtime_threads.RecordingLayer"}}
    channel_layers.backends.pop("default", None)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    realtime.serve_on(None)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()
    channel_layers.backends.pop("default", None)
    SENT_ON.clear()


def test_a_broadcast_from_a_background_thread_reaches_a_socket_through_the_servers_loop(
    server_loop: asyncio.AbstractEventLoop,
) -> None:
    layer = channel_layers["default"]

    async def subscribe() -> str:
        name = await layer.new_channel()
        await layer.group_add(realtime.group_name("inbox"), name)
        return str(name)

    name = asyncio.run_coroutine_threadsafe(subscribe(), server_loop).result(5)
    received = asyncio.run_coroutine_threadsafe(layer.receive(name), server_loop)
    realtime.serve_on(server_loop)  # what omnia.asgi does on the first request

    worker = threading.Thread(target=realtime.broadcast, args=("inbox", "message.received", {"message_id": 7}))
    worker.start()
    worker.join(5)

    assert received.result(10) == {
        "type": "topic.event",
        "topic": "inbox",
        "kind": "message.received",
        "data": {"message_id": 7},
    }
    assert SENT_ON[:] == [server_loop]


def test_without_a_server_loop_a_broadcast_still_goes_out(server_loop: asyncio.AbstractEventLoop) -> None:
    realtime.broadcast("inbox", "message.received", {"message_id": 8})

    assert len(SENT_ON) == 1
    assert SENT_ON[0] is not server_loop
