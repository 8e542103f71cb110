"""Outside WhatsApp's 24 hours the operator sends an approved template from the composer, filled in;
owners register the templates in Settings → Channels."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from omnia.channels import actions as channels_actions
from omnia.channels.models import Channel, MessageTemplate
from omnia.conversations.models import Conversation, Message
from omnia.core.permissions import Role
from tests.conversations import make_channel, make_customer, receive
from tests.factories import make_user

pytestmark = pytest.mark.django_db
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}
BODY = "Здравствуйте, {{1}}! Заказ {{2}} ждёт вас."


@pytest.fixture(autouse=True)
def frozen() -> Iterator[Any]:
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


def login(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def page(response: Any) -> str:
    return str(response.content.decode())


@pytest.fixture
def whatsapp() -> Channel:
    return make_channel("whatsapp")


@pytest.fixture
def template(whatsapp: Channel) -> MessageTemplate:
    return channels_actions.check_save_template(
        actor=None, channel=whatsapp, name="order_waiting", language="ru", body=BODY
    )


@pytest.fixture
def quiet_conversation(whatsapp: Channel, frozen: Any) -> Conversation:
    conversation = receive(whatsapp, make_customer(kind="whatsapp")).conversation
    frozen.shift(dt.timedelta(hours=26))
    return conversation


def test_outside_the_window_the_composer_offers_the_channels_templates(
    template: MessageTemplate, quiet_conversation: Conversation
) -> None:
    shown = page(login(Role.OPERATOR).get(reverse("console:inbox_conversation", args=[quiet_conversation.pk])))

    assert 'data-testid="composer-templates"' in shown
    assert re.search(rf'name="template_id" value="{template.pk}"', shown)
    assert len(re.findall(rf'name="template_value_{template.pk}"', shown)) == 2


def test_within_the_window_no_template_is_offered(template: MessageTemplate, whatsapp: Channel) -> None:
    conversation = receive(whatsapp, make_customer(kind="whatsapp")).conversation

    shown = page(login(Role.OPERATOR).get(reverse("console:inbox_conversation", args=[conversation.pk])))

    assert 'data-testid="composer-templates"' not in shown


def test_the_operator_sends_a_filled_template(template: MessageTemplate, quiet_conversation: Conversation) -> None:
    url = reverse("console:inbox_send", args=[quiet_conversation.pk])
    form = {"template_id": str(template.pk), f"template_value_{template.pk}": ["Айгерим", "A-250117"]}

    response = login(Role.OPERATOR).post(url, form, **HTMX)

    message = Message.objects.get(direction="out")
    assert message.text == "Здравствуйте, Айгерим! Заказ A-250117 ждёт вас."
    assert message.template == {
        "name": "order_waiting",
        "language": {"code": "ru"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "Айгерим"}, {"type": "text", "text": "A-250117"}]}
        ],
    }
    assert "Здравствуйте, Айгерим! Заказ A-250117 ждёт вас." in page(response)  # in the thread


def test_a_template_missing_a_value_is_refused_and_nothing_queued(
    template: MessageTemplate, quiet_conversation: Conversation
) -> None:
    url = reverse("console:inbox_send", args=[quiet_conversation.pk])
    form = {"template_id": str(template.pk), f"template_value_{template.pk}": ["Айгерим", " "]}

    response = login(Role.OPERATOR).post(url, form, **HTMX)

    assert "Value {{2}} is empty." in page(response)
    assert not Message.objects.filter(direction="out").exists()


def test_a_manager_registers_and_retires_templates_in_settings(whatsapp: Channel) -> None:
    client = login(Role.MANAGER)
    url = reverse("console:settings_channel_templates", args=[whatsapp.pk])

    bad = client.post(url, {"name": "Order Ready", "language": "ru", "category": "utility", "body": BODY})
    good = client.post(url, {"name": "order_ready", "language": "kk", "category": "utility", "body": BODY})

    assert bad.status_code == 422
    assert "lower-case letters, digits and underscores" in page(bad)
    assert good.status_code == 302
    template = MessageTemplate.objects.get()
    assert (template.name, template.language, template.is_active) == ("order_ready", "kk", True)
    listed = page(client.get(url))
    assert "order_ready" in listed

    client.post(reverse("console:settings_channel_template_retire", args=[whatsapp.pk, template.pk]))

    template.refresh_from_db()
    assert template.is_active is False


def test_operators_cannot_manage_templates(whatsapp: Channel) -> None:
    response = login(Role.OPERATOR).get(reverse("console:settings_channel_templates", args=[whatsapp.pk]))

    assert response.status_code == 403


def test_a_telegram_channel_has_no_templates_page() -> None:
    telegram = make_channel("telegram")

    response = login(Role.MANAGER).get(reverse("console:settings_channel_templates", args=[telegram.pk]))

    assert response.status_code == 404
