"""Replies through the outbox to the fake Graph API: the 24-hour window, templates, retries, failures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from omnia.channels import delivery
from omnia.channels.whatsapp.connector import WhatsAppConnector
from omnia.conversations import actions as conversations_actions
from omnia.conversations.errors import ReplyWindowClosed
from omnia.conversations.models import Conversation, Message
from tests.channels.meta.fake_graph import FakeGraph
from tests.channels.meta.support import fixture_bytes, make_channel, post_webhook, sign

pytestmark = pytest.mark.django_db

SECRET = "wa_app_secret_42"
TOKEN = "EAAG-wa-token"
CREDENTIALS = {"access_token": TOKEN, "app_secret": SECRET, "verify_token": "wa-verify-7Hq2"}
CONFIG = {"phone_number_id": "109876543210987", "waba_id": "102938475610293"}
WROTE_AT = dt.datetime(2025, 1, 14, 5, 20, 5, tzinfo=dt.UTC)  # the stored text message's timestamp
WINDOW = WhatsAppConnector.capabilities.reply_window
TEMPLATE = {
    "name": "order_status_update",
    "language": {"code": "ru"},
    "components": [{"type": "body", "parameters": [{"type": "text", "text": "4961490"}]}],
}


@pytest.fixture
def conversation(client: Client, fake_graph: FakeGraph, time_machine: Any) -> Conversation:
    """The customer wrote at WROTE_AT (received a minute later); the clock stays frozen at receipt."""
    time_machine.move_to(WROTE_AT + dt.timedelta(minutes=1), tick=False)
    fake_graph.add_account(CONFIG["phone_number_id"], TOKEN)
    channel = make_channel("whatsapp", credentials=CREDENTIALS, config=CONFIG)
    body = fixture_bytes("whatsapp", "text")
    assert post_webhook(client, channel, body, signature=sign(SECRET, body)).status_code == 200
    return Conversation.objects.get()


def reply(conversation: Conversation, text: str = "", template: dict[str, Any] | None = None) -> Message:
    return conversations_actions.check_send_message(
        actor=None, conversation=conversation, text=text, template=template, window=WINDOW
    )


def test_a_text_reply_is_sent_with_the_documented_json(conversation: Conversation, fake_graph: FakeGraph) -> None:
    message = reply(conversation, "Да, пришлите новый адрес, пожалуйста.")

    assert delivery.deliver(message.pk) is None

    (request,) = fake_graph.requests
    assert request.path == "/v21.0/109876543210987/messages"
    assert request.authorization == f"Bearer {TOKEN}"
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "77011234567",
        "type": "text",
        "text": {"body": "Да, пришлите новый адрес, пожалуйста."},
    }
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.provider_message_id == "wamid.FAKE000001"


def test_free_text_within_24_hours_is_accepted(conversation: Conversation, time_machine: Any) -> None:
    time_machine.move_to(WROTE_AT + dt.timedelta(hours=23, minutes=59), tick=False)

    assert reply(conversation, "Ещё актуально?").status == Message.Status.QUEUED


def test_free_text_after_24_hours_is_refused(conversation: Conversation, time_machine: Any) -> None:
    time_machine.move_to(WROTE_AT + dt.timedelta(hours=24, minutes=1), tick=False)

    with pytest.raises(ReplyWindowClosed) as refused:
        reply(conversation, "Ещё актуально?")

    assert refused.value.code == "REPLY_WINDOW_CLOSED"
    assert not Message.objects.filter(direction=Message.Direction.OUT).exists()


def test_a_template_after_24_hours_is_sent(
    conversation: Conversation, time_machine: Any, fake_graph: FakeGraph
) -> None:
    time_machine.move_to(WROTE_AT + dt.timedelta(days=3), tick=False)

    message = reply(conversation, template=TEMPLATE)
    delivery.deliver(message.pk)

    assert fake_graph.requests[0].json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "77011234567",
        "type": "template",
        "template": TEMPLATE,
    }
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


def test_a_throughput_limit_is_retried_later(
    conversation: Conversation, fake_graph: FakeGraph, time_machine: Any
) -> None:
    fake_graph.fail_next(400, 130429, "Rate limit hit", details="Cloud API message throughput has been reached.")
    message = reply(conversation, "Секунду")

    retry_at = delivery.deliver(message.pk)

    message.refresh_from_db()
    assert retry_at is not None
    assert retry_at > WROTE_AT + dt.timedelta(minutes=1)
    assert (message.status, message.attempts) == (Message.Status.QUEUED, 1)
    assert "130429" in message.error
    time_machine.shift(dt.timedelta(seconds=1))
    assert delivery.deliver(message.pk) is None  # not due yet: nothing is sent
    assert len(fake_graph.requests) == 1

    time_machine.move_to(retry_at, tick=False)
    assert delivery.deliver(message.pk) is None

    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == (Message.Status.SENT, 2, "")
    assert len(fake_graph.requests) == 2


def test_an_http_429_waits_as_long_as_meta_asks(conversation: Conversation, fake_graph: FakeGraph) -> None:
    fake_graph.fail_next(429, 4, "(#4) Application request limit reached", retry_after=45)
    message = reply(conversation, "Секунду")

    retry_at = delivery.deliver(message.pk)

    assert retry_at == WROTE_AT + dt.timedelta(minutes=1, seconds=45)


def test_outside_the_window_meta_refuses_and_the_reply_fails_with_the_reason(
    conversation: Conversation, fake_graph: FakeGraph
) -> None:
    fake_graph.fail_always(
        400,
        131047,
        "Re-engagement message",
        details="Message failed to send because more than 24 hours have passed since the customer last replied.",
    )
    message = reply(conversation, "Ваш заказ готов")

    assert delivery.deliver(message.pk) is None

    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert message.error.startswith(
        "(#131047) Re-engagement message: Message failed to send because more than 24 hours"
    )
    assert len(fake_graph.requests) == 1  # a permanent refusal is not retried


def test_a_wrong_access_token_fails_the_reply(conversation: Conversation, fake_graph: FakeGraph) -> None:
    fake_graph.add_account(CONFIG["phone_number_id"], "EAAG-rotated-token")
    message = reply(conversation, "Здравствуйте")

    delivery.deliver(message.pk)

    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert "(#190)" in message.error
