"""Split shipments: an order sourced from several locations has one part per location, each picked, shipped
or handed out on its own (taking only its own units off the shelf); the order follows its parts, and an
order moved as a whole takes its parts with it. Refused moves change nothing."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.utils import translation

from omnia.catalog.models import Variant
from omnia.core.errors import DomainError
from omnia.core.permissions import Role
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location, Reservation, StockLevel, StockMove
from omnia.orders import actions, actions_shipments, queries
from omnia.orders.actions import CustomerIn, FulfillmentIn, LineIn, TransitionNotAllowed
from omnia.orders.models import Order, Shipment, ShipmentChange, StatusChange
from tests.factories import make_location, make_token, make_variant

pytestmark = pytest.mark.django_db

PHONE = "+7 701 555 12 34"


def level(variant: Variant, location: Location) -> tuple[int, int]:
    row = StockLevel.objects.get(variant=variant, location=location)
    return row.on_hand, row.reserved


class Split:
    """A delivery order for Астана: the garland only in the Almaty warehouse, the lamp only in Astana's."""

    def __init__(self) -> None:
        self.almaty = make_location(
            code="wh-ala", name="Almaty-1", kind=Location.Kind.WAREHOUSE, city="Алматы", ships=True, sells=False
        )
        self.astana = make_location(
            code="wh-ast", name="Astana-1", kind=Location.Kind.WAREHOUSE, city="Астана", ships=True, sells=False
        )
        self.garland = make_variant(sku="GIR-10", price="4990")
        self.lamp = make_variant(sku="LAMP-1", price="1500")
        inventory_actions.do_receive(actor=None, location=self.almaty, lines=[Line(self.garland, 5)])
        inventory_actions.do_receive(actor=None, location=self.astana, lines=[Line(self.lamp, 4)])

    def place(self, *, type: str = "delivery") -> Order:
        fulfillment = (
            FulfillmentIn(type="delivery", address={"city": "Астана", "line1": "Мангилик Ел, 1"})
            if type == "delivery"
            else FulfillmentIn(type="pickup", location=self.pickup())
        )
        return actions.check_place_order(
            actor=None,
            customer=CustomerIn(phone=PHONE, name="Айгерим"),
            source="web",
            lines=[LineIn(self.garland, 2), LineIn(self.lamp, 1)],
            fulfillment=fulfillment,
        ).order

    def pickup(self) -> Location:
        Location.objects.filter(pk=self.astana.pk).update(offers_pickup=True, sells=True)
        self.astana.refresh_from_db()
        return self.astana

    def part(self, order: Order, location: Location) -> Shipment:
        return Shipment.objects.get(order=order, location=location)


@pytest.fixture
def shop() -> Split:
    return Split()


def confirmed(shop: Split, **kwargs: Any) -> Order:
    order = shop.place(**kwargs)
    return actions.check_transition(actor=None, order=order, to="confirmed")


def move(shipment: Shipment, to: str) -> Shipment:
    return actions_shipments.check_move_shipment(actor=None, shipment=shipment, to=to)


def test_an_order_sourced_from_two_locations_gets_one_shipment_per_location(shop: Split) -> None:
    order = shop.place()

    parts = {(s.location.code, s.status) for s in order.shipments.select_related("location")}
    assert parts == {("wh-ala", "pending"), ("wh-ast", "pending")}
    assert {line.location_id for line in order.lines.all()} == {shop.almaty.pk, shop.astana.pk}


def test_shipping_one_part_takes_only_its_units_and_the_order_shows_partially_shipped(shop: Split) -> None:
    order = confirmed(shop)
    almaty, astana = shop.part(order, shop.almaty), shop.part(order, shop.astana)

    move(almaty, "picking")
    order.refresh_from_db()
    assert order.status == "picking"  # the first part picked: the order is being picked
    assert shop.part(order, shop.astana).status == "pending"  # the other part is not touched

    move(almaty, "shipped")

    assert level(shop.garland, shop.almaty) == (3, 0)  # 2 sold at Almaty-1
    assert level(shop.lamp, shop.astana) == (4, 1)  # still reserved at Astana-1
    assert StockMove.objects.filter(location=shop.almaty, kind=StockMove.Kind.SALE, quantity=-2).exists()
    assert not StockMove.objects.filter(location=shop.astana, kind=StockMove.Kind.SALE).exists()
    order = queries.get_order(order.pk)
    assert order.status == "picking"
    with translation.override("en"):
        summary = queries.fulfilment_summary(order)
    assert (summary.partial, summary.out, summary.shipments) == (True, 1, 2)
    assert summary.label == "partially shipped (1 of 2)"
    assert ShipmentChange.objects.filter(shipment=almaty, new="shipped").exists()

    move(astana, "picking")
    move(astana, "shipped")

    order.refresh_from_db()
    assert order.status == "shipped"
    assert level(shop.lamp, shop.astana) == (3, 0)
    assert StatusChange.objects.filter(order=order, new="shipped", reason="Astana-1: shipped").exists()
    assert queries.fulfilment_summary(queries.get_order(order.pk)).label == ""

    move(almaty, "delivered")
    order.refresh_from_db()
    assert order.status == "shipped"
    with translation.override("en"):
        assert queries.fulfilment_summary(queries.get_order(order.pk)).label == "partially delivered (1 of 2)"
    move(astana, "delivered")
    order.refresh_from_db()
    assert order.status == "delivered"


