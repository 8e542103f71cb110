"""Canned responses: variables from an allow-list only, rendering for a customer, the composer's
"/" search order, and the API contract (operators use them, owners and managers edit them)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from omnia.conversations import actions_canned, queries_canned
from omnia.conversations.models import CannedResponse
from omnia.core.errors import Conflict, PermissionDenied, ValidationFailed
from omnia.core.permissions import Role
from omnia.customers.models import Customer
from tests.conversations import make_channel, make_customer, receive
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db

DELIVERY = "Здравствуйте, {{customer.first_name}}! Заказ {{ order.number }} на {{order.total}} ₸ уже в пути."


def canned(shortcut: str = "delivery", text: str = DELIVERY, **extra: Any) -> CannedResponse:
    fields: dict[str, Any] = {"title": shortcut.title(), **extra}
    return actions_canned.check_create_canned(actor=None, shortcut=shortcut, text=text, **fields)


@pytest.fixture
def customer() -> Customer:
    found = make_customer(name="Айгерим Сейткали")
    found.first_name, found.last_name, found.city = "Айгерим", "Сейткали", "Алматы"
    found.save()
    return found


# --- rendering ----------------------------------------------------------------------------------


def test_variables_are_filled_in_for_the_customer_and_order(customer: Customer) -> None:
    text = queries_canned.render_canned(DELIVERY, customer=customer, order={"number": "A-1001", "total": "4 990"})

    assert text == "Здравствуйте, Айгерим! Заказ A-1001 на 4 990 ₸ уже в пути."


def test_order_variables_without_an_order_stay_as_written(customer: Customer) -> None:
    text = queries_canned.render_canned(DELIVERY, customer=customer)

    assert text == "Здравствуйте, Айгерим! Заказ {{ order.number }} на {{order.total}} ₸ уже в пути."
    assert queries_canned.missing_variables(DELIVERY) == ["order.number", "order.total"]


def test_nothing_but_the_allow_list_is_evaluated(customer: Customer) -> None:
    sneaky = "{{customer.notes}} {{ customer.__class__ }} {% if 1 %}{{customer.city}}"

    assert queries_canned.render_canned(sneaky, customer=customer) == (
        "{{customer.notes}} {{ customer.__class__ }} {% if 1 %}Алматы"
    )


@pytest.mark.parametrize("variable", ["customer.phone", "order.items", "user.email", "customer"])
def test_an_unknown_variable_is_refused_by_name(variable: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        canned(text=f"Добрый день, {{{{ {variable} }}}}!")

    assert (caught.value.code, caught.value.field) == ("CANNED_VARIABLE_UNKNOWN", "text")
    assert variable in caught.value.message
    assert not CannedResponse.objects.exists()


def test_the_same_shortcut_twice_for_one_channel_and_language_is_refused() -> None:
    canned(channel="whatsapp", language="ru")
    canned(channel="telegram", language="ru")  # another channel: fine

    with pytest.raises(Conflict) as caught:
        canned(shortcut="/Delivery", channel="whatsapp", language="ru")
    assert caught.value.code == "CANNED_SHORTCUT_TAKEN"


def test_an_operator_may_not_edit_canned_responses() -> None:
    with pytest.raises(PermissionDenied):
        actions_canned.check_create_canned(
            actor=make_user(Role.OPERATOR), shortcut="hi", title="Hi", text="Здравствуйте!"
        )


# --- search -------------------------------------------------------------------------------------


def test_search_puts_shortcut_matches_and_this_channel_and_language_first() -> None:
    generic = canned("delivery", text="Доставка 1–2 дня.")
    whatsapp_ru = canned("delivery", text="Доставка по WhatsApp.", channel="whatsapp", language="ru")
    canned("delivery", text="Delivery in 1–2 days.", channel="whatsapp", language="en")
    canned("delivery", text="Доставка в Telegram.", channel="telegram")
    mentions = canned("returns", title="Returns after delivery", text="Возврат — 14 дней.")
    canned("hello", text="Здравствуйте!")
    hidden = canned("delivery-old", text="Старая доставка.")
    actions_canned.check_update_canned(actor=None, canned=hidden, is_active=False)

    found = queries_canned.search_canned("/deliv", provider="whatsapp", language="ru")

    # One per shortcut, the most specific; shortcut matches before text matches.
    assert [c.pk for c in found] == [whatsapp_ru.pk, mentions.pk]
    assert [c.pk for c in queries_canned.search_canned("deliv", provider="vk")] == [generic.pk, mentions.pk]


def test_the_settings_list_shows_every_variant() -> None:
    canned("delivery", channel="whatsapp")
    canned("delivery")

    assert [c.channel for c in queries_canned.search_canned()] == ["", "whatsapp"]


# --- API ----------------------------------------------------------------------------------------


def call(client: Client, method: str, path: str, token: str, **kwargs: Any) -> Any:
    return getattr(client, method)(
        f"/api/v1{path}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs
    )


def test_an_operator_reads_and_uses_but_cannot_write(client: Client, customer: Customer) -> None:
    token = make_token(role=Role.OPERATOR)
    saved = canned(channel="telegram")
    conversation = receive(make_channel("telegram"), customer).conversation

    listed = call(client, "get", "/canned-responses?q=/del&channel=telegram&language=ru", token)
    rendered = call(client, "post", f"/conversations/{conversation.pk}/canned/{saved.pk}/render", token)
    created = call(client, "post", "/canned-responses", token, data={"shortcut": "hi", "title": "Hi", "text": "Hi"})
    changed = call(client, "patch", f"/canned-responses/{saved.pk}", token, data={"title": "X"})
    deleted = call(client, "delete", f"/canned-responses/{saved.pk}", token)

    assert listed.status_code == 200, listed.content
    assert [row["id"] for row in listed.json()] == [saved.pk]
    assert rendered.json() == {
        "text": "Здравствуйте, Айгерим! Заказ {{ order.number }} на {{order.total}} ₸ уже в пути.",
        "missing": ["order.number", "order.total"],
    }
    for response in (created, changed, deleted):
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "ROLE_FORBIDDEN"
    assert CannedResponse.objects.get().title == "Delivery"


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_owners_and_managers_create_change_and_delete(client: Client, role: str) -> None:
    token = make_token(role=role)

    created = call(
        client,
        "post",
        "/canned-responses",
        token,
        data={"shortcut": "delivery", "title": "Доставка", "text": DELIVERY, "language": "ru"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) == {
        "id", "shortcut", "title", "text", "channel", "language", "is_active", "created_by", "updated_at",
    }  # fmt: skip
    assert (body["shortcut"], body["channel"], body["language"], body["is_active"]) == ("delivery", "", "ru", True)

    changed = call(client, "patch", f"/canned-responses/{body['id']}", token, data={"is_active": False})
    assert changed.status_code == 200, changed.content
    assert changed.json()["is_active"] is False

    assert call(client, "delete", f"/canned-responses/{body['id']}", token).status_code == 204
    assert not CannedResponse.objects.exists()


def test_api_errors_name_the_problem(client: Client) -> None:
    token = make_token(role=Role.MANAGER)
    canned()

    unknown = call(client, "post", "/canned-responses", token, data={"shortcut": "x", "title": "X", "text": "{{a.b}}"})
    taken = call(client, "post", "/canned-responses", token, data={"shortcut": "delivery", "title": "D", "text": "D"})
    missing = call(client, "patch", "/canned-responses/999999", token, data={"title": "X"})

    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "CANNED_VARIABLE_UNKNOWN")
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "CANNED_SHORTCUT_TAKEN")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "CANNED_RESPONSE_NOT_FOUND")
