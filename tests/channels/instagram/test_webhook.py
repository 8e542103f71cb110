"""Instagram webhooks through the real endpoint and database, and a reply through the fake Graph API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from omnia.channels import delivery
from omnia.channels.instagram.connector import InstagramConnector
from omnia.channels.models import Channel, InboundEvent
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation, Message
from omnia.customers.models import Identity
from tests.channels.meta.fake_graph import FakeGraph
from tests.channels.meta.support import fixture, fixture_bytes, make_channel, post_webhook, sign

pytestmark = pytest.mark.django_db

SECRET = "ig_app_secret_42"
TOKEN = "IGQV-test-token"
CREDENTIALS = {"access_token": TOKEN, "app_secret": SECRET, "verify_token": "ig-verify-9Kd1"}
CONFIG = {"ig_user_id": "17841400000000001"}
IGSID = "6123456789012345"
NOW = dt.datetime(2025, 1, 14, 5, 26, tzinfo=dt.UTC)
ECHO_MID = fixture("instagram", "echo")["entry"][0]["messaging"][0]["message"]["mid"]


@pytest.fixture
def channel(time_machine: Any) -> Channel:
    time_machine.move_to(NOW, tick=False)
    return make_channel("instagram", credentials=CREDENTIALS, config=CONFIG)


def post(client: Client, channel: Channel, name: str) -> Any:
    body = fixture_bytes("instagram", name)
    return post_webhook(client, channel, body, signature=sign(SECRET, body))


def test_the_handshake(client: Client, channel: Channel) -> None:
    url = f"/hooks/instagram/{channel.key}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token="

    ok, wrong = client.get(url + "ig-verify-9Kd1"), client.get(url + "guess")

    assert (ok.status_code, ok.content) == (200, b"1158201444")
    assert wrong.status_code == 403


def test_an_inbound_text_opens_a_conversation(client: Client, channel: Channel) -> None:
    response = post(client, channel, "text")

    assert response.json() == {"ok": True, "stored": 1, "duplicates": 0}
    conversation = Conversation.objects.get()
    assert conversation.channel == channel
    assert conversation.external_thread_id == IGSID
    (message,) = conversation.messages.all()
    assert message.text == "Есть этот свитер в размере M?"
    assert Identity.objects.get(kind="instagram").customer_id == conversation.customer_id
    assert Identity.objects.get(kind="instagram").value == IGSID


def test_a_redelivered_message_is_stored_once(client: Client, channel: Channel) -> None:
    post(client, channel, "text")

    assert post(client, channel, "text").json() == {"ok": True, "stored": 0, "duplicates": 1}
    assert Message.objects.count() == 1


def test_an_image_arrives_as_an_attachment(client: Client, channel: Channel) -> None:
    post(client, channel, "image")

    (attachment,) = Message.objects.get().attachments
    assert attachment["kind"] == "image"
    assert attachment["url"].startswith("https://lookaside.fbsbx.com/")


def test_the_echo_of_our_own_message_is_stored_but_adds_nothing(client: Client, channel: Channel) -> None:
    response = post(client, channel, "echo")

    assert response.json() == {"ok": True, "stored": 1, "duplicates": 0}
    event = InboundEvent.objects.get()
    assert (event.status, event.error) == (InboundEvent.Status.PROCESSED, "echo of our own message")
    assert not Message.objects.exists()
    assert not Conversation.objects.exists()


@pytest.mark.parametrize("signature", [fixture("instagram", "bad_signature")["signature"], None])
def test_a_bad_signature_is_refused(client: Client, channel: Channel, signature: str | None) -> None:
    response = post_webhook(
        client, channel, fixture("instagram", "bad_signature")["body"].encode(), signature=signature
    )

    assert response.status_code == 403
    assert not InboundEvent.objects.exists()


def test_a_reply_is_sent_and_its_echo_and_read_receipt_follow(
    client: Client, channel: Channel, fake_graph: FakeGraph
) -> None:
    fake_graph.add_account(CONFIG["ig_user_id"], TOKEN)
    fake_graph.reply_ids.append(ECHO_MID)
    post(client, channel, "text")
    reply = conversations_actions.check_send_message(
        actor=None,
        conversation=Conversation.objects.get(),
        text="Да, размер M есть в наличии.",
        window=InstagramConnector.capabilities.reply_window,
    )

    assert delivery.deliver(reply.pk) is None

    (request,) = fake_graph.requests
    assert request.path == "/v21.0/17841400000000001/messages"
    assert request.json == {"recipient": {"id": IGSID}, "message": {"text": "Да, размер M есть в наличии."}}
    reply.refresh_from_db()
    assert (reply.status, reply.provider_message_id) == (Message.Status.SENT, ECHO_MID)

    post(client, channel, "echo")  # Meta echoes what we sent: not a second message
    post(client, channel, "read")

    reply.refresh_from_db()
    assert reply.status == Message.Status.READ
    assert Message.objects.count() == 2