def test_a_pickup_order_becomes_ready_then_picked_up_with_its_parts(shop: Split) -> None:
    order = confirmed(shop, type="pickup")
    parts = list(order.shipments.all())
    assert len(parts) == 2
    for part in parts:
        move(part, "picking")
        move(part, "ready")
    order.refresh_from_db()
    assert order.status == "ready"
    assert level(shop.garland, shop.almaty) == (5, 2)  # ready is not handed over: still reserved
    for part in parts:
        move(part, "picked_up")
    order.refresh_from_db()
    assert order.status == "picked_up"
    assert level(shop.garland, shop.almaty) == (3, 0)
    assert level(shop.lamp, shop.astana) == (3, 0)


@pytest.mark.parametrize(
    ("before", "to"),
    [
        ([], "shipped"),  # pending cannot be shipped before it is picked
        ([], "delivered"),
        (["picking"], "picked_up"),
        (["picking", "shipped"], "picked_up"),
        (["picking", "shipped"], "picking"),
        ([], "cancelled"),  # only with the order
    ],
)
def test_a_move_the_rules_do_not_allow_is_refused_and_nothing_changes(shop: Split, before: list[str], to: str) -> None:
    order = confirmed(shop)
    almaty = shop.part(order, shop.almaty)
    for status in before:
        move(almaty, status)
    order.refresh_from_db()
    was = (order.status, level(shop.garland, shop.almaty), ShipmentChange.objects.count())

    with pytest.raises(TransitionNotAllowed) as refused:
        move(almaty, to)

    assert refused.value.code == "TRANSITION_NOT_ALLOWED"
    order.refresh_from_db()
    assert (order.status, level(shop.garland, shop.almaty), ShipmentChange.objects.count()) == was
    assert shop.part(order, shop.almaty).status == (before[-1] if before else "pending")


def test_a_new_order_is_confirmed_before_its_parts_move_and_an_unknown_status_is_refused(shop: Split) -> None:
    order = shop.place()
    almaty = shop.part(order, shop.almaty)
    with pytest.raises(TransitionNotAllowed):
        move(almaty, "picking")
    with pytest.raises(DomainError) as bad:
        move(almaty, "lost")
    assert bad.value.code == "STATUS_INVALID"
    assert shop.part(order, shop.almaty).status == "pending"


def test_cancelling_the_order_cancels_its_parts_and_releases_their_units(shop: Split) -> None:
    order = confirmed(shop)
    move(shop.part(order, shop.almaty), "picking")

    actions.check_transition(actor=None, order=order, to="cancelled", reason="the customer changed her mind")

    assert {s.status for s in order.shipments.all()} == {"cancelled"}
    assert level(shop.garland, shop.almaty) == (5, 0)
    assert level(shop.lamp, shop.astana) == (4, 0)
    assert set(Reservation.objects.values_list("status", flat=True)) == {"released"}


def test_an_order_with_a_part_shipped_is_not_cancelled(shop: Split) -> None:
    order = confirmed(shop)
    almaty = shop.part(order, shop.almaty)
    move(almaty, "picking")
    move(almaty, "shipped")
    assert "cancelled" not in actions.allowed_transitions(order)

    with pytest.raises(TransitionNotAllowed):
        actions.check_transition(actor=None, order=order, to="cancelled", reason="too late")

    order.refresh_from_db()
    assert order.status == "picking"
    assert shop.part(order, shop.astana).status == "pending"
    assert level(shop.lamp, shop.astana) == (4, 1)


def test_an_order_moved_as_a_whole_takes_its_parts_not_yet_further_along(shop: Split) -> None:
    order = confirmed(shop)
    move(shop.part(order, shop.almaty), "picking")
    move(shop.part(order, shop.almaty), "shipped")

    actions.check_transition(actor=None, order=order, to="shipped")

    assert shop.part(order, shop.astana).status == "shipped"
    assert level(shop.lamp, shop.astana) == (3, 0)
    assert level(shop.garland, shop.almaty) == (3, 0)  # not sold twice
    actions.check_transition(actor=None, order=order, to="delivered")
    assert {s.status for s in order.shipments.all()} == {"delivered"}


def test_a_takeaway_completed_at_the_counter_hands_its_part_over() -> None:
    store = make_location(code="mega", name="MEGA", offers_pickup=True)
    variant = make_variant(sku="GIR-10", price="4990")
    inventory_actions.do_receive(actor=None, location=store, lines=[Line(variant, 3)])
    order = actions.check_place_order(
        actor=None,
        customer=CustomerIn(phone=PHONE),
        source="store",
        lines=[LineIn(variant, 1)],
        fulfillment=FulfillmentIn(type="takeaway", location=store),
    ).order
    (part,) = order.shipments.all()
    assert (part.location, part.status) == (store, "pending")

    actions.check_transition(actor=None, order=order, to="completed")

    part.refresh_from_db()
    assert part.status == "picked_up"
    assert level(variant, store) == (2, 0)


