"""The inbox composer tells what a reply costs as SMS when it goes by SMS ("2 SMS, Cyrillic: 67 characters each")."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from omnia.channels.models import Channel
from omnia.console.inbox_views import sms_cost
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation
from omnia.core import clock
from omnia.core.permissions import Role
from omnia.customers import actions as customers_actions
from omnia.customers.models import Customer
from tests.channels.meta.support import make_channel
from tests.channels.sms.support import post_signed, sms_channel
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client() -> Client:
    client = Client()
    client.force_login(make_user(Role.OPERATOR))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def sms_line(html: str) -> re.Match[str] | None:
    return re.search(r'<span id="composer-sms"[^>]*>([^<]*)</span>', html)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "1 SMS, Latin: 160 characters each"),
        ("Your order is ready", "1 SMS, Latin: 160 characters each"),
        ("a" * 161, "2 SMS, Latin: 153 characters each"),
        ("Ваш заказ готов", "1 SMS, Cyrillic: 70 characters each"),
        ("Заказ " * 15, "2 SMS, Cyrillic: 67 characters each"),
        ("Thanks 🙏", "1 SMS, Unicode: 70 characters each"),
    ],
)
def test_the_cost_line(text: str, expected: str) -> None:
    with translation.override("en"):
        assert sms_cost(text) == expected


def test_the_cost_line_in_russian() -> None:
    with translation.override("ru"):
        assert sms_cost("Заказ " * 15) == "2 SMS, кириллица: по 67 симв."


def test_replying_to_an_sms_shows_the_cost_line(operator_client: Client, client: Client) -> None:
    post_signed(client, sms_channel(), "inbound_text")
    conversation = Conversation.objects.get()

    html = operator_client.get(reverse("console:inbox_conversation", args=[conversation.pk])).content.decode()

    line = sms_line(html)
    assert line is not None
    assert line[1] == "1 SMS, Latin: 160 characters each"
    assert " hidden" not in line[0]
    assert 'data-format="%(count)s SMS, %(alphabet)s: %(per)s characters each"' in line[0]
    assert 'data-cyrillic="Cyrillic"' in line[0]


def received(channel: Channel, customer: Customer, chat: str) -> Conversation:
    message = conversations_actions.do_receive_message(
        customer=customer,
        channel=channel,
        text="Привет",
        sent_at=clock.now(),
        provider_message_id=f"m-{chat}",
        external_chat_id=chat,
    )
    assert message is not None
    return message.conversation


def test_the_line_waits_hidden_while_the_reply_goes_another_way(operator_client: Client, client: Client) -> None:
    """A WhatsApp conversation of a customer an SMS channel also reaches: shown once SMS is chosen."""
    post_signed(client, sms_channel(), "inbound_text")
    customer = Conversation.objects.get().customer
    other = received(make_channel("whatsapp", credentials={}, config={}), customer, "77011234567")

    html = operator_client.get(reverse("console:inbox_conversation", args=[other.pk])).content.decode()

    line = sms_line(html)
    assert line is not None
    assert " hidden" in line[0]
    assert 'data-provider="sms"' in html


def test_no_line_without_an_sms_channel(operator_client: Client) -> None:
    customer = customers_actions.do_resolve_identity(kind="telegram", value="1234567").customer
    conversation = received(make_channel("telegram", credentials={}, config={}), customer, "1234567")

    html = operator_client.get(reverse("console:inbox_conversation", args=[conversation.pk])).content.decode()

    assert "composer" in html
    assert sms_line(html) is None


def test_a_reply_longer_than_an_sms_may_be_is_refused_in_the_console_and_the_api(
    operator_client: Client, client: Client
) -> None:
    from omnia.conversations.models import Message

    post_signed(client, sms_channel(), "inbound_text")
    conversation = Conversation.objects.get()
    too_long = "Заказ готов. " * 130  # 1,690 characters: Twilio takes 1,600

    page = operator_client.post(
        reverse("console:inbox_send", args=[conversation.pk]), {"text": too_long}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "at most 1600 characters" in page
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {make_token(role=Role.OPERATOR, scopes=['inbox:write'])}"}
    api = client.post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"text": too_long},
        content_type="application/json",
        **bearer,
    )
    assert api.status_code == 422
    assert api.json()["error"]["code"] == "TEXT_TOO_LONG"
    assert api.json()["error"]["field"] == "text"
    assert not Message.objects.filter(direction=Message.Direction.OUT).exists()

    fits = client.post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"text": too_long[:1600]},
        content_type="application/json",
        **bearer,
    )
    assert fits.status_code == 201
