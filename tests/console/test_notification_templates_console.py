"""Settings → Notifications in the console: the grid of built-in and edited texts, the editor with its
live preview, form errors naming an unknown variable, the approved WhatsApp template, reset."""

from __future__ import annotations

import html as html_lib
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from omnia.accounts.models import User
from omnia.channels.models import MessageTemplate
from omnia.core import clock
from omnia.core.permissions import Role
from omnia.notifications.models import Settings, Template
from tests.channels.meta.support import make_channel
from tests.factories import make_user

pytestmark = pytest.mark.django_db
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


def login(user: User, language: str = "en") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def page(response: Any) -> str:
    return html_lib.unescape(response.content.decode())


def edit_url(event: str, language: str, channel: str = "") -> str:
    url = reverse("console:settings_notification_template", args=[event, language])
    return f"{url}?channel={channel}" if channel else url


def preview_url(event: str, language: str, channel: str = "") -> str:
    url = reverse("console:settings_notification_template_preview", args=[event, language])
    return f"{url}?channel={channel}" if channel else url


@pytest.fixture
def manager() -> Client:
    return login(make_user(Role.MANAGER))


def test_the_grid_marks_built_in_and_edited_texts(manager: Client) -> None:
    Template.objects.create(event="shipped", channel="", language="kk", body="Жолда", updated_at=clock.now())
    Template.objects.create(event="shipped", channel="sms", language="ru", body="В пути", updated_at=clock.now())
    shown = page(manager.get(reverse("console:settings_notification_templates")))
    assert 'href="/settings/notifications/templates/"' in shown or "Notification texts" in shown
    row = shown.split('data-event="shipped"')[1].split("</tr>")[0]
    cells = {lang: row.split(f'data-language="{lang}"')[1].split("</td>")[0] for lang in ("ru", "kk", "en")}
    assert "built-in" in cells["ru"]
    assert "SMS" in cells["ru"]
    assert "edited" in cells["kk"]
    assert "built-in" in cells["en"]


def test_an_event_switched_off_in_the_rules_is_marked(manager: Client) -> None:
    Settings.objects.create(disabled_events=["back_in_stock"], updated_at=clock.now())
    shown = page(manager.get(reverse("console:settings_notification_templates")))
    assert shown.count('data-testid="nt-switched-off"') == 1
    assert 'data-testid="nt-switched-off"' in shown.split('data-event="back_in_stock"')[1].split("</tr>")[0]


def test_the_editor_starts_from_the_built_in_text_in_its_language(manager: Client) -> None:
    shown = page(manager.get(edit_url("ready_for_pickup", "ru")))
    assert "{{customer.greeting}}\nВаш заказ {{order.number}} собран и ждёт вас" in shown
    assert 'data-insert="{{order.pickup_address}}"' in shown
    assert 'data-insert="{{parcel.tracking_number}}"' not in shown  # not this event's


def test_the_preview_fills_the_sample_and_marks_unknown_variables(manager: Client) -> None:
    response = manager.post(
        preview_url("ready_for_pickup", "ru", "sms"),
        {"body": "{{customer.greeting}} Заказ {{order.number}} у {{parcel.carrier}}"},
        **HTMX,
    )
    shown = response.content.decode()
    assert "Здравствуйте, Айгерим! Заказ 1042 у" in shown
    assert '<mark class="nt-unknown">{{parcel.carrier}}</mark>' in shown
    assert "Unknown variable" in shown
    assert "1 SMS part, UCS-2" in shown


def test_saving_an_unknown_variable_is_a_form_error_naming_it(manager: Client) -> None:
    response = manager.post(edit_url("shipped", "ru"), {"body": "Трек {{parcel.tracking}}", "is_active": "on"})
    assert response.status_code == 422
    assert "Unknown variable {{parcel.tracking}}" in page(response)
    assert not Template.objects.exists()


