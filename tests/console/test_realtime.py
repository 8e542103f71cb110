"""The console WebSocket: only for logged-in users, only topics their role may see."""

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from omnia.console.routing import websocket_urlpatterns
from omnia.core.events import RealtimeUpdate, publish_on_commit
from omnia.core.permissions import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def connect_as(user: Any) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/console/")
    communicator.scope["user"] = user
    return communicator


def test_anonymous_sockets_are_closed() -> None:
    async def scenario() -> tuple[bool, Any]:
        communicator = connect_as(AnonymousUser())
        connected, code = await communicator.connect()
        return connected, code

    connected, code = async_to_sync(scenario)()

    assert not connected
    assert code == 4401


def test_a_subscriber_receives_updates_published_after_commit_for_its_topics_only() -> None:
    operator = make_user(Role.OPERATOR)

    async def scenario() -> list[dict[str, Any]]:
        communicator = connect_as(operator)
        connected, _ = await communicator.connect()
        assert connected
        received = [await communicator.receive_json_from()]
        await communicator.send_json_to({"type": "subscribe", "topics": ["orders", "analytics", "bad topic!"]})
        received.append(await communicator.receive_json_from())
        await communicator.send_json_to({"type": "ping"})
        received.append(await communicator.receive_json_from())
        return received

    hello, subscribed, pong = async_to_sync(scenario)()

    assert hello["type"] == "hello"
    # An operator may not see analytics; malformed topics are ignored.
    assert subscribed == {"type": "subscribed", "topics": ["orders"]}
    assert pong == {"type": "pong"}


def test_published_update_reaches_the_socket() -> None:
    clerk = make_user(Role.CLERK)

    def change_stock() -> None:
        with transaction.atomic():
            publish_on_commit(RealtimeUpdate(topic="stock", kind="stock.changed", data={"sku": "GRL-1"}))

    async def scenario() -> dict[str, Any]:
        communicator = connect_as(clerk)
        await communicator.connect()
        await communicator.receive_json_from()
        await communicator.send_json_to({"type": "subscribe", "topics": ["stock"]})
        await communicator.receive_json_from()
        await sync_to_async(change_stock)()
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    assert async_to_sync(scenario)() == {
        "type": "event",
        "topic": "stock",
        "kind": "stock.changed",
        "data": {"sku": "GRL-1"},
    }


def test_typing_is_relayed_to_operators_watching_the_conversation() -> None:
    alice = make_user(Role.OPERATOR)
    bob = make_user(Role.OPERATOR)

    async def scenario() -> dict[str, Any]:
        watching, typing = connect_as(bob), connect_as(alice)
        for socket in (watching, typing):
            await socket.connect()
            await socket.receive_json_from()
        await watching.send_json_to({"type": "subscribe", "topics": ["inbox:conversation:7"]})
        await watching.receive_json_from()
        await typing.send_json_to({"type": "typing", "conversation_id": 7})
        message = await watching.receive_json_from(timeout=5)
        for socket in (watching, typing):
            await socket.disconnect()
        return message

    message = async_to_sync(scenario)()

    assert message["kind"] == "typing"
    assert message["data"]["user"] == alice.email
