"""The webhooks API: owners' and managers' tokens manage endpoints (the secret answered once), read the
delivery log, redeliver and ping; bad input is a 4xx naming the field with a stable code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from omnia.core.models import AuditEntry
from omnia.core.permissions import Role
from omnia.orders.models import Order
from omnia.webhooks.models import Delivery, Endpoint
from tests.factories import make_token
from tests.webhooks.conftest import run_queued_sends
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db

ENDPOINT_KEYS = {
    "id", "name", "url", "events", "is_active", "health", "consecutive_failures", "failing_since", "last_success_at",
    "last_failure_at", "disabled_at", "disabled_reason", "created_at", "created_by",
}  # fmt: skip
DELIVERY_KEYS = {
    "id", "event_id", "event_type", "status", "attempts", "next_attempt_at", "response_status", "response_body",
    "last_error", "duration_ms", "created_at", "delivered_at", "payload", "attempt_log",
}  # fmt: skip


def call(client: Client, method: str, path: str, token: str, **kwargs: Any) -> Any:
    return getattr(client, method)(
        f"/api/v1{path}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs
    )


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    if field is not None:
        assert error["field"] == field, error


@pytest.fixture
def token() -> str:
    return make_token(role=Role.OWNER, scopes=["settings:write"])


def create(client: Client, token: str, **body: Any) -> Any:
    data = {"name": "1C", "url": "https://erp.shop.kz/hooks/omnia", "events": ["order.created"], **body}
    return call(client, "post", "/webhooks", token, data=data)


def test_create_answers_the_secret_once_and_stores_it_encrypted(client: Client, token: str) -> None:
    response = create(client, token, events=["order.paid", "order.created"])

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ENDPOINT_KEYS | {"secret"}
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["order.created", "order.paid"]
    assert (body["health"], body["is_active"]) == ("new", True)
    endpoint = Endpoint.objects.get(pk=body["id"])
    assert body["secret"] not in endpoint.secret_encrypted
    assert endpoint.secret == body["secret"]

    shown = call(client, "get", f"/webhooks/{body['id']}", token).json()
    listed = call(client, "get", "/webhooks", token).json()
    assert set(shown) == ENDPOINT_KEYS
    assert [e["id"] for e in listed["items"]] == [body["id"]]
    assert body["secret"] not in str(listed)
    assert AuditEntry.objects.filter(action="webhook.created", target_id=str(body["id"])).exists()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"events": ["order.shipped"]}, "EVENT_TYPE_UNKNOWN", "events[0]"),
        ({"events": ["order.created", "ping"]}, "EVENT_TYPE_UNKNOWN", "events[1]"),
        ({"events": []}, "EVENTS_REQUIRED", "events"),
        ({"url": "ftp://erp.shop.kz/in"}, "URL_SCHEME_INVALID", "url"),
        ({"url": "erp.shop.kz/in"}, "URL_SCHEME_INVALID", "url"),
        ({"url": "https://"}, "URL_HOST_INVALID", "url"),
        ({"url": "http://0.0.0.0/hooks"}, "URL_HOST_INVALID", "url"),
        ({"url": "http://999.1.1.1/hooks"}, "URL_HOST_INVALID", "url"),
        ({"url": "https://bad_host!.kz/"}, "URL_HOST_INVALID", "url"),
        ({"url": "https://erp.shop.kz:99999/"}, "URL_INVALID", "url"),
        ({"url": "https://user:pw@erp.shop.kz/"}, "URL_CREDENTIALS_NOT_ALLOWED", "url"),
        ({"url": ""}, "URL_REQUIRED", "url"),
        ({"name": "  "}, "NAME_REQUIRED", "name"),
        ({"events": "order.created"}, "VALIDATION_FAILED", "events"),
    ],
)
def test_bad_input_names_the_field_and_creates_nothing(
    client: Client, token: str, body: dict[str, Any], code: str, field: str
) -> None:
    assert_error(create(client, token, **body), 422, code, field)
    assert Endpoint.objects.count() == 0


def test_a_local_network_address_is_accepted(client: Client, token: str) -> None:
    """1C usually runs inside the shop's own network."""
    assert create(client, token, url="http://192.168.1.20:8080/hs/omnia").status_code == 201
    assert create(client, token, url="https://интернет-магазин.kz/hooks").status_code == 201


def test_patch_changes_switches_off_and_on_and_validates(client: Client, token: str) -> None:
    webhook = create(client, token).json()["id"]

    changed = call(client, "patch", f"/webhooks/{webhook}", token, data={"events": ["order.cancelled"], "name": "ERP"})
    off = call(client, "patch", f"/webhooks/{webhook}", token, data={"is_active": False})
    bad = call(client, "patch", f"/webhooks/{webhook}", token, data={"url": "mailto:x@shop.kz"})

    assert changed.status_code == 200
    assert (changed.json()["events"], changed.json()["name"]) == (["order.cancelled"], "ERP")
    assert (off.json()["is_active"], off.json()["health"]) == (False, "off")
    assert_error(bad, 422, "URL_SCHEME_INVALID", "url")
    assert Endpoint.objects.get().url == "https://erp.shop.kz/hooks/omnia"


