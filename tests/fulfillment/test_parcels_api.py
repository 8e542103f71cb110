"""The shipments and parcels API: shapes, filters, errors that name the field and change nothing, roles."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from omnia.core.permissions import Role
from omnia.fulfillment.models import Parcel
from omnia.orders.models import Order, Shipment
from tests.factories import make_token
from tests.fulfillment.test_parcels import Shop, create, make_carrier

pytestmark = pytest.mark.django_db

PARCEL_KEYS = {
    "id", "shipment_id", "carrier", "carrier_name", "tracking_number", "tracking_url", "status", "status_at",
    "weight_grams", "estimated_on", "late", "delayed_at", "pickup_point", "label", "created_at",
}  # fmt: skip
SHIPMENT_KEYS = {"id", "order_id", "order_number", "customer_id", "location", "status", "parcel"}


@pytest.fixture
def shop() -> Shop:
    return Shop()


@pytest.fixture
def token() -> str:
    return make_token(role=Role.OPERATOR, scopes=["orders:write"])


def call(client: Client, method: str, path: str, token: str, **kwargs: Any) -> Any:
    return getattr(client, method)(
        f"/api/v1{path}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs
    )


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    if field is not None:
        assert error["field"] == field


def test_create_a_parcel_move_it_and_read_its_history(client: Client, shop: Shop, token: str) -> None:
    make_carrier("cdek", tracking_url="https://www.cdek.ru/ru/tracking?order_id={tracking_number}")
    order = shop.order()
    shipment = Shipment.objects.get(order=order)

    created = call(
        client, "post", f"/orders/{order.pk}/shipments/{shipment.pk}/parcel", token,
        data={"carrier": "cdek", "tracking_number": "1106207236", "estimated_on": "2026-11-25"},
    )  # fmt: skip

    assert created.status_code == 201, created.content
    parcel = created.json()
    assert set(parcel) == PARCEL_KEYS
    assert (parcel["status"], parcel["carrier"], parcel["estimated_on"]) == ("created", "cdek", "2026-11-25")
    assert parcel["tracking_url"] == "https://www.cdek.ru/ru/tracking?order_id=1106207236"
    assert parcel["label"]["pieces"] == 3

    moved = call(client, "post", f"/parcels/{parcel['id']}/transitions", token, data={"to": "handed_over"})
    assert moved.status_code == 200
    assert moved.json()["status"] == "handed_over"
    order.refresh_from_db()
    assert order.status == "shipped"

    history = call(client, "get", f"/parcels/{parcel['id']}/events", token).json()
    assert [(e["status"], e["source"], e["applied"]) for e in history] == [
        ("created", "operator", True), ("handed_over", "operator", True),
    ]  # fmt: skip

    detail = call(client, "get", f"/shipments/{shipment.pk}", token).json()
    assert set(detail) == SHIPMENT_KEYS | {"lines", "events"}
    assert detail["order_number"] == order.number
    assert detail["status"] == "shipped"
    assert [line["sku"] for line in detail["lines"]] == ["GIR-10", "LAMP-1"]
    assert len(detail["events"]) == 2


def test_the_shipments_list_filters(client: Client, shop: Shop, token: str) -> None:
    cdek, kazpost = make_carrier("cdek"), make_carrier("kazpost")
    first = create(shop, shop.order(), cdek, tracking_number="CD-1", estimated_on=dt.date(2020, 1, 1))
    second = create(shop, shop.order(), kazpost, tracking_number="KZ-1")
    waiting = shop.order()  # no parcel yet
    shop.order(fulfillment="pickup")  # not a delivery: not listed

    def ids(query: str = "") -> list[int]:
        answer = call(client, "get", f"/shipments{query}", token)
        assert answer.status_code == 200, answer.content
        return [row["id"] for row in answer.json()["items"]]

    everything = ids()
    assert set(everything) == {first.shipment_id, second.shipment_id, Shipment.objects.get(order=waiting).pk}
    assert ids("?carrier=kazpost") == [second.shipment_id]
    assert ids("?tracking=cd-1") == [first.shipment_id]
    assert ids("?status=none") == [Shipment.objects.get(order=waiting).pk]
    assert ids("?status=created&late=true") == [first.shipment_id]
    assert ids(f"?order={waiting.number}") == [Shipment.objects.get(order=waiting).pk]
    assert ids("?location=wh-ala&limit=1") == [everything[0]]
    assert_error(call(client, "get", "/shipments?status=lost", token), 422, "STATUS_INVALID", "status")


def test_bad_input_is_refused_naming_the_field_and_changes_nothing(client: Client, shop: Shop, token: str) -> None:
    make_carrier("cdek")
    order = shop.order()
    shipment = Shipment.objects.get(order=order)
    path = f"/orders/{order.pk}/shipments/{shipment.pk}/parcel"

    assert_error(call(client, "post", path, token, data={"carrier": "dhl"}), 404, "CARRIER_NOT_FOUND", "carrier")
    assert_error(
        call(client, "post", path, token, data={"carrier": "cdek", "weight_grams": 0}),
        422, "VALIDATION_FAILED", "weight_grams",
    )  # fmt: skip
    assert_error(call(client, "post", path, token, data={}), 422, "VALIDATION_FAILED", "carrier")
    assert_error(
        call(client, "post", f"/orders/{order.pk}/shipments/999999/parcel", token, data={"carrier": "cdek"}),
        404, "SHIPMENT_NOT_FOUND",
    )  # fmt: skip
    assert not Parcel.objects.exists()

    pickup = shop.order(fulfillment="pickup")
    part = Shipment.objects.get(order=pickup)
    assert_error(
        call(client, "post", f"/orders/{pickup.pk}/shipments/{part.pk}/parcel", token, data={"carrier": "cdek"}),
        409, "PARCEL_NOT_ALLOWED",
    )  # fmt: skip

    parcel = call(client, "post", path, token, data={"carrier": "cdek", "tracking_number": "CD-1"}).json()
    other = create(shop, shop.order(), Parcel.objects.get().carrier)
    assert_error(
        call(client, "patch", f"/parcels/{other.pk}", token, data={"tracking_number": "CD-1"}),
        409, "TRACKING_TAKEN", "tracking_number",
    )  # fmt: skip
    assert_error(
        call(client, "post", f"/parcels/{parcel['id']}/transitions", token, data={"to": "delivered"}),
        409, "TRANSITION_NOT_ALLOWED", "to",
    )  # fmt: skip
    assert_error(call(client, "post", path, token, data={"carrier": "cdek"}), 409, "PARCEL_EXISTS")
    assert_error(call(client, "get", "/parcels/999999/events", token), 404, "PARCEL_NOT_FOUND")
    assert Order.objects.get(pk=order.pk).status == "confirmed"


def test_patch_changes_only_what_is_sent(client: Client, shop: Shop, token: str) -> None:
    parcel = create(
        shop, shop.order(), make_carrier("cdek"), tracking_number="CD-1", estimated_on=dt.date(2026, 11, 25)
    )

    weight = call(client, "patch", f"/parcels/{parcel.pk}", token, data={"weight_grams": 2500}).json()
    assert (weight["weight_grams"], weight["tracking_number"], weight["estimated_on"]) == (2500, "CD-1", "2026-11-25")
    assert weight["label"]["weight_grams"] == 2500

    cleared = call(client, "patch", f"/parcels/{parcel.pk}", token, data={"estimated_on": None, "tracking_number": ""})
    assert (cleared.json()["estimated_on"], cleared.json()["tracking_number"]) == (None, "")


def test_reading_needs_orders_read_and_changing_orders_write(client: Client, shop: Shop) -> None:
    parcel = create(shop, shop.order(), make_carrier("cdek"))
    reader = make_token(role=Role.OPERATOR, scopes=["orders:read"])
    stranger = make_token(role=Role.OPERATOR, scopes=["customers:read"])

    assert call(client, "get", "/shipments", reader).status_code == 200
    assert_error(call(client, "get", "/shipments", stranger), 403, "SCOPE_MISSING")
    assert_error(
        call(client, "post", f"/parcels/{parcel.pk}/transitions", reader, data={"to": "handed_over"}),
        403, "SCOPE_MISSING",
    )  # fmt: skip
    assert client.get("/api/v1/shipments").status_code == 401
