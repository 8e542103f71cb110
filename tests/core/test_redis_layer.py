"""With OMNIA_REDIS_URL, console updates cross processes through a real Redis (channels-redis)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from django.test import override_settings

from omnia.core.realtime import broadcast, group_name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: `make test` installs it (scripts/ensure-system-packages)"
    port = _free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_an_update_broadcast_by_one_process_reaches_a_socket_served_by_another(redis_url: str) -> None:
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}}
    with override_settings(CHANNEL_LAYERS=layers):
        channel_layers.backends.clear()
        try:
            receiver = get_channel_layer()  # the web process holding the operator's socket

            async def subscribe() -> str:
                name = await receiver.new_channel()
                await receiver.group_add(group_name("orders"), name)
                return str(name)

            channel = async_to_sync(subscribe)()
            # Another process: its own layer instance, same Redis.
            channel_layers.backends.clear()
            broadcast("orders", "order.placed", {"number": "A-1"})

            async def receive() -> dict[str, Any]:
                return dict(await receiver.receive(channel))

            message = async_to_sync(receive)()
        finally:
            channel_layers.backends.clear()

    assert message == {"type": "topic.event", "topic": "orders", "kind": "order.placed", "data": {"number": "A-1"}}