def test_delete_removes_it(client: Client, token: str) -> None:
    webhook = create(client, token).json()["id"]

    assert call(client, "delete", f"/webhooks/{webhook}", token).status_code == 204
    assert_error(call(client, "get", f"/webhooks/{webhook}", token), 404, "WEBHOOK_NOT_FOUND")
    assert_error(call(client, "delete", f"/webhooks/{webhook}", token), 404, "WEBHOOK_NOT_FOUND")


def test_rotating_answers_a_new_secret(client: Client, token: str) -> None:
    created = create(client, token).json()

    rotated = call(client, "post", f"/webhooks/{created['id']}/secret", token)

    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]
    assert Endpoint.objects.get().secret == rotated.json()["secret"]


def test_deliveries_ping_and_redeliver(
    client: Client,
    token: str,
    receiver: Receiver,
    shop: Callable[..., Order],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    created = create(client, token, url=receiver.url).json()
    receiver.secret = created["secret"]
    webhook = created["id"]
    receiver.answer_next(500)
    shop(django_capture_on_commit_callbacks)
    run_queued_sends()

    with django_capture_on_commit_callbacks(execute=True):
        ping = call(client, "post", f"/webhooks/{webhook}/ping", token)
    run_queued_sends()
    log = call(client, "get", f"/webhooks/{webhook}/deliveries", token).json()
    failed = call(client, "get", f"/webhooks/{webhook}/deliveries?status=failed", token).json()

    assert ping.status_code == 202
    assert (ping.json()["event_type"], ping.json()["status"]) == ("ping", "pending")
    assert [d["event_type"] for d in log["items"]] == ["ping", "order.created"]  # newest first
    assert set(log["items"][0]) == DELIVERY_KEYS
    assert log["items"][0]["status"] == "succeeded"
    order_created = log["items"][1]
    assert (order_created["status"], order_created["response_status"]) == ("failed", 500)
    assert [a["response_status"] for a in order_created["attempt_log"]] == [500]
    assert [d["id"] for d in failed["items"]] == [order_created["id"]]

    with django_capture_on_commit_callbacks(execute=True):
        again = call(client, "post", f"/webhooks/{webhook}/deliveries/{order_created['id']}/redeliver", token)
    run_queued_sends()

    assert again.status_code == 202
    delivery = Delivery.objects.get(pk=order_created["id"])
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SUCCEEDED, 2)
    assert [r.json["type"] for r in receiver.valid()] == ["order.created", "ping", "order.created"]
    assert_error(
        call(client, "post", f"/webhooks/{webhook}/deliveries/999999/redeliver", token), 404, "DELIVERY_NOT_FOUND"
    )
    assert_error(call(client, "get", f"/webhooks/{webhook}/deliveries?status=lost", token), 422, "STATUS_INVALID")


def test_a_switched_off_endpoint_refuses_ping(client: Client, token: str) -> None:
    webhook = create(client, token, is_active=False).json()["id"]

    assert_error(call(client, "post", f"/webhooks/{webhook}/ping", token), 409, "WEBHOOK_INACTIVE")
    assert Delivery.objects.count() == 0


@pytest.mark.parametrize(
    ("role", "scopes", "method", "status"),
    [
        (Role.OWNER, ["*"], "post", 201),
        (Role.MANAGER, ["settings:write"], "post", 201),
        (Role.MANAGER, ["settings:read"], "get", 200),
        (Role.MANAGER, ["settings:read"], "post", 403),
        (Role.MANAGER, ["orders:write"], "get", 403),
        (Role.OPERATOR, ["*"], "get", 403),
        (Role.OPERATOR, ["settings:write"], "post", 403),
    ],
)
def test_only_owners_and_managers_with_the_scope(
    client: Client, role: str, scopes: list[str], method: str, status: int
) -> None:
    token = make_token(role=role, scopes=scopes)
    response = create(client, token) if method == "post" else call(client, "get", "/webhooks", token)
    assert response.status_code == status, response.content


def test_without_a_token_401(client: Client) -> None:
    assert client.get("/api/v1/webhooks").status_code == 401


def test_event_types_are_listed(client: Client, token: str) -> None:
    types = [t["type"] for t in call(client, "get", "/webhooks/event-types", token).json()]
    assert types == [
        "order.created",
        "order.status_changed",
        "order.cancelled",
        "order.paid",
        "order.returned",
        "order.shipment_moved",
    ]