def test_an_sms_over_ten_parts_is_a_form_error(manager: Client) -> None:
    response = manager.post(edit_url("shipped", "ru", "sms"), {"body": "Ж" * 700, "is_active": "on"})
    assert response.status_code == 422
    assert "As an SMS this text takes 11 parts" in page(response)


def test_saving_keeps_the_text_and_reset_brings_the_built_in_back(manager: Client) -> None:
    saved = manager.post(
        edit_url("delivered", "kk", "email"),
        {"subject": "{{order.number}} жеткізілді", "body": "Рахмет, {{customer.first_name}}!", "is_active": "on"},
    )
    assert saved.status_code == 302
    template = Template.objects.get()
    assert (template.event, template.channel, template.language) == ("delivered", "email", "kk")
    assert template.subject == "{{order.number}} жеткізілді"
    shown = page(manager.get(edit_url("delivered", "kk", "email")))
    assert "Рахмет, {{customer.first_name}}!" in shown
    assert 'data-testid="nt-reset"' in shown
    reset = manager.post(
        reverse("console:settings_notification_template_reset", args=["delivered", "kk"]) + "?channel=email"
    )
    assert reset.status_code == 302
    assert not Template.objects.exists()


def test_the_whatsapp_template_gets_one_value_per_placeholder(manager: Client) -> None:
    channel = make_channel(
        "whatsapp", credentials={"access_token": "t", "app_secret": "s", "verify_token": "v"}, config={}
    )
    approved = MessageTemplate.objects.create(
        channel=channel, name="order_ready", language="ru", body="{{1}}, заказ {{2}} готов", created_at=clock.now()
    )
    values = manager.get(
        reverse("console:settings_notification_template_values", args=["ready_for_pickup", "ru"])
        + f"?channel=whatsapp&whatsapp_template={approved.pk}",
        **HTMX,
    ).content.decode()
    assert values.count('name="whatsapp_values"') == 2
    short = manager.post(
        edit_url("ready_for_pickup", "ru", "whatsapp"),
        {
            "body": "Готово",
            "whatsapp_template": approved.pk,
            "whatsapp_values": ["{{customer.first_name}}"],
            "is_active": "on",
        },
    )
    assert short.status_code == 422
    assert "Give one value for each placeholder" in page(short)
    saved = manager.post(
        edit_url("ready_for_pickup", "ru", "whatsapp"),
        {
            "body": "Готово",
            "whatsapp_template": approved.pk,
            "whatsapp_values": ["{{customer.first_name}}", "{{order.number}}"],
            "is_active": "on",
        },
    )
    assert saved.status_code == 302
    assert Template.objects.get().whatsapp_values == ["{{customer.first_name}}", "{{order.number}}"]
    preview = manager.post(
        preview_url("ready_for_pickup", "ru", "whatsapp"),
        {
            "body": "Готово",
            "whatsapp_template": approved.pk,
            "whatsapp_values": ["{{customer.first_name}}", "{{order.number}}"],
        },
        **HTMX,
    ).content.decode()
    assert "Айгерим, заказ 1042 готов" in preview


def test_the_editor_is_in_russian_for_a_russian_user() -> None:
    client = login(make_user(Role.OWNER), language="ru")
    shown = page(client.get(edit_url("ready_for_pickup", "ru")))
    assert "Предпросмотр" in shown
    assert "встроенный" in shown


def test_operators_do_not_get_the_editor() -> None:
    client = login(make_user(Role.OPERATOR))
    assert client.get(reverse("console:settings_notification_templates")).status_code == 403
    assert client.post(edit_url("shipped", "ru"), {"body": "x"}).status_code == 403


def test_a_channel_without_its_own_text_starts_from_the_every_channel_one(manager: Client) -> None:
    Template.objects.create(
        event="shipped", channel="", language="ru", body="Для всех: {{order.number}}", updated_at=clock.now()
    )
    shown = page(manager.get(edit_url("shipped", "ru", "sms")))
    assert "Для всех: {{order.number}}" in shown
    assert "This channel gets the text written for every channel" in shown
    assert 'data-testid="nt-reset"' not in shown  # nothing of its own to reset
