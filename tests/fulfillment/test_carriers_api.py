"""The delivery API: carriers, zones and tariffs (validation naming the field, nothing changed on refusal,
owners and managers only), the shop settings, the quote (200 with a reason when nothing serves the city) and
choosing an order's delivery (its price joins the order's total)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from omnia.core.permissions import Role
from omnia.fulfillment.models import Carrier, DeliverySettings, Tariff, Zone
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location
from omnia.orders.models import Order
from tests.factories import make_location, make_token, make_variant

pytestmark = pytest.mark.django_db

CARRIER = {"code": "own", "name": "Свои курьеры", "kind": "own_courier", "cutoff_time": "14:00"}


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
    return make_token(role=Role.MANAGER)


def test_carrier_zone_and_tariff_round_trip(client: Client, token: str) -> None:
    created = call(client, "post", "/delivery/carriers", token, data=CARRIER)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"]
    assert body["webhook_key"]
    assert body["working_days"] == [0, 1, 2, 3, 4]
    assert body["cutoff_time"] == "14:00:00"
    carrier_id = body["id"]
    zone = call(
        client,
        "post",
        f"/delivery/carriers/{carrier_id}/zones",
        token,
        data={"name": "Алматы", "cities": ["Алматы", " алматы "], "days_min": 0, "days_max": 1, "free_from": "30000"},
    )
    assert zone.status_code == 201, zone.content
    assert zone.json()["cities"] == ["Алматы"]
    zone_id = zone.json()["id"]
    tariff = call(
        client, "post", f"/delivery/zones/{zone_id}/tariffs", token, data={"price": "1500", "max_weight_grams": 5000}
    )
    assert tariff.status_code == 201, tariff.content
    assert tariff.json()["currency"] == "KZT"
    listed = call(client, "get", "/delivery/carriers", token).json()
    assert [c["code"] for c in listed] == ["own"]
    assert listed[0]["zones"][0]["tariffs"][0]["price"] == "1500.00"

    rotated = call(client, "post", f"/delivery/carriers/{carrier_id}/secret", token)
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != body["secret"]
    assert Carrier.objects.get().secret == rotated.json()["secret"]
    patched = call(client, "patch", f"/delivery/carriers/{carrier_id}", token, data={"holidays": ["2026-12-16"]})
    assert patched.json()["holidays"] == ["2026-12-16"]
    assert patched.json()["name"] == "Свои курьеры"  # untouched
    assert (
        call(client, "patch", f"/delivery/tariffs/{tariff.json()['id']}", token, data={"price": "1200"}).json()["price"]
        == "1200.00"
    )
    moved = call(client, "patch", f"/delivery/zones/{zone_id}", token, data={"days_max": 2, "cities": ["Астана"]})
    assert moved.status_code == 200, moved.content
    assert (moved.json()["days_max"], moved.json()["cities"]) == (2, ["Астана"])
    assert_error(
        call(client, "patch", f"/delivery/zones/{zone_id}", token, data={"days_min": 3}),
        422,
        "DAYS_INVALID",
        "days_max",
    )
    assert Zone.objects.get().days_min == 0
    assert call(client, "delete", f"/delivery/zones/{zone_id}", token).status_code == 204
    assert not Tariff.objects.exists()
    assert call(client, "delete", f"/delivery/carriers/{carrier_id}", token).status_code == 204
    assert not Carrier.objects.exists()


@pytest.mark.parametrize(
    ("data", "status", "code", "field"),
    [
        ({**CARRIER, "code": "Свои"}, 422, "CODE_INVALID", "code"),
        ({**CARRIER, "name": " "}, 422, "NAME_REQUIRED", "name"),
        ({**CARRIER, "kind": "rocket"}, 422, "KIND_INVALID", "kind"),
        ({**CARRIER, "working_days": [0, 7]}, 422, "WORKING_DAYS_INVALID", "working_days[1]"),
        ({**CARRIER, "working_days": []}, 422, "WORKING_DAYS_INVALID", "working_days"),
        ({**CARRIER, "holidays": ["2026-02-30"]}, 422, "HOLIDAY_INVALID", "holidays[0]"),
        ({**CARRIER, "tracking_url": "https://cdek.kz/track"}, 422, "TRACKING_URL_INVALID", "tracking_url"),
    ],
)
def test_a_bad_carrier_is_refused_naming_the_field(
    client: Client, token: str, data: dict[str, Any], status: int, code: str, field: str
) -> None:
    assert_error(call(client, "post", "/delivery/carriers", token, data=data), status, code, field)
    assert not Carrier.objects.exists()


def test_codes_are_unique_and_only_managers_write(client: Client, token: str) -> None:
    assert call(client, "post", "/delivery/carriers", token, data=CARRIER).status_code == 201
    assert_error(call(client, "post", "/delivery/carriers", token, data=CARRIER), 409, "CODE_TAKEN", "code")
    operator = make_token(role=Role.OPERATOR)
    assert_error(
        call(client, "post", "/delivery/carriers", operator, data={**CARRIER, "code": "x"}), 403, "ROLE_FORBIDDEN"
    )
    reader = make_token(role=Role.MANAGER, scopes=["settings:read"])
    assert_error(
        call(client, "post", "/delivery/carriers", reader, data={**CARRIER, "code": "x"}), 403, "SCOPE_MISSING"
    )
    assert Carrier.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({"name": "Nowhere"}, "ZONE_AREA_REQUIRED", "cities"),
        ({"name": "Z", "cities": ["Астана"], "days_min": 5, "days_max": 2}, "DAYS_INVALID", "days_max"),
        (
            {"name": "Z", "cities": [], "origin": "plain", "max_distance_km": "5"},
            "ORIGIN_WITHOUT_COORDINATES",
            "origin",
        ),
        ({"name": "Z", "cities": ["Астана"], "door_delivery": False}, "ZONE_OFFERS_NOTHING", "door_delivery"),
        (
            {"name": "Z", "cities": ["Астана"], "pickup_points": [{"code": "", "address": "x"}]},
            "PICKUP_POINT_INVALID",
            "pickup_points[0].code",
        ),
    ],
)
def test_a_bad_zone_is_refused(client: Client, token: str, data: dict[str, Any], code: str, field: str) -> None:
    make_location(code="plain", city="Астана")
    carrier_id = call(client, "post", "/delivery/carriers", token, data=CARRIER).json()["id"]
    assert_error(call(client, "post", f"/delivery/carriers/{carrier_id}/zones", token, data=data), 422, code, field)
    assert not Zone.objects.exists()


def test_a_bad_tariff_is_refused(client: Client, token: str) -> None:
    carrier_id = call(client, "post", "/delivery/carriers", token, data=CARRIER).json()["id"]
    zone_id = call(
        client, "post", f"/delivery/carriers/{carrier_id}/zones", token, data={"name": "Z", "cities": ["Алматы"]}
    ).json()["id"]
    path = f"/delivery/zones/{zone_id}/tariffs"
    assert_error(call(client, "post", path, token, data={"price": "-1"}), 422, "PRICE_INVALID", "price")
    assert_error(
        call(client, "post", path, token, data={"price": "100", "currency": "USD"}), 422, "CURRENCY_INVALID", "currency"
    )
    assert_error(
        call(client, "post", path, token, data={"price": "100", "max_weight_grams": 0}),
        422,
        "WEIGHT_INVALID",
        "max_weight_grams",
    )
    assert call(client, "post", path, token, data={"price": "100"}).status_code == 201
    assert_error(call(client, "post", path, token, data={"price": "200"}), 409, "TARIFF_EXISTS")
    assert list(Tariff.objects.values_list("price", flat=True)) == [Decimal(100)]
    assert_error(
        call(client, "post", "/delivery/zones/999999/tariffs", token, data={"price": "1"}), 404, "ZONE_NOT_FOUND"
    )


def test_settings_single_row(client: Client, token: str) -> None:
    assert call(client, "get", "/delivery/settings", token).json()["currency"] == "KZT"
    data = {"flat_price": "1500", "flat_free_from": "30000", "transfer_days": 3, "default_weight_grams": 700}
    saved = call(client, "put", "/delivery/settings", token, data=data)
    assert saved.status_code == 200, saved.content
    assert saved.json()["flat_price"] == "1500.00"
    assert call(client, "put", "/delivery/settings", token, data={**data, "flat_price": None}).status_code == 200
    assert_error(
        call(client, "put", "/delivery/settings", token, data={**data, "transfer_days": -1}),
        422,
        "DAYS_INVALID",
        "transfer_days",
    )
    assert DeliverySettings.objects.count() == 1
    assert DeliverySettings.objects.get().flat_price is None


def _shop(client: Client, token: str) -> tuple[Any, Location]:
    warehouse = make_location(kind=Location.Kind.WAREHOUSE, code="wh", ships=True, sells=False)
    variant = make_variant(price="10000", sku="LAMP-1")
    inventory_actions.do_receive(actor=None, location=warehouse, lines=[Line(variant, 10)])
    carrier_id = call(client, "post", "/delivery/carriers", token, data=CARRIER).json()["id"]
    zone_id = call(
        client, "post", f"/delivery/carriers/{carrier_id}/zones", token, data={"name": "Алматы", "cities": ["Алматы"]}
    ).json()["id"]
    call(client, "post", f"/delivery/zones/{zone_id}/tariffs", token, data={"price": "1500"})
    return variant, warehouse


def test_quote_for_a_cart(client: Client, token: str) -> None:
    variant, _ = _shop(client, token)
    answer = call(
        client, "post", "/delivery/quote", token, data={"lines": [{"sku": "LAMP-1", "quantity": 2}], "city": "алматы"}
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["reason"] is None
    assert [(o["kind"], o["price"], o["carrier"]) for o in body["options"]] == [("courier", "1500.00", "own")]
    assert body["options"][0]["cheapest"]
    assert body["options"][0]["fastest"]
    by_id = call(
        client, "post", "/delivery/quote", token, data={"lines": [{"variant_id": variant.pk}], "city": "Алматы"}
    )
    assert len(by_id.json()["options"]) == 1

    nowhere = call(client, "post", "/delivery/quote", token, data={"lines": [{"sku": "LAMP-1"}], "city": "Aktau"})
    assert nowhere.status_code == 200
    assert nowhere.json()["options"] == []
    assert nowhere.json()["reason"]["code"] == "NO_DELIVERY_OPTION"
    assert nowhere.json()["reason"]["reason"] == "city_not_served"
    assert "Aktau" in nowhere.json()["reason"]["message"]  # in the shop's language
    assert_error(
        call(client, "post", "/delivery/quote", token, data={"lines": [{"sku": "NOPE"}], "city": "Алматы"}),
        404,
        "SKU_NOT_FOUND",
        "lines[0].sku",
    )


def test_choose_an_order_delivery(client: Client, token: str) -> None:
    _shop(client, token)
    placed = call(
        client,
        "post",
        "/orders",
        token,
        data={
            "customer": {"phone": "+7 701 555 12 34"},
            "source": "web",
            "lines": [{"sku": "LAMP-1", "quantity": 1}],
            "fulfillment": {"type": "delivery", "address": {"city": "Алматы", "line1": "Абая 1"}},
        },
    )
    assert placed.status_code == 201, placed.content
    order_id = placed.json()["id"]
    offered = call(client, "get", f"/orders/{order_id}/delivery-options", token).json()
    key = offered["options"][0]["key"]
    assert call(client, "get", f"/orders/{order_id}/delivery", token).json()["choice"] is None
    assert_error(
        call(client, "post", f"/orders/{order_id}/delivery", token, data={"option": "courier:0"}),
        409,
        "DELIVERY_OPTION_UNAVAILABLE",
        "option",
    )
    chosen = call(client, "post", f"/orders/{order_id}/delivery", token, data={"option": key})
    assert chosen.status_code == 200, chosen.content
    assert chosen.json()["delivery_price"] == "1500.00"
    assert chosen.json()["total"] == "11500.00"
    assert chosen.json()["choice"]["carrier"] == "own"
    order = call(client, "get", f"/orders/{order_id}", token).json()
    assert (order["total"], order["delivery_price"]) == ("11500.00", "1500.00")
    assert Order.objects.get(pk=order_id).delivery_price == Decimal(1500)
