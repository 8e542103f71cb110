"""The customers API contract (Customer 360): shapes, search, create, merge/undo, timeline, consents."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from omnia.core.permissions import Role
from omnia.customers import actions as customers_actions
from omnia.customers.models import Customer
from omnia.orders.models import Order
from tests.factories import make_token

pytestmark = pytest.mark.django_db

CARD_KEYS = {
    "id", "name", "first_name", "last_name", "city", "language", "tags", "loyalty_card", "orders_count",
    "lifetime_value", "currency", "last_contact_at", "created_at", "created_source", "identities",
    "birthday", "notes", "addresses", "consents", "preferences", "merged_into",
}  # fmt: skip
LIST_KEYS = CARD_KEYS - {"birthday", "notes", "addresses", "consents", "preferences", "merged_into"}


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


@pytest.fixture
def token() -> str:
    return make_token(role=Role.OPERATOR, scopes=["customers:write"])


def create(client: Client, token: str, **fields: Any) -> dict[str, Any]:
    response = call(client, "post", "/customers", token, data=fields)
    assert response.status_code == 201, response.content
    return dict(response.json())


def card(client: Client, token: str, customer_id: int) -> dict[str, Any]:
    response = call(client, "get", f"/customers/{customer_id}", token)
    assert response.status_code == 200, response.content
    return dict(response.json())


def values(customer: dict[str, Any]) -> set[tuple[str, str]]:
    return {(i["kind"], i["value"]) for i in customer["identities"]}


# --- create and read ----------------------------------------------------------------------------


def test_create_answers_201_with_the_card(client: Client, token: str) -> None:
    response = call(
        client,
        "post",
        "/customers",
        token,
        data={
            "first_name": " Айгерим ",
            "last_name": "Сейткали",
            "city": "Алматы",
            "language": "kk",
            "birthday": "1990-03-08",
            "loyalty_card": "LC-1",
            "preferred_channel": "whatsapp",
            "do_not_call": True,
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "08:00",
            "tags": ["VIP", "opt"],
            "identities": [{"kind": "phone", "value": "8 (701) 123-45-67"}, {"kind": "email", "value": "A@Mail.KZ"}],
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == CARD_KEYS
    assert body["name"] == "Айгерим Сейткали"
    assert body["tags"] == ["opt", "vip"]
    assert values(body) == {("phone", "+77011234567"), ("email", "a@mail.kz")}
    phone = next(i for i in body["identities"] if i["kind"] == "phone")
    assert phone["raw"] == "8 (701) 123-45-67"
    assert body["lifetime_value"] == "0.00"
    assert body["currency"] == settings.OMNIA_CURRENCY
    assert body["created_source"] == "api"
    assert body["birthday"] == "1990-03-08"
    assert body["merged_into"] is None
    assert body["preferences"] == {
        "preferred_channel": "whatsapp",
        "do_not_call": True,
        "quiet_hours_start": "22:00:00",
        "quiet_hours_end": "08:00:00",
        "language": "kk",
    }
    assert card(client, token, body["id"]) == body


@pytest.mark.parametrize("typed", ["+7 701 123 45 67", "8 (701) 123-45-67", "77011234567"])
def test_search_finds_a_phone_typed_in_any_format(client: Client, token: str, typed: str) -> None:
    aigerim = create(client, token, first_name="Айгерим", identities=[{"kind": "phone", "value": "87011234567"}])
    create(client, token, first_name="Ольга", identities=[{"kind": "phone", "value": "87017654321"}])

    page = call(client, "get", "/customers", token, data={"q": typed}).json()

    assert set(page) == {"items", "next"}
    assert [c["id"] for c in page["items"]] == [aigerim["id"]]
    assert set(page["items"][0]) == LIST_KEYS
    assert page["items"][0]["identities"][0]["value"] == "+77011234567"
    assert page["next"] is None


def test_list_pages_newest_card_first(client: Client, token: str) -> None:
    ids = [create(client, token, first_name=f"N{n}")["id"] for n in range(5)]

    seen: list[int] = []
    cursor = None
    while True:
        page = call(client, "get", "/customers", token, data={"limit": 2, **({"cursor": cursor} if cursor else {})})
        seen += [c["id"] for c in page.json()["items"]]
        cursor = page.json()["next"]
        if cursor is None:
            break

    assert seen == sorted(ids, reverse=True)


def test_list_costs_the_same_queries_for_any_page_size(client: Client, token: str) -> None:
    def queries_for_listing() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert call(client, "get", "/customers", token).status_code == 200
        return len(captured)

    create(client, token, tags=["vip"], identities=[{"kind": "phone", "value": "87011111111"}])
    few = queries_for_listing()
    for n in range(5):
        create(client, token, tags=["vip", f"t{n}"], identities=[{"kind": "email", "value": f"c{n}@mail.kz"}])

    assert queries_for_listing() == few


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"tag": "vip"}, "vip"),
        ({"channel": "telegram"}, "tg"),
        ({"city": "Астана"}, "tg"),
        ({"has_orders": "false", "tag": "vip"}, "vip"),
        ({"not_contacted_since": "2000-01-01T00:00:00+00:00", "city": "Астана"}, "tg"),
    ],
)
def test_list_filters(client: Client, token: str, query: dict[str, str], expected: str) -> None:
    made = {
        "vip": create(
            client, token, city="Алматы", tags=["VIP"], identities=[{"kind": "phone", "value": "87011111111"}]
        ),
        "tg": create(client, token, city="Астана", identities=[{"kind": "telegram", "value": "123456"}]),
    }

    items = call(client, "get", "/customers", token, data=query).json()["items"]

    assert [c["id"] for c in items] == [made[expected]["id"]]


def test_list_filter_with_an_unknown_channel_is_422(client: Client, token: str) -> None:
    assert_error(
        call(client, "get", "/customers", token, data={"channel": "pigeon"}), 422, "VALIDATION_FAILED", "channel"
    )


def test_duplicate_phone_is_409_naming_the_other_card_and_creates_nothing(client: Client, token: str) -> None:
    first = create(client, token, first_name="A", identities=[{"kind": "phone", "value": "+77011234567"}])

    response = call(
        client,
        "post",
        "/customers",
        token,
        data={
            "first_name": "B",
            "identities": [{"kind": "email", "value": "b@mail.kz"}, {"kind": "phone", "value": "8 701 123 45 67"}],
        },
    )

    assert_error(response, 409, "IDENTITY_TAKEN", "identities.1")
    assert f"#{first['id']}" in response.json()["error"]["message"]
    assert list(Customer.objects.values_list("first_name", flat=True)) == ["A"]
    assert call(client, "get", "/customers", token, data={"q": "b@mail.kz"}).json()["items"] == []


@pytest.mark.parametrize(
    ("identity", "code", "field"),
    [
        ({"kind": "phone", "value": "12345"}, "PHONE_INVALID", "identities.0"),
        ({"kind": "email", "value": "not-an-email"}, "EMAIL_INVALID", "identities.0"),
        ({"kind": "pigeon", "value": "x"}, "VALIDATION_FAILED", "identities.0.kind"),
    ],
)
def test_bad_identity_on_create_is_422_naming_the_field_and_creates_nothing(
    client: Client, token: str, identity: dict[str, str], code: str, field: str
) -> None:
    response = call(client, "post", "/customers", token, data={"first_name": "X", "identities": [identity]})

    assert_error(response, 422, code, field)
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"language": "de"}, "LANGUAGE_INVALID", "language"),
        ({"preferred_channel": "pigeon"}, "CHANNEL_INVALID", "preferred_channel"),
        ({"birthday": "2999-01-01"}, "BIRTHDAY_INVALID", "birthday"),
        ({"quiet_hours_start": "22:00"}, "QUIET_HOURS_INVALID", "quiet_hours_end"),
    ],
)
def test_bad_field_on_create_is_422(client: Client, token: str, fields: dict[str, str], code: str, field: str) -> None:
    assert_error(call(client, "post", "/customers", token, data=fields), 422, code, field)
    assert not Customer.objects.exists()


def test_patch_changes_only_the_fields_sent(client: Client, token: str) -> None:
    before = create(client, token, first_name="Ольга", city="Алматы", notes="likes blue", tags=["vip"])

    response = call(client, "patch", f"/customers/{before['id']}", token, data={"city": "Астана", "tags": ["new"]})

    assert response.status_code == 200, response.content
    after = response.json()
    assert (after["city"], after["tags"]) == ("Астана", ["new"])
    assert {k: v for k, v in after.items() if k not in ("city", "tags")} == {
        k: v for k, v in before.items() if k not in ("city", "tags")
    }
    assert call(client, "get", "/customers", token, data={"q": "ольга", "city": "Астана"}).json()["items"]


def test_patch_can_move_one_end_of_the_quiet_hours(client: Client, token: str) -> None:
    customer = create(client, token, quiet_hours_start="22:00", quiet_hours_end="08:00")

    response = call(client, "patch", f"/customers/{customer['id']}", token, data={"quiet_hours_start": "21:00"})

    assert response.status_code == 200, response.content
    assert response.json()["preferences"]["quiet_hours_start"] == "21:00:00"
    assert response.json()["preferences"]["quiet_hours_end"] == "08:00:00"


def test_patch_with_a_bad_field_is_422_and_changes_nothing(client: Client, token: str) -> None:
    customer = create(client, token, city="Алматы", language="ru")

    response = call(client, "patch", f"/customers/{customer['id']}", token, data={"city": "Астана", "language": "de"})

    assert_error(response, 422, "LANGUAGE_INVALID", "language")
    assert card(client, token, customer["id"]) == customer


def test_identities_and_addresses_are_added_and_removed(client: Client, token: str) -> None:
    customer = create(client, token, first_name="A")
    path = f"/customers/{customer['id']}"

    identity = call(client, "post", f"{path}/identities", token, data={"kind": "whatsapp", "value": "8 701 555 44 33"})
    address = call(client, "post", f"{path}/addresses", token, data={"city": "Алматы", "line": "Абая 1"})

    assert identity.status_code == 201, identity.content
    assert identity.json()["value"] == "+77015554433"
    assert address.status_code == 201, address.content
    assert address.json()["is_default"] is True
    full = card(client, token, customer["id"])
    assert values(full) == {("whatsapp", "+77015554433")}
    assert [a["line"] for a in full["addresses"]] == ["Абая 1"]

    assert call(client, "delete", f"{path}/identities/{identity.json()['id']}", token).status_code == 204
    assert call(client, "delete", f"{path}/addresses/{address.json()['id']}", token).status_code == 204
    full = card(client, token, customer["id"])
    assert (full["identities"], full["addresses"]) == ([], [])


def test_adding_an_identity_of_another_card_is_409(client: Client, token: str) -> None:
    owner = create(client, token, identities=[{"kind": "email", "value": "a@mail.kz"}])
    other = create(client, token)

    response = call(
        client, "post", f"/customers/{other['id']}/identities", token, data={"kind": "email", "value": "A@mail.kz"}
    )

    assert_error(response, 409, "IDENTITY_TAKEN", "value")
    assert f"#{owner['id']}" in response.json()["error"]["message"]
    assert card(client, token, other["id"])["identities"] == []


def test_removing_another_cards_identity_is_refused(client: Client, token: str) -> None:
    owner = create(client, token, identities=[{"kind": "email", "value": "a@mail.kz"}])
    other = create(client, token)

    response = call(client, "delete", f"/customers/{other['id']}/identities/{owner['identities'][0]['id']}", token)

    assert 400 <= response.status_code < 500
    assert card(client, token, owner["id"]) == owner


# --- timeline and consents ------------------------------------------------------------------------


def test_timeline_pages_newest_first_with_next(client: Client, token: str) -> None:
    customer = create(client, token)
    for n in range(5):
        note = call(client, "post", f"/customers/{customer['id']}/notes", token, data={"text": f"note {n}"})
        assert note.status_code == 201, note.content
        assert set(note.json()) == {"id", "at", "kind", "channel", "summary", "ref"}
        assert (note.json()["kind"], note.json()["summary"], note.json()["ref"]) == ("note", f"note {n}", None)

    summaries: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = call(client, "get", f"/customers/{customer['id']}/timeline", token, data=query).json()
        summaries += [e["summary"] for e in page["items"]]
        cursor = page["next"]
        pages += 1
        if cursor is None:
            break

    assert summaries == [f"note {n}" for n in reversed(range(5))]
    assert pages == 3


def test_timeline_filters_by_kind(client: Client, token: str) -> None:
    customer = create(client, token)
    path = f"/customers/{customer['id']}"
    call(client, "post", f"{path}/notes", token, data={"text": "hello"})
    call(client, "post", f"{path}/consents", token, data=consent(granted=True))

    entries = call(client, "get", f"{path}/timeline", token, data={"kind": "consent"}).json()["items"]

    assert [e["kind"] for e in entries] == ["consent"]
    assert entries[0]["ref"]["type"] == "customers.consent"


def test_empty_note_is_422(client: Client, token: str) -> None:
    customer = create(client, token)

    assert_error(
        call(client, "post", f"/customers/{customer['id']}/notes", token, data={"text": "  "}),
        422,
        "NOTE_EMPTY",
        "text",
    )


def consent(**overrides: Any) -> dict[str, Any]:
    return {"channel": "whatsapp", "purpose": "marketing", "granted": True, "source": "store", "method": "verbal"} | (
        overrides
    )


def test_consents_latest_is_in_force_and_history_keeps_all(client: Client, token: str) -> None:
    customer = create(client, token)
    path = f"/customers/{customer['id']}/consents"

    given = call(client, "post", path, token, data=consent(granted=True))
    withdrawn = call(client, "post", path, token, data=consent(granted=False, method="STOP reply", note="by SMS"))
    service = call(client, "post", path, token, data=consent(channel="any", purpose="transactional"))

    assert [r.status_code for r in (given, withdrawn, service)] == [201, 201, 201]
    assert set(withdrawn.json()) == {"id", "channel", "purpose", "granted", "at", "source", "method", "note"}
    body = call(client, "get", path, token).json()
    in_force = {(c["channel"], c["purpose"]): c["granted"] for c in body["in_force"]}
    assert in_force == {("whatsapp", "marketing"): False, ("any", "transactional"): True}
    assert len(body["history"]) == 3
    assert card(client, token, customer["id"])["consents"] == body["in_force"]


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"channel": "pigeon"}, "CHANNEL_INVALID", "channel"),
        ({"purpose": "spam"}, "PURPOSE_INVALID", "purpose"),
        ({"source": " "}, "CONSENT_ORIGIN_REQUIRED", "source"),
    ],
)
def test_bad_consent_is_422_and_records_nothing(
    client: Client, token: str, overrides: dict[str, str], code: str, field: str
) -> None:
    customer = create(client, token)
    path = f"/customers/{customer['id']}/consents"

    assert_error(call(client, "post", path, token, data=consent(**overrides)), 422, code, field)
    assert call(client, "get", path, token).json() == {"in_force": [], "history": []}


# --- merge and undo ---------------------------------------------------------------------------------


SURVIVOR_ORDERED = dt.datetime(2025, 1, 10, 12, 0, 0, 123456, tzinfo=dt.UTC)


@pytest.fixture
def pair(client: Client, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    survivor = create(client, token, first_name="Айгерим", identities=[{"kind": "phone", "value": "87011234567"}])
    absorbed = create(
        client,
        token,
        first_name="Aigerim",
        last_name="Seitkali",
        city="Алматы",
        tags=["vip"],
        identities=[{"kind": "telegram", "value": "555"}, {"kind": "email", "value": "a@mail.kz"}],
    )
    call(client, "post", f"/customers/{absorbed['id']}/notes", token, data={"text": "asked about lights"})
    call(client, "post", f"/customers/{absorbed['id']}/consents", token, data=consent(granted=False))
    place_order(survivor["id"], "W-1", "4990.00", at=SURVIVOR_ORDERED)
    place_order(absorbed["id"], "W-2", "12990.50", at=SURVIVOR_ORDERED + dt.timedelta(days=2))
    return card(client, token, survivor["id"]), card(client, token, absorbed["id"])


def place_order(customer_id: int, number: str, total: str, *, at: dt.datetime) -> None:
    """Given: an order of the customer, recorded on the card as the orders app does."""
    customer = Customer.objects.get(pk=customer_id)
    order = Order.objects.create(
        number=number, customer=customer, source="web", total=Decimal(total), currency="KZT", placed_at=at
    )
    customers_actions.do_record_order(
        customer=customer, order=order, number=number, total=Decimal(total), currency="KZT", channel="web", at=at
    )


def merge(client: Client, token: str, survivor_id: int, other_id: int) -> Any:
    return call(client, "post", f"/customers/{survivor_id}/merge", token, data={"other_id": other_id})


def test_merge_gives_the_survivor_everything_and_a_merge_id(
    client: Client, token: str, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    survivor, absorbed = pair

    response = merge(client, token, survivor["id"], absorbed["id"])

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == survivor["id"]
    assert isinstance(body["merge_id"], int)
    assert set(body) == CARD_KEYS | {"merge_id"}
    assert values(body) == values(survivor) | values(absorbed)
    assert (body["first_name"], body["last_name"], body["city"], body["tags"]) == (
        "Айгерим",
        "Seitkali",
        "Алматы",
        ["vip"],
    )
    assert body["consents"][0]["granted"] is False
    assert (body["orders_count"], body["lifetime_value"]) == (2, "17980.50")
    assert body["last_contact_at"] == absorbed["last_contact_at"]
    assert [c["id"] for c in call(client, "get", "/customers", token, data={"q": "W-2"}).json()["items"]] == [
        survivor["id"]
    ]
    assert card(client, token, absorbed["id"])["merged_into"] == survivor["id"]
    listed = [c["id"] for c in call(client, "get", "/customers", token).json()["items"]]
    assert listed == [survivor["id"]]
    timeline = call(client, "get", f"/customers/{survivor['id']}/timeline", token).json()["items"]
    assert "asked about lights" in [e["summary"] for e in timeline]


def test_undo_puts_both_cards_back_exactly(
    client: Client, token: str, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    survivor, absorbed = pair
    timelines = {c["id"]: call(client, "get", f"/customers/{c['id']}/timeline", token).json() for c in pair}
    merge_id = merge(client, token, survivor["id"], absorbed["id"]).json()["merge_id"]

    response = call(client, "post", f"/merges/{merge_id}/undo", token)

    assert response.status_code == 200, response.content
    assert response.json() == {"merge_id": merge_id, "survivor": survivor, "absorbed": absorbed}
    assert card(client, token, survivor["id"]) == survivor
    assert card(client, token, absorbed["id"]) == absorbed
    for customer_id, before in timelines.items():
        assert call(client, "get", f"/customers/{customer_id}/timeline", token).json() == before
    for q, owner in (("W-2", absorbed), ("Seitkali", absorbed), ("+77011234567", survivor)):
        assert [c["id"] for c in call(client, "get", "/customers", token, data={"q": q}).json()["items"]] == [
            owner["id"]
        ]


def test_undo_restores_last_contact_to_the_microsecond(
    client: Client, token: str, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    survivor, absorbed = pair
    # Between the survivor's real last contact (…00.123456) and the same instant cut to milliseconds.
    since = {"contacted_since": "2025-01-10T12:00:00.123400+00:00"}
    before = [c["id"] for c in call(client, "get", "/customers", token, data=since).json()["items"]]
    assert before == [absorbed["id"], survivor["id"]]
    merge_id = merge(client, token, survivor["id"], absorbed["id"]).json()["merge_id"]

    assert call(client, "post", f"/merges/{merge_id}/undo", token).status_code == 200

    assert [c["id"] for c in call(client, "get", "/customers", token, data=since).json()["items"]] == before


def test_undo_twice_is_409(client: Client, token: str, pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    merge_id = merge(client, token, pair[0]["id"], pair[1]["id"]).json()["merge_id"]
    assert call(client, "post", f"/merges/{merge_id}/undo", token).status_code == 200

    assert_error(call(client, "post", f"/merges/{merge_id}/undo", token), 409, "MERGE_ALREADY_UNDONE")


def test_merge_with_itself_or_a_merged_card_is_409_and_changes_nothing(
    client: Client, token: str, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    survivor, absorbed = pair
    third = create(client, token, first_name="Third")

    assert_error(merge(client, token, survivor["id"], survivor["id"]), 409, "MERGE_NOT_ALLOWED", "other_id")
    assert card(client, token, survivor["id"]) == survivor
    assert merge(client, token, survivor["id"], absorbed["id"]).status_code == 200
    assert_error(merge(client, token, third["id"], absorbed["id"]), 409, "MERGE_NOT_ALLOWED", "other_id")
    assert_error(merge(client, token, absorbed["id"], third["id"]), 409, "MERGE_NOT_ALLOWED", "id")
    assert card(client, token, third["id"]) == third


def test_unknown_merge_or_other_card_is_404(client: Client, token: str) -> None:
    customer = create(client, token)

    assert_error(call(client, "post", "/merges/999999/undo", token), 404, "MERGE_NOT_FOUND")
    assert_error(merge(client, token, customer["id"], 999999), 404, "CUSTOMER_NOT_FOUND", "other_id")


def test_duplicates_suggests_a_messenger_handle_equal_to_another_cards_phone(client: Client, token: str) -> None:
    by_phone = create(client, token, identities=[{"kind": "phone", "value": "87011234567"}])
    by_whatsapp = create(client, token, identities=[{"kind": "whatsapp", "value": "77011234567"}])

    items = call(client, "get", "/customers/duplicates", token).json()["items"]

    assert [{d["first"]["id"], d["second"]["id"]} for d in items] == [{by_phone["id"], by_whatsapp["id"]}]
    assert items[0]["reason"] == "same phone +77011234567"


def test_duplicates_suggests_the_same_name_in_the_same_city(client: Client, token: str) -> None:
    one = create(client, token, first_name="Ольга", last_name="Иванова", city="Алматы")
    two = create(client, token, first_name="Ольга", last_name="Иванова", city="Алматы")
    create(client, token, first_name="Ольга", last_name="Иванова", city="Астана")

    response = call(client, "get", "/customers/duplicates", token)

    assert response.status_code == 200, response.content
    items = response.json()["items"]
    assert [(d["first"]["id"], d["second"]["id"]) for d in items] == [(one["id"], two["id"])]
    assert items[0]["reason"] == "same name in Алматы"
    assert items[0]["first"]["name"] == "Ольга Иванова"


# --- permissions and unknown ids ------------------------------------------------------------------


def test_reading_needs_customers_read_and_writing_customers_write(client: Client) -> None:
    reader = make_token(role=Role.OPERATOR, scopes=["customers:read"])
    stranger = make_token(role=Role.OWNER, scopes=["orders:write"])

    assert call(client, "get", "/customers", reader).status_code == 200
    assert_error(call(client, "post", "/customers", reader, data={"first_name": "X"}), 403, "SCOPE_MISSING")
    assert_error(call(client, "get", "/customers", stranger), 403, "SCOPE_MISSING")
    assert not Customer.objects.exists()


def test_write_scope_can_create(client: Client) -> None:
    writer = make_token(role=Role.OPERATOR, scopes=["customers:write"])

    assert call(client, "post", "/customers", writer, data={"first_name": "X"}).status_code == 201
    assert call(client, "get", "/customers", writer).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/customers/999999", None),
        ("patch", "/customers/999999", {"city": "Алматы"}),
        ("get", "/customers/999999/timeline", None),
        ("get", "/customers/999999/consents", None),
        ("post", "/customers/999999/notes", {"text": "hi"}),
        ("post", "/customers/999999/identities", {"kind": "email", "value": "x@mail.kz"}),
        ("post", "/customers/999999/merge", {"other_id": 1}),
    ],
)
def test_unknown_customer_is_404(client: Client, token: str, method: str, path: str, data: Any) -> None:
    kwargs = {"data": data} if data is not None else {}

    assert_error(call(client, method, path, token, **kwargs), 404, "CUSTOMER_NOT_FOUND")
