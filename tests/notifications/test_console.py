"""The notification log on the order page and the customer card, a resend from it, and Settings →
Notification rules with its form errors — as the console's users see them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from omnia.accounts.models import User
from omnia.channels.models import Channel
from omnia.core.permissions import Role
from omnia.customers.models import Customer
from omnia.notifications.models import Notification, Settings
from omnia.orders.models import Order
from tests.channels.telegram.fake_telegram import FakeTelegram
from tests.factories import make_user
from tests.notifications.conftest import settle, transition

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


def login(role: str) -> tuple[Client, User]:
    user = make_user(role)
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client, user


@pytest.fixture
def told(
    place: Callable[..., Order],
    customer: Customer,
    telegram: Channel,
    fake_telegram: FakeTelegram,
    django_capture_on_commit_callbacks: Capture,
) -> Order:
    """An order confirmed (told by Telegram, accepted) whose pick-up readiness Telegram refused."""
    order = place(customer, django_capture_on_commit_callbacks)
    transition(order, Order.Status.CONFIRMED, django_capture_on_commit_callbacks)
    settle(django_capture_on_commit_callbacks)
    transition(order, Order.Status.PICKING, django_capture_on_commit_callbacks)
    fake_telegram.fail_next(403, "Forbidden: bot was blocked by the user")
    transition(order, Order.Status.READY, django_capture_on_commit_callbacks)
    settle(django_capture_on_commit_callbacks)
    return order


def test_the_order_page_loads_its_notification_log(told: Order, fake_telegram: FakeTelegram) -> None:
    client, _ = login(Role.OPERATOR)

    page = client.get(reverse("console:order_detail", args=[told.pk])).content.decode()
    log = client.get(reverse("console:notifications_order_log", args=[told.pk])).content.decode()

    assert reverse("console:notifications_order_log", args=[told.pk]) in page
    assert "Order confirmed" in log
    assert "Ready for pick-up" in log
    assert fake_telegram.sent()[0]["text"].split("\n")[0] in log  # the text the customer got
    assert "bot was blocked by the user" in log  # why the second one was not sent
    assert "Send again" not in log  # operators do not resend


def test_the_customer_card_loads_its_log_and_a_manager_sends_again(
    told: Order, customer: Customer, fake_telegram: FakeTelegram, django_capture_on_commit_callbacks: Capture
) -> None:
    client, _ = login(Role.MANAGER)
    failed = Notification.objects.get(status=Notification.Status.FAILED)

    page = client.get(reverse("console:customer", args=[customer.pk])).content.decode()
    log = client.get(reverse("console:notifications_customer_log", args=[customer.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("console:notifications_resend", args=[failed.pk]), {"scope": "customer"})
    settle(django_capture_on_commit_callbacks)

    assert reverse("console:notifications_customer_log", args=[customer.pk]) in page
    assert told.number in log
    assert "Send again" in log
    assert response.status_code == 302
    assert response["Location"] == reverse("console:customer", args=[customer.pk])
    assert Notification.objects.filter(key=f"{failed.key}:resend:1", status=Notification.Status.SENT).exists()
    assert len(fake_telegram.sent()) == 2


def test_operators_cannot_resend(told: Order) -> None:
    client, _ = login(Role.OPERATOR)
    failed = Notification.objects.get(status=Notification.Status.FAILED)

    response = client.post(reverse("console:notifications_resend", args=[failed.pk]))

    assert response.status_code == 403
    assert not Notification.objects.filter(key__contains=":resend:").exists()


def test_the_rules_page_saves_and_shows_form_errors() -> None:
    client, _ = login(Role.OWNER)
    url = reverse("console:settings_notifications")
    form = {
        "chain_1": "telegram",
        "chain_2": "sms",
        "chain_3": "",
        "quiet_start": "22:00",
        "quiet_end": "08:00",
        "undelivered_minutes": "45",
        "reply_waiting_minutes": "20",
        "disabled_events": ["payment_received"],
    }

    assert client.get(url).status_code == 200
    twice = client.post(url, {**form, "chain_3": "telegram"})
    too_few = client.post(url, {**form, "undelivered_minutes": "0"})
    saved = client.post(url, form)

    assert twice.status_code == 422
    assert "This channel is already earlier in the chain." in twice.content.decode()
    assert too_few.status_code == 422
    assert "Between 1 and 10,080 minutes" in too_few.content.decode()
    assert saved.status_code == 302
    rules = Settings.objects.get()
    assert rules.fallback_chain == ["telegram", "sms"]
    assert (rules.undelivered_minutes, rules.reply_waiting_minutes) == (45, 20)
    assert rules.disabled_events == ["payment_received"]
    assert rules.quiet_end.hour == 8
    assert "Notification rules" in client.get(url).content.decode()


def test_operators_do_not_see_the_rules() -> None:
    client, _ = login(Role.OPERATOR)

    assert client.get(reverse("console:settings_notifications")).status_code == 403


def test_the_back_office_shows_notifications_read_only(told: Order) -> None:
    client, _ = login(Role.OWNER)
    notification = Notification.objects.first()
    assert notification is not None

    assert client.get("/admin/notifications/notification/").status_code == 200
    assert client.get(f"/admin/notifications/notification/{notification.pk}/change/").status_code == 200
    assert client.get("/admin/notifications/notification/add/").status_code == 403


def test_a_notification_shows_in_the_customers_thread_marked_as_one(told: Order) -> None:
    client, _ = login(Role.OPERATOR)
    sent = Notification.objects.filter(order=told).exclude(attempts__message=None).first()
    assert sent is not None
    message = sent.attempts.exclude(message=None).get().message
    assert message is not None

    page = client.get(reverse("console:inbox_conversation", args=[message.conversation_id])).content.decode()

    assert 'data-testid="notification-label"' in page
    assert message.text.split("\n")[0] in page
