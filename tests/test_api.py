"""The API contract every integration relies on: auth, the error shape, OpenAPI, pagination."""

from typing import Any

import pytest
from django.test import Client

from omnia.accounts import actions as accounts_actions
from omnia.accounts.models import ApiToken
from omnia.core.permissions import Role
from tests.factories import make_location, make_token

pytestmark = pytest.mark.django_db


def call(client: Client, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return getattr(client, method)(f"/api/v1{path}", content_type="application/json", **headers, **kwargs)


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nonsense", "Bearer omn_deadbeef_nope", "Token abc"])
def test_missing_or_invalid_token_is_401_with_the_error_shape(client: Client, header: str | None) -> None:
    make_token()
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.get("/api/v1/locations", **extra)

    assert_error(response, 401, "UNAUTHENTICATED")


def test_every_operation_requires_a_token(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method in operations:
            url = path.replace("{token_id}", "1")
            response = getattr(client, method)(url, content_type="application/json")
            assert_error(response, 401, "UNAUTHENTICATED")


def test_revoked_token_is_401(client: Client) -> None:
    secret = make_token()
    assert call(client, "get", "/me", secret).status_code == 200
    token = ApiToken.objects.get()

    accounts_actions.do_revoke_token(actor=None, token_id=token.pk)

    assert_error(call(client, "get", "/me", secret), 401, "UNAUTHENTICATED")


def test_token_is_stored_hashed_and_records_last_use(client: Client) -> None:
    secret = make_token()
    token = ApiToken.objects.get()
    assert secret not in (token.key_hash, token.prefix)
    assert token.last_used_at is None

    call(client, "get", "/me", secret)

    token.refresh_from_db()
    assert token.last_used_at is not None


def test_wrong_role_is_403(client: Client) -> None:
    operator = make_token(role=Role.OPERATOR)

    assert_error(call(client, "get", "/users", operator), 403, "ROLE_FORBIDDEN")
    assert call(client, "get", "/customers", operator).status_code == 200


def test_missing_scope_is_403(client: Client) -> None:
    reader = make_token(scopes=["customers:read"])

    assert call(client, "get", "/customers", reader).status_code == 200
    assert_error(call(client, "get", "/orders", reader), 403, "SCOPE_MISSING")


def test_write_scope_implies_read_but_not_the_reverse(client: Client) -> None:
    writer = make_token(role=Role.OWNER, scopes=["users:write"])
    reader = make_token(role=Role.OWNER, scopes=["users:read"])
    payload = {"email": "new@shop.test", "password": "a-long-enough-pass-42", "role": "operator"}

    assert call(client, "get", "/users", writer).status_code == 200
    assert_error(call(client, "post", "/users", reader, data=payload), 403, "SCOPE_MISSING")
    assert call(client, "post", "/users", writer, data=payload).status_code == 201


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"password": "a-long-enough-pass-42", "role": "operator"}, "email", "VALIDATION_FAILED"),
        ({"email": "not-an-email", "password": "a-long-enough-pass-42", "role": "operator"}, "email", "EMAIL_INVALID"),
        ({"email": "x@shop.test", "password": "a-long-enough-pass-42", "role": "boss"}, "role", "ROLE_INVALID"),
        ({"email": "x@shop.test", "password": "a-long-enough-pass-42", "role": "clerk"}, "store", "STORE_REQUIRED"),
        (
            {"email": "x@shop.test", "password": "a-long-enough-pass-42", "role": "clerk", "store": "nowhere"},
            "store",
            "STORE_INVALID",
        ),
        ({"email": "x@shop.test", "password": "12345678", "role": "operator"}, "password", "PASSWORD_WEAK"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_changes_nothing(
    client: Client, payload: dict[str, str], field: str, code: str
) -> None:
    owner = make_token(role=Role.OWNER)

    response = call(client, "post", "/users", owner, data=payload)

    assert_error(response, 422, code, field)
    assert not call(client, "get", "/users", owner).json()["items"]


def test_malformed_json_is_a_4xx_with_the_error_shape(client: Client) -> None:
    owner = make_token(role=Role.OWNER)

    response = client.post(
        "/api/v1/users", data="{not json", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {owner}"
    )

    assert 400 <= response.status_code < 500
    assert set(response.json()["error"]) == {"code", "message", "field"}


def test_duplicate_user_is_409(client: Client) -> None:
    owner = make_token(role=Role.OWNER)
    payload = {"email": "Same@Shop.test", "password": "a-long-enough-pass-42", "role": "manager"}
    assert call(client, "post", "/users", owner, data=payload).status_code == 201

    assert_error(
        call(client, "post", "/users", owner, data={**payload, "email": "same@shop.test"}), 409, "USER_EXISTS", "email"
    )


def test_clerk_created_through_the_api_belongs_to_the_store(client: Client) -> None:
    store = make_location(code="alm-dostyk")
    owner = make_token(role=Role.OWNER)

    response = call(
        client,
        "post",
        "/users",
        owner,
        data={"email": "clerk@shop.test", "password": "a-long-enough-pass-42", "role": "clerk", "store": store.code},
    )

    assert response.status_code == 201
    assert response.json()["store"] == "alm-dostyk"


def test_tokens_created_through_the_api_work_and_can_be_revoked(client: Client) -> None:
    owner = make_token(role=Role.OWNER)

    created = call(client, "post", "/tokens", owner, data={"name": "1C", "scopes": ["orders:read"], "role": "manager"})
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert call(client, "get", "/orders", secret).status_code == 200

    revoked = call(client, "delete", f"/tokens/{created.json()['id']}", owner)
    assert revoked.json()["revoked_at"]
    assert_error(call(client, "get", "/orders", secret), 401, "UNAUTHENTICATED")
    assert_error(call(client, "delete", "/tokens/999999", owner), 404, "TOKEN_NOT_FOUND")


def test_unknown_scope_is_refused(client: Client) -> None:
    owner = make_token(role=Role.OWNER)

    response = call(client, "post", "/tokens", owner, data={"name": "x", "scopes": ["everything"]})

    assert_error(response, 422, "SCOPE_INVALID", "scopes")


def test_openapi_document_describes_the_api(client: Client) -> None:
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/customers",
        "/api/v1/orders",
        "/api/v1/products",
        "/api/v1/locations",
        "/api/v1/tokens",
        "/api/v1/users",
        "/api/v1/me",
    } <= set(schema["paths"])
    assert "BearerToken" in schema["components"]["securitySchemes"]
    assert client.get("/api/v1/docs").status_code == 200


def test_cursor_pagination_walks_every_row_once(client: Client) -> None:
    for n in range(7):
        make_location(code=f"p{n}")
    owner = make_token(role=Role.OWNER)
    for n in range(5):
        accounts_actions.check_create_user(
            actor=None, email=f"u{n}@shop.test", password="x", role="operator", validate_password=False
        )

    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = call(client, "get", "/users", owner, data=query).json()
        seen += [u["email"] for u in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break

    assert sorted(seen) == [f"u{n}@shop.test" for n in range(5)]


@pytest.mark.parametrize(
    ("query", "field"), [({"cursor": "garbage!"}, "cursor"), ({"limit": 0}, "limit"), ({"limit": 5000}, "limit")]
)
def test_bad_pagination_is_422(client: Client, query: dict[str, Any], field: str) -> None:
    owner = make_token(role=Role.OWNER)

    code = "CURSOR_INVALID" if field == "cursor" else "LIMIT_INVALID"
    assert_error(call(client, "get", "/users", owner, data=query), 422, code, field)


def test_healthz_reports_the_database(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
