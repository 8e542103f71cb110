"""Replies through the outbox to the fake Twilio: the documented request, errors, retries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from omnia.channels import delivery
from omnia.channels.models import Channel
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation, Message
from omnia.core import config
from omnia.core.config import ConfigError
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.channels.sms.support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    SHOP_NUMBER,
    hook_path,
    post_form,
    post_signed,
    sign,
    sms_channel,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
CALLBACK = "https://omnia.shop.kz/hooks/sms/sms-main"


@pytest.fixture
def channel(time_machine: Any, fake_twilio: FakeTwilio) -> Channel:
    time_machine.move_to(NOW, tick=False)
    fake_twilio.add_account(ACCOUNT_SID, AUTH_TOKEN)
    return sms_channel(config={"status_callback_url": CALLBACK})


@pytest.fixture
def conversation(client: Client, channel: Channel) -> Conversation:
    assert post_signed(client, channel, "inbound_text").status_code == 200
    return Conversation.objects.get()


def reply(conversation: Conversation, text: str) -> Message:
    return conversations_actions.check_send_message(actor=None, conversation=conversation, text=text)


def test_a_reply_is_posted_with_basic_auth_the_form_and_the_status_callback(
    conversation: Conversation, fake_twilio: FakeTwilio
) -> None:
    message = reply(conversation, "Заказ 4961490 в пути, будет завтра до 18:00.")

    assert delivery.deliver(message.pk) is None

    (request,) = fake_twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert (request.username, request.password) == (ACCOUNT_SID, AUTH_TOKEN)
    assert request.content_type.startswith("application/x-www-form-urlencoded")
    assert request.form == {
        "To": ["+77011234567"],
        "From": [SHOP_NUMBER],
        "Body": ["Заказ 4961490 в пути, будет завтра до 18:00."],
        "StatusCallback": [CALLBACK],
    }
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.provider_message_id == f"SM{1:032x}"


def test_a_messaging_service_sends_instead_of_the_number(
    client: Client, fake_twilio: FakeTwilio, time_machine: Any
) -> None:
    time_machine.move_to(NOW, tick=False)
    fake_twilio.add_account(ACCOUNT_SID, AUTH_TOKEN)
    channel = sms_channel(config={"messaging_service_sid": "MG00000000000000000000000000000009"})
    post_signed(client, channel, "inbound_text")
    message = reply(Conversation.objects.get(), "Спасибо!")

    delivery.deliver(message.pk)

    (request,) = fake_twilio.requests
    assert request.value("MessagingServiceSid") == "MG00000000000000000000000000000009"
    assert "From" not in request.form
    assert "StatusCallback" not in request.form  # none configured: the Messaging Service's own applies
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


def test_a_whatsapp_number_through_twilio_is_answered_from_the_whatsapp_sender(
    client: Client, channel: Channel, fake_twilio: FakeTwilio
) -> None:
    body = b"MessageSid=SM00000000000000000000000000000003&From=whatsapp%3A%2B77011234567&Body=Hi&NumMedia=0"
    url = f"http://testserver{hook_path(channel)}"
    assert post_form(client, channel, body, signature=sign(url, body)).status_code == 200
    message = reply(Conversation.objects.get(), "Hello!")

    delivery.deliver(message.pk)

    (request,) = fake_twilio.requests
    assert (request.value("To"), request.value("From")) == ("whatsapp:+77011234567", f"whatsapp:{SHOP_NUMBER}")


def test_a_refused_number_fails_the_reply_with_twilios_code_and_message(
    conversation: Conversation, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_always(400, 21211, "The 'To' number +77011234567 is not a valid phone number.")
    message = reply(conversation, "Ваш заказ готов")

    assert delivery.deliver(message.pk) is None

    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert message.error == "Twilio error 21211: The 'To' number +77011234567 is not a valid phone number."
    assert message.attempts == 1
    assert len(fake_twilio.requests) == 1  # permanent: never tried again


def test_a_wrong_auth_token_is_permanent(conversation: Conversation, fake_twilio: FakeTwilio) -> None:
    fake_twilio.add_account(ACCOUNT_SID, "the token was rotated")
    message = reply(conversation, "Ваш заказ готов")

    delivery.deliver(message.pk)

    message.refresh_from_db()
    assert (message.status, message.error) == (Message.Status.FAILED, "Twilio error 20003: Authenticate")


def test_too_many_requests_waits_as_long_as_twilio_asks_then_sends(
    conversation: Conversation, fake_twilio: FakeTwilio, time_machine: Any
) -> None:
    fake_twilio.fail_next(429, 20429, "Too Many Requests", retry_after=30)
    message = reply(conversation, "Секунду")

    retry_at = delivery.deliver(message.pk)

    assert retry_at == NOW + dt.timedelta(seconds=30)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.QUEUED, 1)
    assert "20429" in message.error
    time_machine.move_to(retry_at, tick=False)
    assert delivery.deliver(message.pk) is None
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == (Message.Status.SENT, 2, "")
    assert len(fake_twilio.requests) == 2


def test_a_server_error_is_retried_with_backoff(conversation: Conversation, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(503, 20503, "Service Unavailable")
    message = reply(conversation, "Секунду")

    retry_at = delivery.deliver(message.pk)

    assert retry_at == NOW + delivery.backoff(1)
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED


def test_twilio_out_of_reach_is_retried(conversation: Conversation, settings: Any) -> None:
    settings.OMNIA_TWILIO_API_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    message = reply(conversation, "Секунду")

    assert delivery.deliver(message.pk) is not None

    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED
    assert "Cannot reach Twilio" in message.error


def test_a_text_over_1600_characters_is_refused_before_sending(
    conversation: Conversation, fake_twilio: FakeTwilio
) -> None:
    message = reply(conversation, "я" * 1601)

    delivery.deliver(message.pk)

    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert "1600" in message.error
    assert not fake_twilio.requests


def test_the_base_url_is_a_setting_with_twilio_as_default(tmp_path: Path) -> None:
    env = {"OMNIA_DATA_DIR": str(tmp_path / "var")}

    assert config.load(env).provider_urls["twilio"] == "https://api.twilio.com"
    assert config.load({**env, "OMNIA_TWILIO_API_URL": "http://127.0.0.1:9/"}).provider_urls["twilio"] == (
        "http://127.0.0.1:9"
    )
    with pytest.raises(ConfigError, match="OMNIA_TWILIO_API_URL"):
        config.load({**env, "OMNIA_TWILIO_API_URL": "api.twilio.com"})