# --- API -----------------------------------------------------------------------------------------------


def api(client: Client, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if body is None:
        return client.get(f"/api/v1{path}", headers=headers)
    return client.post(f"/api/v1{path}", body, content_type="application/json", headers=headers)


def test_api_round_trip_moves_one_part_and_answers_the_order(client: Client, shop: Split) -> None:
    token = make_token(role=Role.OPERATOR, scopes=["orders:write"])
    order = confirmed(shop)

    got = api(client, f"/orders/{order.pk}", token).json()
    shipments = {s["location"]: s for s in got["shipments"]}
    assert {k: (v["status"], v["lines"]) for k, v in shipments.items()} == {
        "wh-ala": ("pending", ["GIR-10"]),
        "wh-ast": ("pending", ["LAMP-1"]),
    }
    assert set(got["shipments"][0]) == {"id", "location", "status", "lines"}
    almaty = shipments["wh-ala"]["id"]

    picked = api(client, f"/orders/{order.pk}/shipments/{almaty}/transitions", token, {"to": "picking"})
    assert picked.status_code == 200, picked.content
    shipped = api(
        client, f"/orders/{order.pk}/shipments/{almaty}/transitions", token, {"to": "shipped", "reason": "courier"}
    )
    body = shipped.json()
    assert body["status"] == "picking"
    assert {s["location"]: s["status"] for s in body["shipments"]} == {"wh-ala": "shipped", "wh-ast": "pending"}
    assert level(shop.garland, shop.almaty) == (3, 0)

    listed = api(client, "/orders", token).json()["items"][0]
    assert {s["location"]: s["status"] for s in listed["shipments"]} == {"wh-ala": "shipped", "wh-ast": "pending"}


def test_api_refusals_have_stable_codes_and_change_nothing(client: Client, shop: Split) -> None:
    token = make_token(role=Role.OPERATOR, scopes=["orders:write"])
    order = confirmed(shop)
    astana = shop.part(order, shop.astana)

    refused = api(client, f"/orders/{order.pk}/shipments/{astana.pk}/transitions", token, {"to": "shipped"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "TRANSITION_NOT_ALLOWED"
    missing = api(client, f"/orders/{order.pk}/shipments/999999/transitions", token, {"to": "picking"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "SHIPMENT_NOT_FOUND"
    bad = api(client, f"/orders/{order.pk}/shipments/{astana.pk}/transitions", token, {"to": "lost"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "STATUS_INVALID"
    reader = make_token(role=Role.OPERATOR, scopes=["orders:read"])
    denied = api(client, f"/orders/{order.pk}/shipments/{astana.pk}/transitions", reader, {"to": "picking"})
    assert denied.status_code == 403

    astana.refresh_from_db()
    order.refresh_from_db()
    assert (astana.status, order.status, level(shop.lamp, shop.astana)) == ("pending", "confirmed", (4, 1))


# --- orders placed before shipments existed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_status", "fulfillment", "expected"),
    [
        ("confirmed", "delivery", "pending"),
        ("picking", "delivery", "picking"),
        ("shipped", "delivery", "shipped"),
        ("completed", "delivery", "delivered"),
        ("completed", "pickup", "picked_up"),
        ("cancelled", "delivery", "cancelled"),
    ],
)
def test_the_data_migration_gives_existing_orders_a_shipment_per_location_from_their_status(
    shop: Split, order_status: str, fulfillment: str, expected: str
) -> None:
    migration = importlib.import_module("omnia.orders.migrations.0010_shipments_for_existing_orders")
    order = shop.place()
    Shipment.objects.filter(order=order).delete()  # as before the migration
    Order.objects.filter(pk=order.pk).update(status=order_status, fulfillment=fulfillment)

    migration.create_shipments(apps, None)
    migration.create_shipments(apps, None)  # run twice (a retried deploy): nothing doubles

    parts = set(Shipment.objects.filter(order=order).values_list("location__code", "status"))
    assert parts == {("wh-ala", expected), ("wh-ast", expected)}


def test_orders_written_without_shipments_get_them_from_their_status(shop: Split) -> None:
    shipped, fresh = shop.place(), shop.place()
    Shipment.objects.all().delete()  # as the demo writes its orders, in bulk
    Order.objects.filter(pk=shipped.pk).update(status="completed")
    Shipment.objects.create(
        order=fresh, location=shop.almaty, status="picking", created_at=fresh.placed_at, updated_at=fresh.placed_at
    )

    assert actions_shipments.do_create_missing_shipments() == 3
    assert actions_shipments.do_create_missing_shipments() == 0

    assert set(shipped.shipments.values_list("location__code", "status")) == {
        ("wh-ala", "delivered"),
        ("wh-ast", "delivered"),
    }
    assert set(fresh.shipments.values_list("location__code", "status")) == {
        ("wh-ala", "picking"),  # left as it was
        ("wh-ast", "pending"),
    }
