"""Canned responses in the console: the composer's "/" list (filtered, filled in for the customer)
and Settings → Canned responses (owners and managers write, operators read)."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from omnia.accounts.models import User
from omnia.channels.models import Channel
from omnia.conversations import actions_canned
from omnia.conversations.models import CannedResponse, Conversation
from omnia.core import clock
from omnia.core.audit import list_audit
from omnia.core.permissions import Role
from omnia.customers import actions as customers_actions
from omnia.orders.models import Order
from tests.console.test_inbox import HTMX, NOW, html, login, make_channel, receive
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def canned(shortcut: str, text: str, *, title: str = "", channel: str = "", language: str = "") -> CannedResponse:
    return actions_canned.check_create_canned(
        actor=None, shortcut=shortcut, title=title or shortcut.title(), text=text, channel=channel, language=language
    )


def conversation_with(channel: Channel, **customer: Any) -> Conversation:
    person = customers_actions.check_create_customer(actor=None, **{"first_name": "Aigerim", **customer})
    return receive(person, channel, "Hello").conversation


def suggestions(client: Any, conversation: Conversation, q: str, **extra: str) -> str:
    url = reverse("console:inbox_canned", args=[conversation.pk])
    return html(client.get(url, {"q": q, **extra}, **HTMX))


def inserted_texts(page: str) -> list[str]:
    """What each suggestion inserts into the composer."""
    return [html_lib.unescape(text) for text in re.findall(r'data-text="([^"]*)"', page)]


# --- the composer's "/" ------------------------------------------------------------------------------


def test_slash_lists_matching_responses_filled_in_for_the_customer() -> None:
    telegram = make_channel("telegram")
    conversation = conversation_with(telegram, last_name="Seitkali", city="Almaty")
    canned("delivery", "Hello, {{customer.first_name}}! Delivery to {{ customer.city }} takes 2 days.")
    canned("hello", "Hi {{customer.full_name}}")
    canned("refund", "Money back in 10 days", title="Refund for delivery problems")
    client = login(make_user(Role.OPERATOR))

    page = suggestions(client, conversation, "del")

    # The shortcut match first, then the one whose title mentions it; "hello" does not match.
    assert re.findall(r'class="canned-shortcut">/(\w+)<', page) == ["delivery", "refund"]
    assert inserted_texts(page)[0] == "Hello, Aigerim! Delivery to Almaty takes 2 days."
    assert 'data-query="del"' in page  # console.js drops answers to a query typed past


def test_slash_alone_lists_everything_and_nothing_found_says_so() -> None:
    conversation = conversation_with(make_channel("telegram"))
    canned("delivery", "Two days")
    canned("hello", "Hi")
    client = login(make_user(Role.OPERATOR))

    everything = suggestions(client, conversation, "")
    nothing = suggestions(client, conversation, "zzz")

    assert len(inserted_texts(everything)) == 2
    assert "No canned response matches “/zzz”." in nothing


def test_the_channel_the_reply_goes_through_and_the_customers_language_pick_the_version() -> None:
    telegram, whatsapp = make_channel("telegram"), make_channel("whatsapp")
    conversation = conversation_with(telegram, language="kk", identities=[("whatsapp", "+77015551234")])
    canned("hello", "Hello (any)")
    canned("hello", "Сәлеметсіз бе", language="kk")
    canned("hello", "Hello on WhatsApp", channel="whatsapp")
    canned("promo", "Only on WhatsApp", channel="whatsapp")
    canned("thanks", "Рахмет", language="ru")
    client = login(make_user(Role.OPERATOR))

    here = inserted_texts(suggestions(client, conversation, ""))
    via_whatsapp = inserted_texts(suggestions(client, conversation, "", via=str(whatsapp.pk)))

    assert here == ["Сәлеметсіз бе"]  # Kazakh for a Kazakh speaker, nothing for WhatsApp only, no Russian
    assert sorted(via_whatsapp) == ["Hello on WhatsApp", "Only on WhatsApp"]


def test_values_that_are_missing_stay_visible_and_are_pointed_out() -> None:
    conversation = conversation_with(make_channel("telegram"))  # no city, no orders
    canned("where", "{{customer.first_name}}, your order {{order.number}} goes to {{customer.city}}.")
    client = login(make_user(Role.OPERATOR))

    page = suggestions(client, conversation, "where")

    assert inserted_texts(page) == ["Aigerim, your order {{order.number}} goes to {{customer.city}}."]
    assert "Fill in before sending:" in page
    assert "<code>customer.city</code>" in page
    assert "<code>order.number</code>" in page


def test_order_variables_come_from_the_latest_order(frozen: Any) -> None:
    conversation = conversation_with(make_channel("telegram"))
    for number, days_ago in (("A-100", 30), ("A-200", 1)):
        Order.objects.create(
            number=number,
            customer=conversation.customer,
            source="web",
            total=Decimal("12990"),
            currency="KZT",
            placed_at=clock.now() - dt.timedelta(days=days_ago),
        )
    canned("status", "Order {{order.number}}: {{order.total}}")
    client = login(make_user(Role.OPERATOR))

    page = suggestions(client, conversation, "status")

    (text,) = inserted_texts(page)
    assert text.startswith("Order A-200: ")
    assert "12,990" in text
    assert "{{" not in text
    assert "Order details are from the latest order, A-200." in page


def test_inactive_responses_are_not_suggested() -> None:
    conversation = conversation_with(make_channel("telegram"))
    old = canned("old", "Old text")
    actions_canned.check_update_canned(actor=None, canned=old, is_active=False)

    assert inserted_texts(suggestions(login(make_user(Role.OPERATOR)), conversation, "old")) == []


def test_the_composer_says_how_to_use_canned_responses() -> None:
    conversation = conversation_with(make_channel("telegram"))

    page = html(login(make_user(Role.OPERATOR)).get(reverse("console:inbox_conversation", args=[conversation.pk])))

    assert "Type / for canned responses" in page
    assert f'data-canned-url="{reverse("console:inbox_canned", args=[conversation.pk])}"' in page


def test_a_clerk_gets_no_suggestions() -> None:
    conversation = conversation_with(make_channel("telegram"))
    canned("hello", "Hi")

    response = login(make_user(Role.CLERK)).get(reverse("console:inbox_canned", args=[conversation.pk]), **HTMX)

    assert response.status_code == 403


# --- Settings → Canned responses ----------------------------------------------------------------------


@pytest.fixture
def manager() -> User:
    return make_user(Role.MANAGER)


def form(**fields: str) -> dict[str, str]:
    return {"shortcut": "delivery", "title": "Delivery time", "text": "Hi {{customer.first_name}}", **fields}


def field_errors(page: str) -> dict[str, str]:
    found = re.findall(r'data-field="(\w+)">([^<]*)<', page)
    return {name: html_lib.unescape(text) for name, text in found}


def test_a_manager_creates_a_canned_response(manager: User) -> None:
    client = login(manager)

    response = client.post(reverse("console:settings_canned"), form(channel="whatsapp", language="ru"))

    assert response.status_code == 302
    saved = CannedResponse.objects.get()
    assert (saved.shortcut, saved.title, saved.text, saved.channel, saved.language, saved.is_active) == (
        "delivery",
        "Delivery time",
        "Hi {{customer.first_name}}",
        "whatsapp",
        "ru",
        True,
    )
    page = html(client.get(reverse("console:settings_canned")))
    assert "/delivery saved." in page
    assert 'data-shortcut="delivery"' in page
    assert "WhatsApp" in page
    assert list_audit().first().action == "canned_response.created"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        (
            {"text": "Hi {{customer.password}}"},
            "text",
            "Unknown variable {{customer.password}}: use one of the variables listed under the text.",
        ),
        ({"shortcut": "доставка"}, "shortcut", "A shortcut is up to 50 latin letters, digits"),
        ({"title": ""}, "title", "This field is required."),
        ({"text": ""}, "text", "This field is required."),
        ({"channel": "fax"}, "channel", "Select a valid choice."),
        ({"language": "de"}, "language", "Select a valid choice."),
    ],
)
def test_bad_input_is_shown_on_the_form_and_nothing_is_saved(
    manager: User, fields: dict[str, str], field: str, error: str
) -> None:
    response = login(manager).post(reverse("console:settings_canned"), form(**fields))

    assert response.status_code == 422
    assert field_errors(html(response))[field].startswith(error)
    assert not CannedResponse.objects.exists()


def test_a_shortcut_taken_for_the_same_channel_and_language_is_refused(manager: User) -> None:
    canned("delivery", "First")

    response = login(manager).post(reverse("console:settings_canned"), form(text="Second"))

    assert field_errors(html(response))["shortcut"] == "/delivery already exists for this channel and language."
    assert list(CannedResponse.objects.values_list("text", flat=True)) == ["First"]


def test_a_manager_edits_deactivates_and_deletes_one(manager: User) -> None:
    item = canned("delivery", "Two days")
    client = login(manager)

    shown = html(client.get(reverse("console:settings_canned_edit", args=[item.pk])))
    bad = client.post(
        reverse("console:settings_canned_edit", args=[item.pk]),
        form(text="Hi {{order.colour}}", is_active="on"),
    )
    client.post(
        reverse("console:settings_canned_edit", args=[item.pk]),
        form(shortcut="/Courier", text="Three days", is_active="on"),
    )
    edited = CannedResponse.objects.get(pk=item.pk)
    client.post(reverse("console:settings_canned_active", args=[item.pk]), {"is_active": "0"})
    deactivated = CannedResponse.objects.get(pk=item.pk).is_active
    listed = html(client.get(reverse("console:settings_canned")))
    client.post(reverse("console:settings_canned_delete", args=[item.pk]))

    assert "Two days" in shown
    assert field_errors(html(bad))["text"].startswith("Unknown variable {{order.colour}}")
    assert (edited.shortcut, edited.text) == ("courier", "Three days")
    assert deactivated is False
    assert re.search(r'<tr class="inactive" data-testid="canned-row" data-shortcut="courier">', listed)
    assert not CannedResponse.objects.exists()


def test_operators_read_the_list_but_change_nothing() -> None:
    item = canned("delivery", "Two days")
    client = login(make_user(Role.OPERATOR))

    page = client.get(reverse("console:settings_canned"))
    created = client.post(reverse("console:settings_canned"), form(shortcut="new"))
    edit = client.get(reverse("console:settings_canned_edit", args=[item.pk]))
    deactivate = client.post(reverse("console:settings_canned_active", args=[item.pk]), {"is_active": "0"})
    delete = client.post(reverse("console:settings_canned_delete", args=[item.pk]))

    assert page.status_code == 200
    assert "/delivery" in html(page)
    assert 'data-testid="canned-form"' not in html(page)
    assert "Only owners and managers change them." in html(page)
    assert [r.status_code for r in (created, edit, deactivate, delete)] == [403, 403, 403, 403]
    assert list(CannedResponse.objects.values_list("shortcut", "is_active")) == [("delivery", True)]


def test_clerks_cannot_open_canned_responses() -> None:
    assert login(make_user(Role.CLERK)).get(reverse("console:settings_canned")).status_code == 403


def test_the_settings_tabs_lead_to_canned_responses(manager: User) -> None:
    page = html(login(manager).get(reverse("console:settings")))

    assert f'href="{reverse("console:settings_canned")}"' in page


def test_searching_the_list(manager: User) -> None:
    canned("delivery", "Two days")
    canned("refund", "Ten days")

    page = html(login(manager).get(reverse("console:settings_canned"), {"q": "refu"}))

    assert re.findall(r'data-shortcut="(\w+)"', page) == ["refund"]
