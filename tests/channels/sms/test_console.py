"""Settings → Channels: connecting an SMS channel as an owner does it, then receiving and answering through it."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from omnia.channels import actions as channels_actions
from omnia.channels import delivery
from omnia.channels.models import Channel
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation, Message
from omnia.core.errors import ValidationFailed
from omnia.core.models import AuditEntry
from omnia.core.permissions import Role
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.channels.sms.support import ACCOUNT_SID, AUTH_TOKEN, form_bytes, post_form, sign
from tests.factories import make_user

pytestmark = pytest.mark.django_db

FORM = {
    "name": "SMS +7 717 000 00 01",
    "reply_policy": "new",
    "first_response_minutes": "5",
    "config__account_sid": ACCOUNT_SID,
    "config__phone_number": "+77170000001",
    "config__messaging_service_sid": "",
    "config__status_callback_url": "",
    "credentials__auth_token": AUTH_TOKEN,
}


@pytest.fixture
def client() -> Client:
    client = Client()
    client.force_login(make_user(Role.OWNER))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_sms_is_offered_among_the_providers(client: Client) -> None:
    html = client.get(reverse("console:settings_channel_new")).content.decode()

    assert reverse("console:settings_channel_create", args=["sms"]) in html


def test_the_form_asks_for_the_auth_token_as_a_password(client: Client) -> None:
    html = client.get(reverse("console:settings_channel_create", args=["sms"])).content.decode()

    assert re.search(r'<input type="password" name="credentials__auth_token"[^>]*autocomplete="new-password"', html)
    assert re.search(r'<input type="text" name="config__account_sid"', html)


def test_connecting_sms_then_receiving_and_answering(client: Client, fake_twilio: FakeTwilio) -> None:
    response = client.post(reverse("console:settings_channel_create", args=["sms"]), FORM)

    assert response.status_code == 302
    channel = Channel.objects.get()
    assert (channel.provider, channel.config) == ("sms", {"account_sid": ACCOUNT_SID, "phone_number": "+77170000001"})
    assert channel.credentials == {"auth_token": AUTH_TOKEN}
    assert AUTH_TOKEN not in channel.credentials_encrypted
    assert AUTH_TOKEN not in str(AuditEntry.objects.get(action="channel.created").changes)
    html = client.get(response["Location"]).content.decode()
    webhook = f"http://testserver/hooks/sms/{channel.key}"
    assert f'value="{webhook}"' in html
    assert AUTH_TOKEN not in html

    # The delivery reports address is the card's webhook URL (as the public sees it), pasted in on the edit page.
    public = f"https://omnia.shop.kz/hooks/sms/{channel.key}"
    edit = {**FORM, "credentials__auth_token": "", "config__status_callback_url": public}
    assert client.post(reverse("console:settings_channel_edit", args=[channel.pk]), edit).status_code == 302
    channel.refresh_from_db()
    assert channel.config["status_callback_url"] == public
    assert channel.credentials == {"auth_token": AUTH_TOKEN}  # an empty input keeps the stored token

    body = form_bytes("inbound_text")
    assert post_form(Client(), channel, body, signature=sign(webhook, body)).status_code == 200
    fake_twilio.add_account(ACCOUNT_SID, AUTH_TOKEN)
    reply = conversations_actions.check_send_message(
        actor=None, conversation=Conversation.objects.get(), text="Здравствуйте! Заказ будет завтра."
    )
    delivery.deliver(reply.pk)
    (request,) = fake_twilio.requests
    assert request.value("StatusCallback") == public
    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("config__account_sid", "AC123", "An Account SID is AC followed by 32 letters a–f and digits."),
        ("config__phone_number", "8 (717) 000", "A number such as +77170000001, or a sender ID of up to 11"),
        ("credentials__auth_token", "", "This field is required."),
    ],
)
def test_bad_settings_are_shown_and_nothing_is_saved(client: Client, field: str, value: str, error: str) -> None:
    response = client.post(reverse("console:settings_channel_create", args=["sms"]), {**FORM, field: value})

    assert response.status_code == 422
    assert error in response.content.decode()
    assert not Channel.objects.exists()


def test_an_sms_channel_without_its_account_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        channels_actions.check_create_channel(
            actor=None, provider="sms", name="SMS", credentials={"auth_token": AUTH_TOKEN}, config={}
        )

    assert (refused.value.code, refused.value.field) == ("CONFIG_MISSING", "config.account_sid")
