"""The notification templates API: the texts in effect, saving (refused with the variable named), deleting,
the preview and the variables."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from omnia.core.permissions import Role
from omnia.notifications.models import Template
from tests.factories import make_token

pytestmark = pytest.mark.django_db


def call(client: Client, method: str, path: str, token: str, **kwargs: Any) -> Any:
    return getattr(client, method)(
        f"/api/v1{path}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs
    )


def test_the_list_shows_every_event_and_language_built_in_until_the_shop_writes_its_own(client: Client) -> None:
    token = make_token(role=Role.MANAGER)
    listed = call(client, "get", "/notifications/templates", token).json()
    assert len(listed) == 9 * 3
    assert not any(t["is_custom"] for t in listed)
    ready_ru = next(t for t in listed if (t["event"], t["language"]) == ("ready_for_pickup", "ru"))
    assert ready_ru["body"].startswith("{{customer.greeting}}\nВаш заказ {{order.number}} собран и ждёт вас")
    assert ready_ru["subject"] == "Заказ {{order.number}} готов к выдаче"
    assert "order.pickup_address" in ready_ru["variables"]

    saved = call(
        client,
        "put",
        "/notifications/templates/ready_for_pickup/kk?channel=sms",
        token,
        data={"body": "{{order.number}} дайын, {{order.pickup_location}}"},
    )
    assert saved.status_code == 200
    assert saved.json()["is_custom"] is True
    assert saved.json()["channel"] == "sms"
    kk = call(client, "get", "/notifications/templates?event=ready_for_pickup&language=kk", token).json()
    assert [(t["channel"], t["is_custom"]) for t in kk] == [("", False), ("sms", True)]
    one = call(client, "get", "/notifications/templates/ready_for_pickup/kk?channel=sms", token).json()
    assert one["body"] == "{{order.number}} дайын, {{order.pickup_location}}"
    assert one["source"] == "shop"


def test_a_channel_without_its_own_text_shows_the_every_channel_one_in_effect(client: Client) -> None:
    token = make_token(role=Role.MANAGER)
    call(client, "put", "/notifications/templates/shipped/ru", token, data={"body": "В пути: {{order.number}}"})
    sms = call(client, "get", "/notifications/templates/shipped/ru?channel=sms", token).json()
    assert (sms["source"], sms["is_custom"], sms["body"]) == ("every_channel", False, "В пути: {{order.number}}")
    assert call(client, "delete", "/notifications/templates/shipped/ru?channel=sms", token).status_code == 404
    english = call(client, "get", "/notifications/templates/shipped/en?channel=sms", token).json()
    assert english["source"] == "built_in"


def test_an_unknown_variable_is_answered_422_with_its_name(client: Client) -> None:
    token = make_token(role=Role.OWNER)
    refused = call(
        client,
        "put",
        "/notifications/templates/shipped/ru",
        token,
        data={"body": "Заказ {{order.number}}: {{order.pickup_location}}"},
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("UNKNOWN_VARIABLE", "body")
    assert "{{order.pickup_location}}" in error["message"]
    assert not Template.objects.exists()


def test_an_sms_over_ten_parts_and_a_wrong_key_are_refused(client: Client) -> None:
    token = make_token(role=Role.OWNER)
    long = call(client, "put", "/notifications/templates/shipped/ru?channel=sms", token, data={"body": "Ж" * 700})
    event = call(client, "put", "/notifications/templates/birthday/ru", token, data={"body": "x"})
    language = call(client, "put", "/notifications/templates/shipped/de", token, data={"body": "x"})
    assert (long.status_code, long.json()["error"]["code"]) == (422, "TOO_LONG")
    assert (event.status_code, event.json()["error"]["code"]) == (422, "EVENT_INVALID")
    assert (language.status_code, language.json()["error"]["field"]) == (422, "language")


def test_deleting_brings_the_built_in_text_back(client: Client) -> None:
    token = make_token(role=Role.MANAGER)
    call(client, "put", "/notifications/templates/delivered/en", token, data={"body": "Delivered {{order.number}}"})
    assert call(client, "delete", "/notifications/templates/delivered/en", token).status_code == 204
    again = call(client, "delete", "/notifications/templates/delivered/en", token)
    assert (again.status_code, again.json()["error"]["code"]) == (404, "TEMPLATE_NOT_FOUND")
    back = call(client, "get", "/notifications/templates/delivered/en", token).json()
    assert back["is_custom"] is False
    assert back["body"].startswith("{{customer.greeting}}\nYour order {{order.number}} has been delivered.")


def test_the_preview_renders_the_sample_and_counts_sms_parts(client: Client) -> None:
    token = make_token(role=Role.MANAGER)
    shown = call(
        client,
        "post",
        "/notifications/templates/preview",
        token,
        data={
            "event": "ready_for_pickup",
            "language": "ru",
            "channel": "sms",
            "body": "{{customer.greeting}} Заказ {{order.number}} ждёт вас. {{parcel.carrier}}",
        },
    ).json()
    assert shown["text"] == "Здравствуйте, Айгерим! Заказ 1042 ждёт вас. {{parcel.carrier}}"
    assert shown["unknown"] == ["parcel.carrier"]
    assert (shown["sms_encoding"], shown["sms_segments"]) == ("UCS-2", 1)
    built_in = call(
        client, "post", "/notifications/templates/preview", token, data={"event": "delayed", "language": "kk"}
    ).json()
    assert built_in["is_built_in"] is True
    assert built_in["text"].startswith("Сәлеметсіз бе, Айгерим!")


def test_the_variables_of_an_event(client: Client) -> None:
    token = make_token(role=Role.MANAGER)
    names = [v["name"] for v in call(client, "get", "/notifications/variables?event=back_in_stock", token).json()]
    assert "product.name" in names
    assert "order.number" not in names
    every = call(client, "get", "/notifications/variables", token).json()
    tracking = next(v for v in every if v["name"] == "parcel.tracking_number")
    assert tracking["events"] == ["shipped", "at_pickup_point", "delivered", "delayed"]


def test_operators_may_not_read_or_write_templates(client: Client) -> None:
    token = make_token(role=Role.OPERATOR)
    assert call(client, "get", "/notifications/templates", token).status_code == 403
    put = call(client, "put", "/notifications/templates/shipped/ru", token, data={"body": "x"})
    assert put.status_code == 403
