"""Approved WhatsApp templates: registered per channel, listed and retired through the API, filled in
and sent outside the 24-hour window (the thread shows the text the customer reads)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

from omnia.channels import actions, message_templates
from omnia.channels.models import Channel, MessageTemplate
from omnia.conversations.models import Message
from omnia.core.errors import ValidationFailed
from omnia.core.models import AuditEntry
from omnia.core.permissions import Role
from tests.conversations import make_channel, make_customer, receive
from tests.factories import make_token

pytestmark = pytest.mark.django_db

BODY = "Здравствуйте, {{1}}! Заказ {{2}} готов к выдаче в магазине {{3}}."


def call(client: Client, method: str, path: str, token: str, **kwargs: Any) -> Any:
    return getattr(client, method)(
        f"/api/v1{path}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs
    )


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    return dict(response.json()["error"])


@pytest.fixture
def frozen() -> Iterator[Any]:
    with time_machine.travel(dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def whatsapp() -> Channel:
    return make_channel("whatsapp")


@pytest.fixture
def manager() -> str:
    return make_token(role=Role.MANAGER, scopes=["settings:write", "inbox:write"])


def register(channel: Channel, **extra: Any) -> MessageTemplate:
    fields = {"name": "order_ready", "language": "ru", "body": BODY, **extra}
    return actions.check_save_template(actor=None, channel=channel, **fields)


def test_a_filled_template_reads_as_the_customer_sees_it_and_goes_to_meta_as_parameters(whatsapp: Channel) -> None:
    template = register(whatsapp)
    values = ["Айгерим", "A-250117", "Алматы, Абая 10"]

    assert message_templates.render(template, values) == (
        "Здравствуйте, Айгерим! Заказ A-250117 готов к выдаче в магазине Алматы, Абая 10."
    )
    assert message_templates.payload(template, values) == {
        "name": "order_ready",
        "language": {"code": "ru"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}],
    }
    with pytest.raises(ValidationFailed) as caught:
        message_templates.render(template, ["Айгерим"])
    assert caught.value.code == "TEMPLATE_VALUES"


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"name": "Order Ready"}, "name", "TEMPLATE_NAME_INVALID"),
        ({"language": "russian"}, "language", "LANGUAGE_INVALID"),
        ({"body": "Заказ {{1}} в {{3}}"}, "body", "TEMPLATE_PLACEHOLDERS"),
        ({"body": "  "}, "body", "REQUIRED"),
        ({"category": "spam"}, "category", "CATEGORY_INVALID"),
    ],
)
def test_a_template_unlike_an_approved_one_is_refused(
    whatsapp: Channel, fields: dict[str, str], field: str, code: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        register(whatsapp, **fields)

    assert (caught.value.field, caught.value.code) == (field, code)
    assert not MessageTemplate.objects.exists()


def test_the_api_registers_lists_and_retires_templates(client: Client, whatsapp: Channel, manager: str) -> None:
    path = f"/channels/{whatsapp.pk}/templates"

    created = call(client, "post", path, manager, data={"name": "order_ready", "language": "kk", "body": BODY})
    again = call(client, "post", path, manager, data={"name": "order_ready", "language": "kk", "body": BODY})
    telegram = make_channel("telegram")
    elsewhere = call(
        client, "post", f"/channels/{telegram.pk}/templates", manager, data={"name": "a", "language": "ru", "body": "x"}
    )

    assert created.status_code == 201, created.content
    assert created.json()["values"] == 3
    assert error(again, 422)["code"] == "TEMPLATE_EXISTS"
    assert error(elsewhere, 422)["code"] == "TEMPLATES_NOT_SUPPORTED"
    template_id = created.json()["id"]
    retired = call(client, "delete", f"{path}/{template_id}", manager)
    assert retired.json()["is_active"] is False
    listed = call(client, "get", f"{path}?active=true", manager).json()
    assert listed == []
    assert AuditEntry.objects.filter(action="channel.template_added").count() == 1
    assert AuditEntry.objects.filter(action="channel.template_retired").count() == 1


def test_an_operator_cannot_register_templates(client: Client, whatsapp: Channel) -> None:
    operator = make_token(role=Role.OPERATOR, scopes=["inbox:write"])

    response = call(
        client,
        "post",
        f"/channels/{whatsapp.pk}/templates",
        operator,
        data={"name": "a", "language": "ru", "body": "x"},
    )

    assert response.status_code == 403
    assert not MessageTemplate.objects.exists()


def test_outside_the_window_a_registered_template_is_sent_filled_in(
    client: Client, whatsapp: Channel, manager: str, frozen: Any
) -> None:
    template = register(whatsapp)
    conversation = receive(whatsapp, make_customer(kind="whatsapp")).conversation
    frozen.shift(dt.timedelta(hours=30))
    path = f"/conversations/{conversation.pk}/messages"

    wrong_count = call(client, "post", path, manager, data={"template": {"id": template.pk, "values": ["Айгерим"]}})
    unknown = call(client, "post", path, manager, data={"template": {"id": template.pk + 99, "values": []}})
    sent = call(
        client,
        "post",
        path,
        manager,
        data={"template": {"id": template.pk, "values": ["Айгерим", "A-250117", "Алматы, Абая 10"]}},
    )

    assert error(wrong_count, 422)["code"] == "TEMPLATE_VALUES"
    assert error(unknown, 404)["code"] == "TEMPLATE_NOT_FOUND"
    assert sent.status_code == 201, sent.content
    message = Message.objects.get(direction="out")
    assert message.text == "Здравствуйте, Айгерим! Заказ A-250117 готов к выдаче в магазине Алматы, Абая 10."
    assert message.template is not None
    assert message.template["name"] == "order_ready"
    assert message.template["components"][0]["parameters"][1] == {"type": "text", "text": "A-250117"}


def test_a_retired_template_is_not_sent(client: Client, whatsapp: Channel, manager: str, frozen: Any) -> None:
    template = actions.do_retire_template(actor=None, template=register(whatsapp))
    conversation = receive(whatsapp, make_customer(kind="whatsapp")).conversation
    frozen.shift(dt.timedelta(hours=30))

    response = call(
        client,
        "post",
        f"/conversations/{conversation.pk}/messages",
        manager,
        data={"template": {"id": template.pk, "values": ["a", "b", "c"]}},
    )

    assert error(response, 404)["code"] == "TEMPLATE_NOT_FOUND"
    assert not Message.objects.filter(direction="out").exists()
