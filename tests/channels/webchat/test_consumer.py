"""The visitor's socket: history on connect, messages through the common inbound road, replies back live."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client

from omnia.channels.delivery import deliver
from omnia.channels.models import Channel, InboundEvent
from omnia.console.routing import websocket_urlpatterns
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation, Message
from omnia.core import clock
from omnia.customers.models import Customer, Identity

pytestmark = pytest.mark.django_db(transaction=True)


def make_channel(*, provider: str = "webchat", active: bool = True) -> Channel:
    return Channel.objects.create(
        provider=provider,
        name="Site chat",
        key=f"{provider}-{uuid.uuid4().hex[:10]}",
        config={"greeting": "Здравствуйте! Чем можем помочь?"},
        is_active=active,
        created_at=clock.now(),
    )


def visitor_socket(key: str, visitor: str) -> WebsocketCommunicator:
    return WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/webchat/{key}/?visitor={visitor}")


def new_visitor() -> str:
    return str(uuid.uuid4())


def say(channel: Channel, visitor: str, *texts_and_ids: tuple[str, str]) -> list[dict[str, Any]]:
    """Connect, write each (text, client id), and return every frame received (history first)."""

    async def scenario() -> list[dict[str, Any]]:
        socket = visitor_socket(channel.key, visitor)
        connected, _ = await socket.connect()
        assert connected
        frames = [await socket.receive_json_from(timeout=5)]
        for text, client_id in texts_and_ids:
            await socket.send_json_to({"type": "message", "text": text, "client_id": client_id})
            frames.append(await socket.receive_json_from(timeout=5))
        await socket.disconnect()
        return frames

    return async_to_sync(scenario)()


def test_a_new_visitor_gets_the_greeting_and_an_empty_history() -> None:
    channel = make_channel()

    (history,) = say(channel, new_visitor())

    assert history == {"type": "history", "greeting": "Здравствуйте! Чем можем помочь?", "messages": []}


def test_a_visitor_message_makes_a_customer_a_conversation_and_an_inbound_message() -> None:
    channel = make_channel()
    visitor = new_visitor()

    _, ack = say(channel, visitor, ("Здравствуйте, есть гирлянда 10 м?", "c1"))

    assert (ack["type"], ack["client_id"], ack["duplicate"]) == ("ack", "c1", False)
    identity = Identity.objects.get(kind="webchat", value=visitor)
    conversation = Conversation.objects.get(customer=identity.customer, channel=channel)
    assert conversation.external_thread_id == f"{channel.key}:{visitor}"
    message = Message.objects.get(conversation=conversation)
    assert (message.direction, message.text) == (Message.Direction.IN, "Здравствуйте, есть гирлянда 10 м?")
    assert InboundEvent.objects.get(channel=channel).status == InboundEvent.Status.PROCESSED


def test_a_resent_client_id_is_stored_once() -> None:
    channel = make_channel()
    visitor = new_visitor()

    _, first, again = say(channel, visitor, ("Есть доставка?", "c1"), ("Есть доставка?", "c1"))

    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert Message.objects.filter(channel=channel).count() == 1
    assert InboundEvent.objects.filter(channel=channel).count() == 1


def test_history_survives_a_reconnect_and_holds_only_this_visitors_messages() -> None:
    channel = make_channel()
    visitor, stranger = new_visitor(), new_visitor()
    say(channel, visitor, ("Первое", "a1"), ("Второе", "a2"))
    say(channel, stranger, ("Чужое", "b1"))
    conversation = Conversation.objects.get(external_thread_id=f"{channel.key}:{visitor}")
    conversations_actions.do_add_note(actor=None, conversation=conversation, text="внутренняя заметка")

    (history,) = say(channel, visitor)

    assert [(m["direction"], m["text"], m["client_id"]) for m in history["messages"]] == [
        ("in", "Первое", "a1"),
        ("in", "Второе", "a2"),
    ]


@pytest.mark.parametrize(
    ("make", "visitor", "code"),
    [
        (lambda: make_channel(), "bad visitor!", 4400),
        (lambda: make_channel(active=False), str(uuid.uuid4()), 4404),
        (lambda: make_channel(provider="telegram"), str(uuid.uuid4()), 4404),
    ],
    ids=["bad-visitor", "inactive-channel", "not-webchat"],
)
def test_bad_sockets_are_closed(make: Any, visitor: str, code: int) -> None:
    channel = make()

    async def scenario() -> tuple[bool, Any]:
        return await visitor_socket(channel.key, visitor).connect()

    assert async_to_sync(scenario)() == (False, code)


def test_an_unknown_key_is_closed() -> None:
    async def scenario() -> tuple[bool, Any]:
        return await visitor_socket("no-such-chat", new_visitor()).connect()

    assert async_to_sync(scenario)() == (False, 4404)


def test_an_operator_reply_reaches_the_visitor_live_and_stays_in_the_history() -> None:
    channel = make_channel()
    visitor = new_visitor()
    say(channel, visitor, ("Здравствуйте, есть гирлянда 10 м?", "c1"))
    conversation = Conversation.objects.get(external_thread_id=f"{channel.key}:{visitor}")

    def answer() -> int:
        message = conversations_actions.check_send_message(
            actor=None, conversation=conversation, text="Да, есть: 4 990 ₸."
        )
        deliver(message.pk)
        return message.pk

    async def scenario() -> tuple[dict[str, Any], int]:
        socket = visitor_socket(channel.key, visitor)
        await socket.connect()
        await socket.receive_json_from(timeout=5)  # history
        message_id = await sync_to_async(answer)()
        live = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return live, message_id

    live, message_id = async_to_sync(scenario)()

    assert (live["type"], live["direction"], live["text"]) == ("message", "out", "Да, есть: 4 990 ₸.")
    assert Message.objects.get(pk=message_id).status == Message.Status.SENT
    (history,) = say(channel, visitor)
    assert [(m["direction"], m["text"]) for m in history["messages"]] == [
        ("in", "Здравствуйте, есть гирлянда 10 м?"),
        ("out", "Да, есть: 4 990 ₸."),
    ]


def test_identify_adds_a_free_phone_and_leaves_a_taken_email_to_operators() -> None:
    channel = make_channel()
    visitor, other = new_visitor(), new_visitor()
    say(channel, other, ("Привет", "o1"))

    async def identify(who: str, payload: dict[str, str]) -> dict[str, Any]:
        socket = visitor_socket(channel.key, who)
        await socket.connect()
        await socket.receive_json_from(timeout=5)
        await socket.send_json_to({"type": "identify", **payload})
        reply = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return reply

    first = async_to_sync(identify)(other, {"email": "dana@example.kz"})
    second = async_to_sync(identify)(visitor, {"name": "Дана", "phone": "+7 701 234 56 78", "email": "Dana@Example.kz"})

    assert first["added"] == ["email"]
    assert second["added"] == ["phone"]
    assert len(second["notes"]) == 1
    assert "email" in second["notes"][0]
    card = Identity.objects.get(kind="webchat", value=visitor).customer
    assert set(card.identities.values_list("kind", flat=True)) == {"webchat", "phone"}
    assert Customer.objects.count() == 2


def test_a_bad_phone_is_reported_back() -> None:
    channel = make_channel()

    async def scenario() -> dict[str, Any]:
        socket = visitor_socket(channel.key, new_visitor())
        await socket.connect()
        await socket.receive_json_from(timeout=5)
        await socket.send_json_to({"type": "identify", "phone": "12"})
        reply = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return reply

    reply = async_to_sync(scenario)()

    assert reply["type"] == "identified"
    assert "phone" in reply["errors"]


def test_the_widget_and_the_history_are_served_to_any_site() -> None:
    channel = make_channel()
    visitor = new_visitor()
    say(channel, visitor, ("Здравствуйте", "c1"))
    client = Client()

    script = client.get("/webchat/widget.js")
    history = client.get(f"/webchat/{channel.key}/history", {"visitor": visitor})

    assert script.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")
    assert script["Access-Control-Allow-Origin"] == "*"
    assert [m["text"] for m in history.json()["messages"]] == ["Здравствуйте"]
    assert client.get("/webchat/no-such-chat/history", {"visitor": visitor}).status_code == 404


def test_the_public_socket_accepts_a_foreign_origin_but_the_console_does_not() -> None:
    from omnia.asgi import application

    channel = make_channel()

    async def scenario(path: str) -> bool:
        socket = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://shop.test")])
        connected, _ = await socket.connect()
        await socket.disconnect()
        return connected

    assert async_to_sync(scenario)(f"/ws/webchat/{channel.key}/?visitor={new_visitor()}") is True
    assert async_to_sync(scenario)("/ws/console/") is False
