"""The notifications API: the log with its filters and each notification's tries, a deliberate resend
(owners and managers), and the rules with their validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from omnia.channels.models import Channel
from omnia.core.models import AuditEntry
from omnia.core.permissions import Role
from omnia.customers.models import Customer
from omnia.notifications import actions
from omnia.notifications.models import Event, Notification, Settings
from tests.channels.telegram.fake_telegram import FakeTelegram
from tests.factories import make_token
from tests.notifications.conftest import make_customer, settle

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


def call(client: Client, method: str, path: str, token: str, **kwargs: Any) -> Any:
    return getattr(client, method)(
        f"/api/v1{path}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs
    )


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error


@pytest.fixture
def sent(
    customer: Customer, telegram: Channel, fake_telegram: FakeTelegram, django_capture_on_commit_callbacks: Capture
) -> Notification:
    with django_capture_on_commit_callbacks(execute=True):
        notification = actions.do_raise(Event.SHIPPED, customer=customer, key="order:1:shipped", context={})
        actions.do_raise(Event.BACK_IN_STOCK, customer=customer, key="stock:1", context={})
    settle(django_capture_on_commit_callbacks)
    notification.refresh_from_db()
    return notification


def test_the_log_filters_by_customer_event_and_status(client: Client, sent: Notification) -> None:
    token = make_token(role=Role.OPERATOR, scopes=["customers:read"])
    other = make_customer(telegram=False, phone=False)
    actions.do_raise(Event.SHIPPED, customer=other, key="order:2:shipped", context={})

    everything = call(client, "get", "/notifications", token).json()
    shipped = call(client, "get", f"/notifications?event=shipped&customer={sent.customer_id}", token).json()
    pending = call(client, "get", "/notifications?status=pending", token).json()

    assert len(everything["items"]) == 3
    assert [n["key"] for n in shipped["items"]] == ["order:1:shipped"]
    assert shipped["items"][0]["channel"] == "telegram"
    assert [n["customer_id"] for n in pending["items"]] == [other.pk]


def test_bad_filters_are_refused_naming_the_field(client: Client) -> None:
    token = make_token(role=Role.OPERATOR, scopes=["customers:read"])

    assert_error(call(client, "get", "/notifications?event=birthday", token), 422, "EVENT_UNKNOWN", "event")
    assert_error(call(client, "get", "/notifications?status=lost", token), 422, "STATUS_UNKNOWN", "status")
    assert_error(call(client, "get", "/notifications/999999", token), 404, "NOTIFICATION_NOT_FOUND")


def test_a_notification_shows_every_try(client: Client, sent: Notification, fake_telegram: FakeTelegram) -> None:
    token = make_token(role=Role.OPERATOR, scopes=["customers:read"])

    body = call(client, "get", f"/notifications/{sent.pk}", token).json()

    (attempt,) = body["attempts"]
    assert attempt["channel"] == "telegram"
    assert attempt["status"] == "sent"
    assert attempt["text"] == fake_telegram.sent()[0]["text"]
    assert attempt["message_id"] is not None


def test_only_owners_and_managers_resend_and_it_goes_out_again(
    client: Client, sent: Notification, fake_telegram: FakeTelegram, django_capture_on_commit_callbacks: Capture
) -> None:
    operator = make_token(role=Role.OPERATOR, scopes=["*"])
    manager = make_token(role=Role.MANAGER, scopes=["customers:write"])

    assert_error(call(client, "post", f"/notifications/{sent.pk}/resend", operator), 403, "ROLE_FORBIDDEN")
    with django_capture_on_commit_callbacks(execute=True):
        response = call(client, "post", f"/notifications/{sent.pk}/resend", manager)
    settle(django_capture_on_commit_callbacks)

    assert response.status_code == 201, response.content
    assert response.json()["key"] == "order:1:shipped:resend:1"
    assert len([m for m in fake_telegram.sent() if m["text"] == fake_telegram.sent()[0]["text"]]) == 2
    assert AuditEntry.objects.filter(action="notification.resend").count() == 1


def test_the_rules_are_read_and_changed_with_validation(client: Client) -> None:
    token = make_token(role=Role.OWNER, scopes=["settings:write"])
    rules = {
        "fallback_chain": ["telegram", "sms", "email"],
        "quiet_start": "22:00",
        "quiet_end": "08:30",
        "undelivered_minutes": 20,
        "reply_waiting_minutes": 10,
        "disabled_events": ["payment_received"],
    }

    assert call(client, "get", "/notifications/settings", token).json()["fallback_chain"][0] == "whatsapp"
    saved = call(client, "put", "/notifications/settings", token, data=rules)
    bad_kind = call(client, "put", "/notifications/settings", token, data={**rules, "fallback_chain": ["sms", "fax"]})
    twice = call(client, "put", "/notifications/settings", token, data={**rules, "fallback_chain": ["sms", "sms"]})
    no_minutes = call(client, "put", "/notifications/settings", token, data={**rules, "undelivered_minutes": 0})
    bad_event = call(client, "put", "/notifications/settings", token, data={**rules, "disabled_events": ["x"]})

    assert saved.status_code == 200, saved.content
    assert saved.json()["quiet_end"] == "08:30:00"
    assert_error(bad_kind, 422, "CHANNEL_KIND_UNKNOWN", "fallback_chain[1]")
    assert_error(twice, 422, "CHANNEL_KIND_REPEATED", "fallback_chain[1]")
    assert_error(no_minutes, 422, "MINUTES_OUT_OF_RANGE", "undelivered_minutes")
    assert_error(bad_event, 422, "EVENT_UNKNOWN", "disabled_events[0]")
    stored = Settings.objects.get()
    assert stored.fallback_chain == ["telegram", "sms", "email"]
    assert stored.disabled_events == ["payment_received"]


def test_operators_may_not_change_the_rules(client: Client) -> None:
    token = make_token(role=Role.OPERATOR, scopes=["*"])

    assert_error(call(client, "get", "/notifications/settings", token), 403, "ROLE_FORBIDDEN")
