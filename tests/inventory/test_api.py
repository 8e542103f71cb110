"""The stock API contract: availability, the ledger, receipts, sales, returns, corrections, reservations,
transfers, supplies and back-in-stock requests. Shapes, errors that name the field and change nothing,
role and scope rules, pagination."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client

from omnia.catalog.models import Variant
from omnia.core import clock
from omnia.core.permissions import Role
from omnia.customers import actions as customers_actions
from omnia.inventory import actions, queries
from omnia.inventory.actions import Line
from omnia.inventory.models import Location, Reservation, StockLevel, StockMove, Supply, Transfer
from tests.factories import make_location, make_token, make_variant

pytestmark = pytest.mark.django_db

AVAILABILITY_KEYS = {"sku", "price", "currency", "regular_price", "promo_ends_at", "locations"}
LOCATION_KEYS = {
    "code", "name", "kind", "city", "on_hand", "reserved", "available", "in_transit", "ships", "pickup", "next_arrival",
}  # fmt: skip
MOVE_KEYS = {"id", "at", "sku", "location", "kind", "quantity", "reserved_change", "reason", "reference", "actor"}


def call(client: Client, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return getattr(client, method)(f"/api/v1{path}", content_type="application/json", **headers, **kwargs)


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field, body


def level(variant: Variant, location: Location) -> tuple[int, int, int]:
    row = StockLevel.objects.filter(variant=variant, location=location).first()
    return (row.on_hand, row.reserved, row.in_transit) if row else (0, 0, 0)


@pytest.fixture
def token() -> str:
    return make_token(role=Role.MANAGER, scopes=["stock:write"])


@pytest.fixture
def operator() -> str:
    """Tokens act as owner, manager or operator (clerks work in the console): the least a token can be."""
    return make_token(role=Role.OPERATOR, scopes=["stock:write"])


@pytest.fixture
def store() -> Location:
    return make_location(code="dostyk", name="Достык", city="Алматы", offers_pickup=True)


@pytest.fixture
def warehouse() -> Location:
    return make_location(code="wh-ast", name="Склад Астана", kind=Location.Kind.WAREHOUSE, city="Астана", ships=True,
                         ships_to=["Астана", "Караганда"])  # fmt: skip


@pytest.fixture
def variant() -> Variant:
    return make_variant(sku="GRL-001", price="4990")


def stock(variant: Variant, location: Location, quantity: int) -> None:
    actions.do_receive(actor=None, location=location, lines=[Line(variant, quantity)], reference="opening")


# --- availability -------------------------------------------------------------------------------------------


def test_availability_answers_the_contract(
    client: Client, token: str, variant: Variant, store: Location, warehouse: Location
) -> None:
    stock(variant, store, 5)
    actions.check_reserve(actor=None, variant=variant, location=store, quantity=2)
    actions.check_create_supply(
        actor=None, location=warehouse, expected_on=dt.date(2031, 3, 1), lines=[Line(variant, 12)]
    )

    response = call(client, "get", "/availability?sku=GRL-001", token)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == AVAILABILITY_KEYS
    assert (body["sku"], body["price"], body["currency"]) == ("GRL-001", "4990.00", "KZT")
    assert (body["regular_price"], body["promo_ends_at"]) == ("4990.00", None)
    assert [set(row) for row in body["locations"]] == [LOCATION_KEYS, LOCATION_KEYS]
    first, second = body["locations"]
    assert first == {
        "code": "dostyk", "name": "Достык", "kind": "store", "city": "Алматы", "on_hand": 5, "reserved": 2,
        "available": 3, "in_transit": 0, "ships": False, "pickup": True, "next_arrival": None,
    }  # fmt: skip
    assert (second["code"], second["available"], second["ships"]) == ("wh-ast", 0, True)
    assert second["next_arrival"] == {"date": "2031-03-01", "quantity": 12}


def test_availability_price_is_the_promotional_one_while_it_runs(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    now = clock.now()
    Variant.objects.filter(pk=variant.pk).update(
        promo_price=Decimal("3990"),
        promo_starts_at=now - dt.timedelta(days=1),
        promo_ends_at=now + dt.timedelta(days=3),
    )

    body = call(client, "get", "/availability?sku=GRL-001", token).json()

    assert (body["price"], body["regular_price"]) == ("3990.00", "4990.00")
    ends = dt.datetime.fromisoformat(body["promo_ends_at"])
    assert abs(ends - (now + dt.timedelta(days=3))) < dt.timedelta(milliseconds=1)


def test_availability_for_a_city_says_who_ships_there_and_where_to_pick_up(
    client: Client, token: str, variant: Variant, store: Location, warehouse: Location
) -> None:
    rows = {
        r["code"]: r for r in call(client, "get", "/availability?sku=GRL-001&city=Караганда", token).json()["locations"]
    }

    assert (rows["wh-ast"]["ships"], rows["wh-ast"]["pickup"]) == (True, False)
    assert (rows["dostyk"]["ships"], rows["dostyk"]["pickup"]) == (False, False)
    almaty = {
        r["code"]: r for r in call(client, "get", "/availability?sku=GRL-001&city=алматы", token).json()["locations"]
    }
    assert (almaty["wh-ast"]["ships"], almaty["dostyk"]["pickup"]) == (False, True)


def test_an_unknown_sku_is_404_naming_the_field(client: Client, token: str, store: Location) -> None:
    assert_error(call(client, "get", "/availability?sku=NOPE", token), 404, "SKU_NOT_FOUND", "sku")


def test_availability_of_several_skus_at_once(client: Client, token: str, variant: Variant, store: Location) -> None:
    other = make_variant(sku="KIT-002", price="100")
    stock(other, store, 4)

    response = call(client, "post", "/availability", token, data={"skus": ["KIT-002", "GRL-001"]})

    assert response.status_code == 200, response.content
    items = response.json()["items"]
    assert [(i["sku"], i["locations"][0]["available"]) for i in items] == [("KIT-002", 4), ("GRL-001", 0)]
    assert_error(
        call(client, "post", "/availability", token, data={"skus": ["GRL-001", "NOPE"]}), 404, "SKU_NOT_FOUND",
        "skus[1]",
    )  # fmt: skip


def test_where_else_lists_other_locations_with_units(
    client: Client, token: str, variant: Variant, store: Location, warehouse: Location
) -> None:
    empty = make_location(code="mega")
    stock(variant, store, 2)
    stock(variant, warehouse, 7)

    body = call(client, "get", "/stock/where-else?sku=GRL-001&exclude=dostyk", token).json()

    assert body["sku"] == "GRL-001"
    assert [(r["code"], r["available"]) for r in body["locations"]] == [("wh-ast", 7)]
    assert empty.code not in {r["code"] for r in body["locations"]}
    assert_error(call(client, "get", "/stock/where-else?sku=GRL-001&exclude=nope", token), 404,
                 "LOCATION_NOT_FOUND", "exclude")  # fmt: skip


# --- receipts and the ledger --------------------------------------------------------------------------------


def test_a_receipt_writes_ledger_rows(client: Client, token: str, variant: Variant, store: Location) -> None:
    other = make_variant(sku="KIT-002")

    response = call(
        client, "post", "/stock/receipts", token,
        data={"location": "dostyk", "lines": [{"sku": "GRL-001", "quantity": 3}, {"sku": "KIT-002", "quantity": 2},
                                              {"sku": "grl-001", "quantity": 1}], "reference": "ТН-15"},
    )  # fmt: skip

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"location", "reference", "moves"}
    assert (body["location"], body["reference"]) == ("dostyk", "ТН-15")
    assert all(set(m) == MOVE_KEYS for m in body["moves"])
    assert sorted((m["sku"], m["quantity"], m["kind"]) for m in body["moves"]) == [
        ("GRL-001", 4, "receipt"), ("KIT-002", 2, "receipt"),
    ]  # fmt: skip
    assert level(variant, store) == (4, 0, 0)
    assert level(other, store) == (2, 0, 0)

    ledger = call(client, "get", "/stock/ledger?sku=GRL-001", token).json()
    assert [(m["sku"], m["location"], m["quantity"], m["reference"]) for m in ledger["items"]] == [
        ("GRL-001", "dostyk", 4, "ТН-15")
    ]


@pytest.mark.parametrize(
    ("lines", "status", "code", "field"),
    [
        ([{"sku": "GRL-001", "quantity": 2}, {"sku": "NOPE", "quantity": 1}], 404, "SKU_NOT_FOUND", "lines[1].sku"),
        ([{"sku": "GRL-001", "quantity": 0}], 422, "QUANTITY_INVALID", "lines[0].quantity"),
        ([{"sku": "GRL-001", "quantity": 2}, {"sku": "GRL-001", "quantity": -3}], 422, "QUANTITY_INVALID",
         "lines[1].quantity"),
        ([], 422, "QUANTITY_INVALID", "lines"),
        ([{"sku": "GRL-001", "quantity": "много"}], 422, "VALIDATION_FAILED", "lines.0.quantity"),
        ([{"quantity": 1}], 422, "VALIDATION_FAILED", "lines.0.sku"),
    ],
)  # fmt: skip
def test_a_bad_receipt_names_the_field_and_changes_nothing(
    client: Client, token: str, variant: Variant, store: Location, lines: list[Any], status: int, code: str, field: str
) -> None:
    response = call(client, "post", "/stock/receipts", token, data={"location": "dostyk", "lines": lines})

    assert_error(response, status, code, field)
    assert StockMove.objects.count() == 0
    assert level(variant, store) == (0, 0, 0)


def test_a_receipt_at_an_unknown_or_closed_location_is_refused(client: Client, token: str, variant: Variant) -> None:
    make_location(code="old", is_active=False)
    lines = [{"sku": "GRL-001", "quantity": 1}]

    assert_error(call(client, "post", "/stock/receipts", token, data={"location": "nope", "lines": lines}), 404,
                 "LOCATION_NOT_FOUND", "location")  # fmt: skip
    assert_error(call(client, "post", "/stock/receipts", token, data={"location": "old", "lines": lines}), 422,
                 "LOCATION_INACTIVE", "location")  # fmt: skip
    assert StockMove.objects.count() == 0


def test_the_ledger_is_paginated_newest_first_and_filtered(
    client: Client, token: str, variant: Variant, store: Location, warehouse: Location
) -> None:
    for quantity in (1, 2, 3):
        stock(variant, store, quantity)
    stock(variant, warehouse, 9)

    first = call(client, "get", "/stock/ledger?sku=GRL-001&location=dostyk&limit=2", token).json()
    second = call(client, "get", f"/stock/ledger?sku=GRL-001&location=dostyk&limit=2&cursor={first['next']}", token)

    assert [m["quantity"] for m in first["items"]] == [3, 2]
    assert first["next"]
    assert second.status_code == 200
    assert [m["quantity"] for m in second.json()["items"]] == [1]
    assert second.json()["next"] is None
    everything = call(client, "get", "/stock/ledger?kind=receipt", token).json()["items"]
    assert [m["quantity"] for m in everything] == [9, 3, 2, 1]
    assert_error(call(client, "get", "/stock/ledger?cursor=garbage", token), 422, "CURSOR_INVALID", "cursor")
    assert_error(call(client, "get", "/stock/ledger?limit=0", token), 422, "LIMIT_INVALID", "limit")
    assert_error(call(client, "get", "/stock/ledger?location=nope", token), 404, "LOCATION_NOT_FOUND", "location")


# --- sales, returns, corrections ----------------------------------------------------------------------------


def test_a_sale_takes_only_what_is_available(client: Client, operator: str, variant: Variant, store: Location) -> None:
    stock(variant, store, 2)

    sold = call(client, "post", "/stock/sales", operator, data={"sku": "GRL-001", "location": "dostyk", "quantity": 2,
                                                             "reference": "чек 77"})  # fmt: skip
    assert sold.status_code == 201, sold.content
    assert (sold.json()["kind"], sold.json()["quantity"], sold.json()["reference"]) == ("sale", -2, "чек 77")

    again = call(client, "post", "/stock/sales", operator, data={"sku": "GRL-001", "location": "dostyk", "quantity": 1})
    assert_error(again, 409, "OUT_OF_STOCK", "quantity")
    assert level(variant, store) == (0, 0, 0)

    back = call(client, "post", "/stock/returns", operator, data={"sku": "GRL-001", "location": "dostyk", "quantity": 1,
                                                               "reason": "размер"})  # fmt: skip
    assert back.status_code == 201
    assert (back.json()["kind"], back.json()["quantity"], back.json()["reason"]) == ("return", 1, "размер")
    assert level(variant, store) == (1, 0, 0)


def test_a_correction_needs_a_reason(client: Client, token: str, variant: Variant, store: Location) -> None:
    stock(variant, store, 5)

    response = call(client, "post", "/stock/corrections", token, data={"sku": "GRL-001", "location": "dostyk",
                                                                      "counted": 3})  # fmt: skip

    assert_error(response, 422, "REASON_REQUIRED", "reason")
    assert level(variant, store) == (5, 0, 0)


def test_a_manager_corrects_after_a_count(client: Client, token: str, variant: Variant, store: Location) -> None:
    stock(variant, store, 5)
    data = {"sku": "GRL-001", "location": "dostyk", "counted": 3, "reason": "пересчёт"}

    corrected = call(client, "post", "/stock/corrections", token, data=data)
    unchanged = call(client, "post", "/stock/corrections", token, data=data)

    assert corrected.status_code == 201, corrected.content
    assert corrected.json()["changed"] is True
    assert (corrected.json()["move"]["quantity"], corrected.json()["move"]["reason"]) == (-2, "пересчёт")
    assert unchanged.status_code == 200
    assert unchanged.json() == {"changed": False, "move": None}
    assert level(variant, store) == (3, 0, 0)


def test_a_clerk_may_not_correct(client: Client, operator: str, variant: Variant, store: Location) -> None:
    stock(variant, store, 5)

    response = call(client, "post", "/stock/corrections", operator,
                    data={"sku": "GRL-001", "location": "dostyk", "delta": -1, "reason": "бой"})  # fmt: skip

    assert_error(response, 403, "CORRECTION_FORBIDDEN")
    assert level(variant, store) == (5, 0, 0)


def test_a_correction_below_what_is_reserved_is_refused(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    stock(variant, store, 5)
    actions.check_reserve(actor=None, variant=variant, location=store, quantity=4)

    response = call(client, "post", "/stock/corrections", token,
                    data={"sku": "GRL-001", "location": "dostyk", "counted": 2, "reason": "пересчёт"})  # fmt: skip

    assert_error(response, 409, "OUT_OF_STOCK", "counted")
    assert level(variant, store) == (5, 4, 0)


# --- reservations -------------------------------------------------------------------------------------------


def test_reserve_release_and_consume(client: Client, operator: str, variant: Variant, store: Location) -> None:
    stock(variant, store, 5)

    note = "Айгерим заберёт в 18:00"
    held = call(client, "post", "/stock/reservations", operator,
                data={"sku": "GRL-001", "location": "dostyk", "quantity": 2, "note": note})  # fmt: skip
    assert held.status_code == 201, held.content
    hold = held.json()
    assert set(hold) == {"id", "sku", "location", "quantity", "owner_kind", "owner_ref", "status", "expires_at",
                         "note", "created_at", "closed_at"}  # fmt: skip
    assert (hold["status"], hold["owner_kind"], hold["quantity"]) == ("active", "hold", 2)
    assert level(variant, store) == (5, 2, 0)

    too_many = call(client, "post", "/stock/reservations", operator,
                    data={"sku": "GRL-001", "location": "dostyk", "quantity": 4})  # fmt: skip
    assert_error(too_many, 409, "OUT_OF_STOCK", "quantity")
    assert Reservation.objects.count() == 1

    listed = call(client, "get", "/stock/reservations?sku=GRL-001&status=active", operator).json()["items"]
    assert [r["id"] for r in listed] == [hold["id"]]

    released = call(
        client, "post", f"/stock/reservations/{hold['id']}/release", operator, data={"reason": "передумала"}
    )
    assert released.json()["status"] == "released"
    assert level(variant, store) == (5, 0, 0)
    assert_error(
        call(client, "post", f"/stock/reservations/{hold['id']}/consume", operator, data={}), 409, "WRONG_STATE"
    )

    second = call(client, "post", "/stock/reservations", operator,
                  data={"sku": "GRL-001", "location": "dostyk", "quantity": 1}).json()  # fmt: skip
    consumed = call(client, "post", f"/stock/reservations/{second['id']}/consume", operator, data={"reference": "A-1"})
    assert consumed.json()["status"] == "consumed"
    assert level(variant, store) == (4, 0, 0)
    assert_error(call(client, "post", f"/stock/reservations/{second['id']}/release", operator, data={}), 409,
                 "WRONG_STATE")  # fmt: skip
    assert_error(call(client, "get", "/stock/reservations/999999", operator), 404, "RESERVATION_NOT_FOUND")


def test_a_hold_expiring_in_the_past_is_refused(
    client: Client, operator: str, variant: Variant, store: Location
) -> None:
    stock(variant, store, 5)
    past = (clock.now() - dt.timedelta(hours=1)).isoformat()

    response = call(client, "post", "/stock/reservations", operator,
                    data={"sku": "GRL-001", "location": "dostyk", "quantity": 1, "expires_at": past})  # fmt: skip

    assert_error(response, 422, "EXPIRY_INVALID", "expires_at")
    assert level(variant, store) == (5, 0, 0)


# --- transfers ----------------------------------------------------------------------------------------------


def test_a_transfer_from_a_location_without_enough_stock_changes_nothing(
    client: Client, operator: str, variant: Variant, store: Location, warehouse: Location
) -> None:
    stock(variant, warehouse, 1)

    data = {"source": "wh-ast", "destination": "dostyk", "lines": [{"sku": "GRL-001", "quantity": 2}]}
    response = call(client, "post", "/stock/transfers", operator, data=data)

    assert_error(response, 409, "OUT_OF_STOCK", "lines[0].quantity")
    assert Transfer.objects.count() == 0
    assert level(variant, warehouse) == (1, 0, 0)


def test_a_transfer_is_requested_shipped_and_received(
    client: Client, operator: str, variant: Variant, store: Location, warehouse: Location
) -> None:
    stock(variant, warehouse, 10)

    created = call(client, "post", "/stock/transfers", operator, data={
        "source": "wh-ast", "destination": "dostyk", "lines": [{"sku": "GRL-001", "quantity": 4}],
        "expected_on": "2031-01-10", "note": "к выходным",
    })  # fmt: skip
    assert created.status_code == 201, created.content
    transfer = created.json()
    assert set(transfer) == {"id", "source", "destination", "status", "expected_on", "note", "created_at",
                             "shipped_at", "received_at", "lines"}  # fmt: skip
    assert (transfer["status"], transfer["lines"]) == ("requested", [{"sku": "GRL-001", "quantity": 4}])
    assert level(variant, warehouse) == (10, 4, 0)

    shipped = call(client, "post", f"/stock/transfers/{transfer['id']}/ship", operator).json()
    assert shipped["status"] == "shipped"
    assert level(variant, warehouse) == (6, 0, 0)
    rows = {r["code"]: r for r in call(client, "get", "/availability?sku=GRL-001", operator).json()["locations"]}
    assert rows["dostyk"]["in_transit"] == 4
    assert rows["dostyk"]["next_arrival"] == {"date": "2031-01-10", "quantity": 4}

    assert_error(
        call(client, "post", f"/stock/transfers/{transfer['id']}/cancel", operator, data={}), 409, "WRONG_STATE"
    )
    received = call(client, "post", f"/stock/transfers/{transfer['id']}/receive", operator).json()
    assert received["status"] == "received"
    assert level(variant, store) == (4, 0, 0)
    assert_error(call(client, "post", f"/stock/transfers/{transfer['id']}/receive", operator), 409, "WRONG_STATE")

    listed = call(client, "get", "/stock/transfers?location=dostyk&status=received", operator).json()["items"]
    assert [t["id"] for t in listed] == [transfer["id"]]
    assert call(client, "get", "/stock/transfers?location=dostyk&status=requested", operator).json()["items"] == []
    assert queries.list_stock_drift() == []


def test_cancelling_a_transfer_frees_the_units(
    client: Client, operator: str, variant: Variant, store: Location, warehouse: Location
) -> None:
    stock(variant, warehouse, 3)
    transfer = call(client, "post", "/stock/transfers", operator, data={
        "source": "wh-ast", "destination": "dostyk", "lines": [{"sku": "GRL-001", "quantity": 3}],
    }).json()  # fmt: skip

    cancelled = call(client, "post", f"/stock/transfers/{transfer['id']}/cancel", operator, data={"reason": "не нужно"})

    assert cancelled.json()["status"] == "cancelled"
    assert level(variant, warehouse) == (3, 0, 0)
    assert_error(call(client, "get", "/stock/transfers/999999", operator), 404, "TRANSFER_NOT_FOUND")


@pytest.mark.parametrize(
    ("data", "status", "code", "field"),
    [
        ({"source": "wh-ast", "destination": "wh-ast"}, 422, "SAME_LOCATION", "destination"),
        ({"source": "nope", "destination": "dostyk"}, 404, "LOCATION_NOT_FOUND", "source"),
        ({"source": "wh-ast", "destination": "nope"}, 404, "LOCATION_NOT_FOUND", "destination"),
    ],
)
def test_a_transfer_goes_between_two_known_locations(
    client: Client, operator: str, variant: Variant, store: Location, warehouse: Location, data: dict[str, Any],
    status: int, code: str, field: str,
) -> None:  # fmt: skip
    stock(variant, warehouse, 3)
    response = call(client, "post", "/stock/transfers", operator,
                    data={**data, "lines": [{"sku": "GRL-001", "quantity": 1}]})  # fmt: skip
    assert_error(response, status, code, field)
    assert Transfer.objects.count() == 0


# --- supplies -----------------------------------------------------------------------------------------------


def test_a_supply_is_the_next_arrival_until_received(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    created = call(client, "post", "/stock/supplies", token, data={
        "location": "dostyk", "expected_on": "2031-02-01", "supplier": "ТОО Свет", "reference": "PO-9",
        "lines": [{"sku": "GRL-001", "quantity": 10}],
    })  # fmt: skip
    assert created.status_code == 201, created.content
    supply = created.json()
    assert (supply["status"], supply["lines"]) == ("expected", [{"sku": "GRL-001", "quantity": 10,
                                                                 "received_quantity": 0}])  # fmt: skip
    rows = call(client, "get", "/availability?sku=GRL-001", token).json()["locations"]
    assert rows[0]["next_arrival"] == {"date": "2031-02-01", "quantity": 10}

    received = call(client, "post", f"/stock/supplies/{supply['id']}/receive", token,
                    data={"lines": [{"sku": "GRL-001", "quantity": 8}]})  # fmt: skip
    assert received.status_code == 200, received.content
    assert (received.json()["status"], received.json()["lines"][0]["received_quantity"]) == ("received", 8)
    assert level(variant, store) == (8, 0, 0)
    assert_error(call(client, "post", f"/stock/supplies/{supply['id']}/cancel", token), 409, "WRONG_STATE")
    assert [s["id"] for s in call(client, "get", "/stock/supplies?status=received", token).json()["items"]] == [
        supply["id"]
    ]


def test_a_supply_needs_a_date(client: Client, token: str, variant: Variant, store: Location) -> None:
    response = call(client, "post", "/stock/supplies", token,
                    data={"location": "dostyk", "lines": [{"sku": "GRL-001", "quantity": 1}]})  # fmt: skip
    assert_error(response, 422, "DATE_REQUIRED", "expected_on")
    assert Supply.objects.count() == 0


def test_receiving_a_negative_quantity_changes_nothing(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    supply = actions.check_create_supply(
        actor=None, location=store, expected_on=dt.date(2031, 1, 1), lines=[Line(variant, 5)]
    )
    response = call(client, "post", f"/stock/supplies/{supply.pk}/receive", token,
                    data={"lines": [{"sku": "GRL-001", "quantity": -1}]})  # fmt: skip
    assert_error(response, 422, "QUANTITY_INVALID", "lines[0].quantity")
    supply.refresh_from_db()
    assert supply.status == Supply.Status.EXPECTED
    assert level(variant, store) == (0, 0, 0)


# --- who may ------------------------------------------------------------------------------------------------


def test_a_read_only_token_cannot_change_stock(client: Client, variant: Variant, store: Location) -> None:
    reader = make_token(role=Role.MANAGER, scopes=["stock:read"])

    assert call(client, "get", "/availability?sku=GRL-001", reader).status_code == 200
    response = call(client, "post", "/stock/receipts", reader,
                    data={"location": "dostyk", "lines": [{"sku": "GRL-001", "quantity": 1}]})  # fmt: skip
    assert_error(response, 403, "SCOPE_MISSING")
    assert StockMove.objects.count() == 0


def test_a_clerk_receives_sells_reserves_and_requests_transfers(
    client: Client, operator: str, variant: Variant, store: Location, warehouse: Location
) -> None:
    line = [{"sku": "GRL-001", "quantity": 3}]
    assert (
        call(client, "post", "/stock/receipts", operator, data={"location": "wh-ast", "lines": line}).status_code == 201
    )
    assert (
        call(client, "post", "/stock/receipts", operator, data={"location": "dostyk", "lines": line}).status_code == 201
    )
    one = {"sku": "GRL-001", "location": "dostyk", "quantity": 1}
    assert call(client, "post", "/stock/sales", operator, data=one).status_code == 201
    assert call(client, "post", "/stock/reservations", operator, data=one).status_code == 201
    assert call(client, "post", "/stock/transfers", operator,
                data={"source": "wh-ast", "destination": "dostyk", "lines": line}).status_code == 201  # fmt: skip


def test_a_token_without_stock_scopes_is_refused(client: Client, variant: Variant) -> None:
    operator = make_token(role=Role.OPERATOR, scopes=["*"])
    inbox_only = make_token(role=Role.OPERATOR, scopes=["inbox:read"])

    assert call(client, "get", "/availability?sku=GRL-001", operator).status_code == 200  # operators check stock
    assert_error(call(client, "get", "/availability?sku=GRL-001", inbox_only), 403, "SCOPE_MISSING")


# --- back in stock ------------------------------------------------------------------------------------------


def test_a_customer_asks_to_be_told_when_it_is_back(client: Client, variant: Variant, store: Location) -> None:
    token = make_token(role=Role.OPERATOR, scopes=["stock:write", "customers:write"])
    customer = customers_actions.check_create_customer(actor=None, identities=[("phone", "+77011234567")])

    first = call(client, "post", f"/customers/{customer.pk}/stock-requests", token,
                 data={"sku": "GRL-001", "location": "dostyk", "channel": "whatsapp"})  # fmt: skip
    again = call(client, "post", f"/customers/{customer.pk}/stock-requests", token,
                 data={"sku": "GRL-001", "location": "dostyk"})  # fmt: skip

    assert first.status_code == 201, first.content
    body = first.json()
    assert set(body) == {"id", "customer_id", "sku", "location", "channel", "created_at", "notified_at"}
    assert (body["sku"], body["location"], body["channel"], body["notified_at"]) == (
        "GRL-001", "dostyk", "whatsapp", None,
    )  # fmt: skip
    assert again.json()["id"] == body["id"]
    listed = call(client, "get", f"/customers/{customer.pk}/stock-requests", token).json()
    assert [r["id"] for r in listed] == [body["id"]]
    assert_error(call(client, "post", f"/customers/{customer.pk}/stock-requests", token, data={"sku": "NOPE"}), 404,
                 "SKU_NOT_FOUND", "sku")  # fmt: skip
    assert_error(call(client, "post", "/customers/999999/stock-requests", token, data={"sku": "GRL-001"}), 404,
                 "CUSTOMER_NOT_FOUND")  # fmt: skip


# --- documentation ------------------------------------------------------------------------------------------


def test_every_stock_and_catalog_operation_is_documented(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    ours = ("/api/v1/stock", "/api/v1/availability", "/api/v1/products", "/api/v1/variants", "/api/v1/categories",
            "/api/v1/catalog")  # fmt: skip
    checked = 0
    for path, operations in schema["paths"].items():
        if not path.startswith(ours) and "stock-requests" not in path:
            continue
        for method, operation in operations.items():
            checked += 1
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
    assert checked >= 30


def test_time_is_frozen_in_availability_prices(client: Client, token: str, variant: Variant, store: Location) -> None:
    start = dt.datetime(2031, 5, 1, 9, tzinfo=dt.UTC)
    Variant.objects.filter(pk=variant.pk).update(
        promo_price=Decimal("3990"), promo_starts_at=start, promo_ends_at=start + dt.timedelta(days=1)
    )
    with time_machine.travel(start - dt.timedelta(minutes=1), tick=False):
        assert call(client, "get", "/availability?sku=GRL-001", token).json()["price"] == "4990.00"
    with time_machine.travel(start, tick=False):
        assert call(client, "get", "/availability?sku=GRL-001", token).json()["price"] == "3990.00"
    with time_machine.travel(start + dt.timedelta(days=1), tick=False):
        assert call(client, "get", "/availability?sku=GRL-001", token).json()["price"] == "4990.00"
