"""Settings → Webhooks as an owner or manager uses it: add an endpoint (events as checkboxes, the secret
shown once), see its health and delivery log, filter it, redeliver, send a test, reveal and rotate the
secret, switch off/on, delete. Operators and clerks get 403."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from omnia.accounts.models import User
from omnia.core.models import AuditEntry
from omnia.core.permissions import Role
from omnia.orders.models import Order
from omnia.webhooks import actions
from omnia.webhooks.models import Delivery, Endpoint, EventType
from tests.factories import make_user
from tests.webhooks.conftest import run_queued_sends, subscribe
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def client(owner: User) -> Client:
    return login(owner)


def text(response: Any) -> str:
    return html_lib.unescape(response.content.decode())


def field_block(html: str, name: str) -> str:
    """The markup of form field `name`, up to the next field."""
    start = html.index(f'data-field="{name}"')
    end = html.find("data-field=", start + 1)
    return html[start : end if end > 0 else None]


def test_adding_an_endpoint_shows_the_secret_once(client: Client) -> None:
    form = client.get(reverse("console:settings_webhook_new"))
    assert form.status_code == 200
    assert 'type="checkbox" name="events" value="order.paid"' in form.content.decode()

    response = client.post(
        reverse("console:settings_webhook_new"),
        {"name": "1C", "url": "https://erp.shop.kz/hs/omnia", "events": ["order.created", "order.cancelled"]},
    )

    endpoint = Endpoint.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("console:settings_webhook", args=[endpoint.pk])
    assert endpoint.events == ["order.created", "order.cancelled"]
    first = text(client.get(response.url))
    assert endpoint.secret in first
    assert 'data-testid="webhook-new-secret"' in first
    again = text(client.get(response.url))
    assert endpoint.secret not in again  # once


def test_bad_input_is_shown_on_the_field_and_nothing_is_saved(client: Client) -> None:
    response = client.post(
        reverse("console:settings_webhook_new"), {"name": "1C", "url": "ftp://erp.shop.kz/in", "events": []}
    )

    assert response.status_code == 422
    assert "Choose at least one event." in field_block(text(response), "events")
    assert Endpoint.objects.count() == 0

    response = client.post(
        reverse("console:settings_webhook_new"),
        {"name": "1C", "url": "ftp://erp.shop.kz/in", "events": ["order.created"]},
    )
    assert response.status_code == 422
    assert "The URL starts with https:// (or http://)." in field_block(text(response), "url")
    assert Endpoint.objects.count() == 0


def test_the_list_shows_health_and_counts(
    client: Client,
    receiver: Receiver,
    shop: Callable[..., Order],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    healthy = subscribe(receiver, EventType.ORDER_CREATED, name="Website")
    shop(django_capture_on_commit_callbacks)
    run_queued_sends()
    broken = actions.check_create_endpoint(
        actor=None, name="Old 1C", url="https://old.shop.kz/in", events=[EventType.ORDER_PAID]
    ).endpoint
    Endpoint.objects.filter(pk=broken.pk).update(consecutive_failures=4)

    page = text(client.get(reverse("console:settings_webhooks")))

    rows = re.findall(r'<tr id="webhook-(\d+)".*?</tr>', page, re.S)
    assert rows == [str(broken.pk), str(healthy.pk)]  # by name
    assert 'data-health="ok"' in page
    assert "Failing: 4 attempts in a row" in page
    assert "1 delivered, 0 failed, 0 waiting" in page
    assert 'class="active">Webhooks</a>' in page


def test_the_endpoint_page_shows_the_log_with_payload_and_answers(
    client: Client,
    receiver: Receiver,
    shop: Callable[..., Order],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    endpoint = subscribe(receiver, EventType.ORDER_CREATED)
    receiver.answer_next(500)
    order = shop(django_capture_on_commit_callbacks)
    run_queued_sends()

    page = text(client.get(reverse("console:settings_webhook", args=[endpoint.pk])))

    assert 'data-status="failed" data-event="order.created"' in page
    assert f'"number": "{order.number}"' in page  # the payload, pretty-printed
    assert '{"ok": false}' in page  # the receiver's answer
    assert endpoint.secret not in page

    only_ok = text(
        client.get(reverse("console:settings_webhook_deliveries", args=[endpoint.pk]) + "?status=succeeded", **HTMX)
    )
    assert 'data-testid="deliveries-empty"' in only_ok
    failed = text(
        client.get(reverse("console:settings_webhook_deliveries", args=[endpoint.pk]) + "?status=failed", **HTMX)
    )
    assert failed.count('data-testid="delivery"') == 1


def test_redeliver_and_send_test_from_the_page(
    client: Client,
    receiver: Receiver,
    shop: Callable[..., Order],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    endpoint = subscribe(receiver, EventType.ORDER_CREATED)
    receiver.answer_next(500)
    shop(django_capture_on_commit_callbacks)
    run_queued_sends()
    delivery = Delivery.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        partial = client.post(
            reverse("console:settings_webhook_redeliver", args=[endpoint.pk, delivery.pk]) + f"?open={delivery.pk}",
            **HTMX,
        )
    assert partial.status_code == 200
    assert 'data-testid="webhook-flash"' in partial.content.decode()
    assert 'hx-trigger="every 4s"' in partial.content.decode()  # it refreshes while something is pending
    run_queued_sends()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SUCCEEDED, 2)
    refreshed = client.get(reverse("console:settings_webhook_deliveries", args=[endpoint.pk]), **HTMX).content.decode()
    assert 'data-status="succeeded"' in refreshed
    assert 'id="webhook-endpoint" hx-swap-oob="true"' in refreshed  # the health follows the log
    assert 'data-health="ok"' in refreshed

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("console:settings_webhook_ping", args=[endpoint.pk]))
    assert response.status_code == 302
    run_queued_sends()
    assert [r.json["type"] for r in receiver.valid()] == ["order.created", "order.created", "ping"]
    page = text(client.get(reverse("console:settings_webhook", args=[endpoint.pk])))
    assert 'data-status="succeeded" data-event="ping"' in page


def test_reveal_and_rotate_the_secret(client: Client, owner: User) -> None:
    endpoint = actions.check_create_endpoint(
        actor=owner, name="1C", url="https://erp.shop.kz/in", events=["order.created"]
    ).endpoint

    revealed = client.post(reverse("console:settings_webhook_reveal", args=[endpoint.pk]), **HTMX)
    assert endpoint.secret in revealed.content.decode()
    assert AuditEntry.objects.filter(action="webhook.secret_revealed", target_id=str(endpoint.pk)).exists()

    rotated = client.post(reverse("console:settings_webhook_rotate", args=[endpoint.pk]), **HTMX)
    endpoint.refresh_from_db()
    assert endpoint.secret in rotated.content.decode()
    assert "A new secret is in force" in text(rotated)


def test_switch_off_on_edit_and_delete(client: Client) -> None:
    endpoint = actions.check_create_endpoint(
        actor=None, name="1C", url="https://erp.shop.kz/in", events=["order.created"]
    ).endpoint

    client.post(reverse("console:settings_webhook_switch", args=[endpoint.pk]), {"on": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert 'data-health="off"' in text(client.get(reverse("console:settings_webhook", args=[endpoint.pk])))
    client.post(reverse("console:settings_webhook_switch", args=[endpoint.pk]), {"on": "1"})
    endpoint.refresh_from_db()
    assert endpoint.is_active

    edit = client.get(reverse("console:settings_webhook_edit", args=[endpoint.pk]))
    assert 'value="https://erp.shop.kz/in"' in edit.content.decode()
    saved = client.post(
        reverse("console:settings_webhook_edit", args=[endpoint.pk]),
        {"name": "1C ERP", "url": "https://erp.shop.kz/v2", "events": ["order.paid", "order.returned"]},
    )
    assert saved.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.url, endpoint.events) == (
        "1C ERP",
        "https://erp.shop.kz/v2",
        ["order.paid", "order.returned"],
    )

    client.post(reverse("console:settings_webhook_delete", args=[endpoint.pk]))
    assert not Endpoint.objects.exists()
    assert client.get(reverse("console:settings_webhook", args=[endpoint.pk])).status_code == 404


def test_a_switched_off_endpoint_shows_why(client: Client) -> None:
    endpoint = actions.check_create_endpoint(
        actor=None, name="1C", url="https://erp.shop.kz/in", events=["order.created"]
    ).endpoint
    Endpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_at=endpoint.created_at, failing_since=endpoint.created_at,
        consecutive_failures=12, disabled_reason="HTTP 502",
    )  # fmt: skip

    page = text(client.get(reverse("console:settings_webhook", args=[endpoint.pk])))

    assert 'data-health="disabled"' in page
    assert "(12 in a row)" in page
    assert "<code>HTTP 502</code>" in page


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.CLERK])
def test_operators_and_clerks_are_refused(role: str) -> None:
    endpoint = actions.check_create_endpoint(
        actor=None, name="1C", url="https://erp.shop.kz/in", events=["order.created"]
    ).endpoint
    client = login(make_user(role))

    for name, args in [
        ("settings_webhooks", []),
        ("settings_webhook_new", []),
        ("settings_webhook", [endpoint.pk]),
        ("settings_webhook_edit", [endpoint.pk]),
    ]:
        assert client.get(reverse(f"console:{name}", args=args)).status_code == 403, name
    for name in [
        "settings_webhook_reveal",
        "settings_webhook_rotate",
        "settings_webhook_ping",
        "settings_webhook_delete",
    ]:
        assert client.post(reverse(f"console:{name}", args=[endpoint.pk])).status_code == 403, name
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()
    assert not Delivery.objects.exists()


def test_a_manager_may_use_it() -> None:
    client = login(make_user(Role.MANAGER))
    assert client.get(reverse("console:settings_webhooks")).status_code == 200
