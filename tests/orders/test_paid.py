"""Payment → paid: once the paid payments cover the total, the order becomes paid through the status machine
in the same step (history "paid in full"), over the API as in the actions; not before, and never from a status
the machine does not allow."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from omnia.catalog.models import Variant
from omnia.core.permissions import Role
from omnia.inventory.models import Location
from omnia.orders import actions
from omnia.orders.actions_payments import check_add_payment
from omnia.orders.models import Order, StatusChange
from tests.factories import make_location, make_token, make_user, make_variant
from tests.orders.test_api import assert_error, call, place, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def token() -> str:
    return make_token(role=Role.OPERATOR, scopes=["orders:write"])


@pytest.fixture
def store() -> Location:
    return make_location(code="mega", name="Мега", city="Алматы", offers_pickup=True)


@pytest.fixture
def variant() -> Variant:
    return make_variant(sku="GIR-10", price="4990")


def confirmed_order(client: Client, token: str, variant: Variant, store: Location) -> dict[str, Any]:
    stock(variant, store, 5)
    order = place(client, token).json()  # 2 × 4990 = 9980.00
    moved = call(client, "post", f"/orders/{order['id']}/transitions", token, data={"to": "confirmed"})
    assert moved.status_code == 200, moved.content
    return order


def test_a_payment_covering_the_total_makes_the_order_paid(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    order = confirmed_order(client, token, variant, store)
    path = f"/orders/{order['id']}/payments"

    part = call(client, "post", path, token, data={"method": "kaspi_pay", "amount": "4000", "status": "paid"})
    after_part = call(client, "get", f"/orders/{order['id']}", token).json()
    rest = call(client, "post", path, token, data={"method": "cash_in_store", "amount": "5980", "status": "paid"})
    after_rest = call(client, "get", f"/orders/{order['id']}", token).json()

    assert (part.status_code, rest.status_code) == (201, 201)
    assert after_part["status"] == "confirmed"
    assert after_rest["status"] == "paid"
    last = after_rest["history"][-1]
    assert (last["old"], last["new"], last["reason"]) == ("confirmed", "paid", "paid in full")


def test_marking_a_pending_payment_paid_makes_the_order_paid(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    order = confirmed_order(client, token, variant, store)
    path = f"/orders/{order['id']}/payments"
    pending = call(client, "post", path, token, data={"method": "card_online", "amount": "9980"}).json()
    assert call(client, "get", f"/orders/{order['id']}", token).json()["status"] == "confirmed"

    marked = call(client, "post", f"{path}/{pending['id']}/status", token, data={"status": "paid"})

    assert marked.status_code == 200, marked.content
    assert call(client, "get", f"/orders/{order['id']}", token).json()["status"] == "paid"
    assert StatusChange.objects.filter(order_id=order["id"], new="paid", reason="paid in full").count() == 1


def test_a_failed_or_refunded_payment_does_not_make_it_paid(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    order = confirmed_order(client, token, variant, store)
    path = f"/orders/{order['id']}/payments"
    pending = call(client, "post", path, token, data={"method": "card_online", "amount": "9980"}).json()

    failed = call(client, "post", f"{path}/{pending['id']}/status", token, data={"status": "failed"})

    assert failed.json()["status"] == "failed"
    assert call(client, "get", f"/orders/{order['id']}", token).json()["status"] == "confirmed"


def test_a_new_order_paid_in_full_stays_new_where_the_machine_allows_no_paid(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    stock(variant, store, 5)
    order = place(client, token).json()

    paid = call(
        client, "post", f"/orders/{order['id']}/payments", token,
        data={"method": "kaspi_pay", "amount": "9980", "status": "paid"},
    )  # fmt: skip

    assert paid.status_code == 201, paid.content
    body = call(client, "get", f"/orders/{order['id']}", token).json()
    assert body["status"] == "new"
    assert [h["new"] for h in body["history"]] == ["new"]


def test_an_order_already_picking_is_not_moved_back_to_paid(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    order = confirmed_order(client, token, variant, store)
    call(client, "post", f"/orders/{order['id']}/transitions", token, data={"to": "picking"})

    call(
        client, "post", f"/orders/{order['id']}/payments", token,
        data={"method": "cash_in_store", "amount": "9980", "status": "paid"},
    )  # fmt: skip

    assert call(client, "get", f"/orders/{order['id']}", token).json()["status"] == "picking"


def test_a_refused_payment_changes_nothing(client: Client, token: str, variant: Variant, store: Location) -> None:
    order = confirmed_order(client, token, variant, store)

    too_much = call(
        client, "post", f"/orders/{order['id']}/payments", token,
        data={"method": "cash_in_store", "amount": "9980.01", "status": "paid"},
    )  # fmt: skip

    assert_error(too_much, 422, "PAYMENT_TOO_LARGE", "amount")
    assert Order.objects.get(pk=order["id"]).status == "confirmed"


def test_the_action_records_who_made_it_paid(variant: Variant, store: Location) -> None:
    stock(variant, store, 5)
    clerk = make_user(Role.OPERATOR)
    placed = actions.check_place_order(
        actor=None,
        customer=actions.CustomerIn(phone="+7 701 555 12 34"),
        source="phone",
        lines=[actions.LineIn(variant, 1)],
        fulfillment=actions.FulfillmentIn(type="pickup", location=store),
    )
    actions.check_transition(actor=None, order=placed.order, to="confirmed")

    check_add_payment(actor=clerk, order=placed.order, method="cash_in_store", amount=Decimal("4990"), status="paid")

    placed.order.refresh_from_db()
    assert placed.order.status == "paid"
    change = StatusChange.objects.filter(order=placed.order).last()
    assert change is not None
    assert change.actor == clerk
