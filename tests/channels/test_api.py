"""The channels API contract: connect, list, change and deactivate channels; credentials are
write-only (never answered, never audited); only owners and managers may use it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client, override_settings

from omnia.channels import queries
from omnia.channels.models import Channel
from omnia.core.models import AuditEntry
from omnia.core.permissions import Role
from tests.conversations import CONFIG, CREDENTIALS, SECRETS, make_channel, make_customer, receive
from tests.factories import make_token

pytestmark = pytest.mark.django_db

CHANNEL_KEYS = {
    "id", "provider", "name", "key", "webhook_url", "credentials_set", "credentials_missing",
    "credentials_readable", "config", "team", "reply_policy", "first_response_minutes", "is_active", "created_at",
    "last_polled_at", "last_error",
}  # fmt: skip


def call(client: Client, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return getattr(client, method)(f"/api/v1{path}", content_type="application/json", **headers, **kwargs)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    assert_no_secrets(response.content.decode())
    return response.json()


def assert_no_secrets(text: str) -> None:
    leaked = [secret for secret in (*SECRETS, "new-access-secret") if secret in text]
    assert not leaked, f"secrets in the answer: {leaked}"


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    if field is not None:
        assert body["error"]["field"] == field


@pytest.fixture
def token() -> str:
    return make_token(role=Role.MANAGER, scopes=["settings:write"])


def whatsapp_payload(**extra: Any) -> dict[str, Any]:
    return {
        "provider": "whatsapp",
        "name": "WhatsApp +7 701 000 00 00",
        "credentials": CREDENTIALS["whatsapp"],
        "config": CONFIG["whatsapp"],
        "team": "sales",
        "reply_policy": "continue",
        "first_response_minutes": 15,
        **extra,
    }


def audit_of(channel_id: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(target_type="channels.channel", target_id=str(channel_id)).order_by("id"))


# --- connect ---------------------------------------------------------------------------------------


def test_connect_answers_201_without_the_secrets(client: Client, token: str) -> None:
    body = ok(call(client, "post", "/channels", token, data=whatsapp_payload()), 201)

    assert set(body) == CHANNEL_KEYS
    assert (body["provider"], body["name"], body["team"]) == ("whatsapp", "WhatsApp +7 701 000 00 00", "sales")
    assert (body["reply_policy"], body["first_response_minutes"], body["is_active"]) == ("continue", 15, True)
    assert body["config"] == {"phone_number_id": "1098765"}
    assert body["credentials_set"] == ["access_token", "app_secret", "verify_token"]
    assert body["credentials_missing"] == []
    assert body["credentials_readable"] is True
    assert re.fullmatch(r"[a-z0-9_-]{16,64}", body["key"])
    assert body["webhook_url"] == f"/hooks/whatsapp/{body['key']}"
    stored = Channel.objects.get(pk=body["id"])
    assert stored.credentials == CREDENTIALS["whatsapp"]
    assert queries.get_active_channel(provider="whatsapp", key=body["key"]) == stored


def test_connecting_is_audited_without_secrets(client: Client, token: str) -> None:
    body = ok(call(client, "post", "/channels", token, data=whatsapp_payload()), 201)

    [entry] = audit_of(body["id"])
    assert entry.action == "channel.created"
    assert entry.actor_label == "token:Website"
    assert entry.changes["credentials_set"] == ["access_token", "app_secret", "verify_token"]
    assert_no_secrets(json.dumps(entry.changes))


def test_every_channel_gets_its_own_key(client: Client, token: str) -> None:
    keys = {ok(call(client, "post", "/channels", token, data=whatsapp_payload()), 201)["key"] for _ in range(3)}

    assert len(keys) == 3


@pytest.mark.parametrize(
    ("provider", "credentials", "config", "field"),
    [
        ("telegram", {"bot_token": "123:abc"}, {}, "credentials.secret_token"),
        ("telegram", {"bot_token": " ", "secret_token": "s"}, {}, "credentials.bot_token"),
        ("whatsapp", {"access_token": "a", "app_secret": "b"}, {"phone_number_id": "1"}, "credentials.verify_token"),
        ("whatsapp", CREDENTIALS["whatsapp"], {}, "config.phone_number_id"),
        ("instagram", {"access_token": "a", "verify_token": "c"}, {}, "credentials.app_secret"),
        ("email", {"username": "shop@demo.test"}, {}, "credentials.password"),
        ("email", {"username": "u", "password": "p"}, {"address": "shop@demo.test"}, "config.imap_host"),
    ],
)
def test_required_credentials(
    client: Client, token: str, provider: str, credentials: dict[str, str], config: dict[str, str], field: str
) -> None:
    payload = {"provider": provider, "name": "Bot", "credentials": credentials, "config": config}

    response = call(client, "post", "/channels", token, data=payload)

    assert_error(response, 422, "CONFIG_MISSING" if field.startswith("config") else "CREDENTIALS_MISSING", field)
    assert not Channel.objects.exists()


def test_webchat_needs_no_credentials(client: Client, token: str) -> None:
    body = ok(call(client, "post", "/channels", token, data={"provider": "webchat", "name": "Site"}), 201)

    assert (body["credentials_set"], body["credentials_missing"]) == ([], [])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"provider": "pigeon"}, "provider"),
        ({"name": "  "}, "name"),
        ({"reply_policy": "sometimes"}, "reply_policy"),
        ({"first_response_minutes": 0}, "first_response_minutes"),
    ],
)
def test_bad_input_is_422(client: Client, token: str, change: dict[str, Any], field: str) -> None:
    response = call(client, "post", "/channels", token, data=whatsapp_payload(**change))

    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field


# --- list and read ---------------------------------------------------------------------------------------


def test_list_never_shows_credentials(client: Client, token: str) -> None:
    telegram, whatsapp = make_channel("telegram"), make_channel("whatsapp")

    page = ok(call(client, "get", "/channels", token))

    assert set(page) == {"items", "next"}
    assert [c["id"] for c in page["items"]] == [telegram.pk, whatsapp.pk]
    assert all(set(c) == CHANNEL_KEYS for c in page["items"])
    assert page["items"][0]["credentials_set"] == ["bot_token", "secret_token"]
    assert ok(call(client, "get", f"/channels/{telegram.pk}", token)) == page["items"][0]


# --- change -------------------------------------------------------------------------------------------


def test_patch_merges_credentials(client: Client, token: str) -> None:
    channel = make_channel("whatsapp")
    original_name = channel.name

    body = ok(
        call(
            client,
            "patch",
            f"/channels/{channel.pk}",
            token,
            data={"name": "Main number", "credentials": {"access_token": "new-access-secret", "extra": "x"}},
        )
    )

    assert body["name"] == "Main number"
    assert body["credentials_set"] == ["access_token", "app_secret", "extra", "verify_token"]
    channel.refresh_from_db()
    assert channel.credentials == {**CREDENTIALS["whatsapp"], "access_token": "new-access-secret", "extra": "x"}
    entry = audit_of(channel.pk)[-1]
    assert entry.action == "channel.updated"
    assert entry.changes == {"name": [original_name, "Main number"], "credentials_changed": ["access_token", "extra"]}
    assert_no_secrets(json.dumps(entry.changes))


def test_patch_null_removes_a_credential_but_not_a_required_one(client: Client, token: str) -> None:
    channel = make_channel("telegram")
    path = f"/channels/{channel.pk}"
    ok(call(client, "patch", path, token, data={"credentials": {"webhook_note": "x"}}))

    assert ok(call(client, "patch", path, token, data={"credentials": {"webhook_note": None}}))["credentials_set"] == [
        "bot_token",
        "secret_token",
    ]
    response = call(client, "patch", path, token, data={"credentials": {"secret_token": None}})
    assert_error(response, 422, "CREDENTIALS_MISSING", "credentials.secret_token")
    channel.refresh_from_db()
    assert channel.credentials == CREDENTIALS["telegram"]


def test_patch_leaves_out_what_is_not_sent(client: Client, token: str) -> None:
    channel = make_channel("whatsapp", team="sales")

    body = ok(call(client, "patch", f"/channels/{channel.pk}", token, data={"first_response_minutes": 30}))

    assert (body["team"], body["first_response_minutes"], body["config"]) == ("sales", 30, CONFIG["whatsapp"])
    assert body["credentials_set"] == ["access_token", "app_secret", "verify_token"]


# --- deactivate ---------------------------------------------------------------------------------------------


def test_delete_deactivates_and_keeps_the_row(client: Client, token: str) -> None:
    channel = make_channel("telegram")
    receive(channel, make_customer())

    body = ok(call(client, "delete", f"/channels/{channel.pk}", token))

    assert body["is_active"] is False
    assert Channel.objects.filter(pk=channel.pk, is_active=False).exists()
    assert channel.conversations.count() == 1
    assert queries.get_active_channel(provider="telegram", key=channel.key) is None
    assert [e.action for e in audit_of(channel.pk)] == ["channel.created", "channel.deactivated"]

    again = ok(call(client, "patch", f"/channels/{channel.pk}", token, data={"is_active": True}))
    assert again["is_active"] is True


# --- permissions and errors ----------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/channels", None),
    ("post", "/channels", {"provider": "webchat", "name": "Site"}),
    ("get", "/channels/{id}", None),
    ("patch", "/channels/{id}", {"name": "X"}),
    ("delete", "/channels/{id}", None),
]


@pytest.mark.parametrize(("method", "path", "data"), ENDPOINTS)
def test_an_operator_may_not_manage_channels(client: Client, method: str, path: str, data: Any) -> None:
    channel = make_channel("webchat")
    operator = make_token(role=Role.OPERATOR, scopes=["*"])

    response = call(client, method, path.format(id=channel.pk), operator, data=data)

    assert_error(response, 403, "ROLE_FORBIDDEN")
    assert Channel.objects.get(pk=channel.pk).is_active


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_writes_need_the_settings_write_scope(client: Client, role: str) -> None:
    reader = make_token(role=role, scopes=["settings:read"])

    assert_error(
        call(client, "post", "/channels", reader, data={"provider": "webchat", "name": "Site"}), 403, "SCOPE_MISSING"
    )
    assert ok(call(client, "get", "/channels", reader))["items"] == []


@pytest.mark.parametrize(("method", "path", "data"), [e for e in ENDPOINTS if "{id}" in e[1]])
def test_an_unknown_channel_is_404(client: Client, token: str, method: str, path: str, data: Any) -> None:
    assert_error(call(client, method, path.format(id=999_999), token, data=data), 404, "CHANNEL_NOT_FOUND")


@pytest.mark.django_db
def test_a_webhook_for_a_provider_without_webhooks_is_a_clear_404_not_a_500() -> None:
    from django.test import Client

    from omnia.channels.models import Channel
    from omnia.core import clock

    Channel.objects.create(provider="email", name="Mailbox", key="mailbox", created_at=clock.now())

    response = Client().post("/hooks/email/mailbox", data=b"{}", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "WEBHOOK_NOT_SUPPORTED"


def test_secrets_unreadable_after_a_key_change_are_replaced_by_new_ones(client: Client, token: str) -> None:
    channel = make_channel("telegram")
    with override_settings(SECRET_KEY="another-secret-key-of-at-least-32-characters"):
        channel.credentials = {"bot_token": "1:old", "secret_token": "old"}
    Channel.objects.filter(pk=channel.pk).update(credentials_encrypted=channel.credentials_encrypted)
    path = f"/channels/{channel.pk}"

    renamed = call(client, "patch", path, token, data={"name": "Бот магазина"})
    fixed = call(client, "patch", path, token, data={"credentials": {"bot_token": "2:new", "secret_token": "new"}})

    assert_error(renamed, 422, "CREDENTIALS_UNREADABLE", "credentials")
    assert fixed.status_code == 200, fixed.content
    assert fixed.json()["credentials_readable"] is True
    assert Channel.objects.get(pk=channel.pk).credentials == {"bot_token": "2:new", "secret_token": "new"}
