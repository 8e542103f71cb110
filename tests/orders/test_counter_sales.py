"""Sales at a store's counter: a passer-by needs no customer card, and the order belongs to the store
where it was sold even when the goods come from, or go to, somewhere else."""

from __future__ import annotations

from typing import Any

import pytest

from omnia.core.errors import ValidationFailed
from omnia.customers.models import Customer
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location, StockLevel
from omnia.orders import actions
from omnia.orders.actions import CustomerIn, FulfillmentIn, LineIn
from omnia.orders.models import Order
from tests.factories import make_location, make_variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def store() -> Location:
    return make_location(code="mega", city="Алматы", offers_pickup=True)


@pytest.fixture
def other_store() -> Location:
    return make_location(code="dostyk", city="Алматы", offers_pickup=True)


@pytest.fixture
def variant() -> Any:
    return make_variant(sku="GIR-10", price="4990")


def test_a_take_away_at_the_counter_needs_no_customer(variant: Any, store: Location) -> None:
    inventory_actions.do_receive(actor=None, location=store, lines=[Line(variant, 2)])

    placed = actions.check_place_order(
        actor=None,
        customer=CustomerIn(),
        source="store",
        lines=[LineIn(variant, 1)],
        fulfillment=FulfillmentIn(type="takeaway", location=store),
    )
    actions.check_transition(actor=None, order=placed.order, to=Order.Status.COMPLETED)

    order = Order.objects.get()
    assert (order.customer_id, order.location_id, order.status) == (None, store.pk, Order.Status.COMPLETED)
    level = StockLevel.objects.get(variant=variant, location=store)
    assert (level.on_hand, level.reserved) == (1, 0)
    assert not Customer.objects.exists()


@pytest.mark.parametrize(("source", "kind"), [("store", "pickup"), ("web", "takeaway"), ("phone", "pickup")])
def test_anyone_else_still_needs_a_customer(variant: Any, store: Location, source: str, kind: str) -> None:
    inventory_actions.do_receive(actor=None, location=store, lines=[Line(variant, 2)])

    with pytest.raises(ValidationFailed) as caught:
        actions.check_place_order(
            actor=None,
            customer=CustomerIn(),
            source=source,
            lines=[LineIn(variant, 1)],
            fulfillment=FulfillmentIn(type=kind, location=store),
        )

    assert (caught.value.code, caught.value.field) == ("CUSTOMER_REQUIRED", "customer.phone")
    assert not Order.objects.exists()


def test_a_delivery_sold_at_a_store_belongs_to_that_store_and_a_pick_up_to_its_point(
    variant: Any, store: Location, other_store: Location
) -> None:
    inventory_actions.do_receive(actor=None, location=other_store, lines=[Line(variant, 2)])
    phone = CustomerIn(phone="+7 701 555 12 34")

    delivery = actions.check_place_order(
        actor=None,
        customer=phone,
        source="store",
        lines=[LineIn(variant, 1)],
        fulfillment=FulfillmentIn(type="delivery", address={"city": "Алматы", "line1": "Абая 10"}),
        location=store,
    ).order
    pickup = actions.check_place_order(
        actor=None,
        customer=phone,
        source="store",
        lines=[LineIn(variant, 1)],
        fulfillment=FulfillmentIn(type="pickup", location=other_store),
        location=store,
    ).order

    assert (delivery.location_id, delivery.lines.get().location_id) == (store.pk, other_store.pk)
    assert (pickup.location_id, pickup.lines.get().location_id) == (other_store.pk, other_store.pk)
