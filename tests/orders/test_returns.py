"""Returns and exchanges anywhere: an order handed over in one store comes back in another, restocked there
with a ledger row of kind return; never more than was bought; refunds recorded against the method; the
order becomes returned when everything is back; an exchange places a linked new order."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from omnia.catalog.models import Variant
from omnia.core.errors import Conflict, ValidationFailed
from omnia.core.permissions import Role
from omnia.inventory import actions as inventory_actions
from omnia.inventory import queries as inventory_queries
from omnia.inventory.actions import Line
from omnia.inventory.models import Location, StockLevel, StockMove
from omnia.orders import actions as orders_actions
from omnia.orders import actions_returns
from omnia.orders.models import Order, Payment, Return
from tests.factories import make_location, make_token, make_variant
from tests.orders.test_api import assert_error, call

pytestmark = pytest.mark.django_db

RETURN_KEYS = {"id", "order_id", "location", "reason", "at", "lines", "refund", "replacement_id"}


def on_hand(variant: Variant, location: Location) -> int:
    row = StockLevel.objects.filter(variant=variant, location=location).first()
    return row.on_hand if row else 0


@pytest.fixture
def token() -> str:
    return make_token(role=Role.OPERATOR, scopes=["orders:write"])


@pytest.fixture
def store() -> Location:
    return make_location(code="mega", city="Алматы", offers_pickup=True)


@pytest.fixture
def other_store() -> Location:
    return make_location(code="dostyk", city="Астана")


@pytest.fixture
def variant() -> Variant:
    return make_variant(sku="GIR-10", price="4990")


@pytest.fixture
def second() -> Variant:
    return make_variant(sku="PLD-01", price="1000")


def handed_over(client: Client, token: str, store: Location, variant: Variant, second: Variant) -> dict[str, Any]:
    """An order of 3 × GIR-10 and 1 × PLD-01 picked up at `store`."""
    inventory_actions.do_receive(actor=None, location=store, lines=[Line(variant, 5), Line(second, 5)])
    body = {
        "customer": {"phone": "+7 701 555 12 34"},
        "source": "instagram",
        "lines": [{"sku": "GIR-10", "quantity": 3}, {"sku": "PLD-01", "quantity": 1}],
        "fulfillment": {"type": "pickup", "location": store.code},
    }
    order = call(client, "post", "/orders", token, data=body).json()
    for status in ("confirmed", "picking", "ready", "picked_up"):
        call(client, "post", f"/orders/{order['id']}/transitions", token, data={"to": status})
    return order


def take_back(client: Client, token: str, order: dict[str, Any], **body: Any) -> Any:
    headers = {name: body.pop(name) for name in list(body) if name.startswith("HTTP_")}
    data = {"location": "dostyk", "lines": [{"sku": "GIR-10", "quantity": 1}], "reason": "не подошёл цвет"}
    data.update(body)
    return call(client, "post", f"/orders/{order['id']}/returns", token, data=data, **headers)


def test_a_return_at_another_store_restocks_there_and_refunds(
    client: Client, token: str, store: Location, other_store: Location, variant: Variant, second: Variant
) -> None:
    order = handed_over(client, token, store, variant, second)
    assert (on_hand(variant, store), on_hand(variant, other_store)) == (2, 0)

    response = take_back(client, token, order, refund={"method": "card_online", "amount": "4990"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == RETURN_KEYS
    assert (body["location"], body["lines"], body["replacement_id"]) == (
        "dostyk", [{"sku": "GIR-10", "quantity": 1}], None,
    )  # fmt: skip
    assert (body["refund"]["method"], body["refund"]["amount"], body["refund"]["status"]) == (
        "card_online", "4990.00", "refunded",
    )  # fmt: skip
    assert (on_hand(variant, store), on_hand(variant, other_store)) == (2, 1)
    move = StockMove.objects.get(kind=StockMove.Kind.RETURN)
    assert (move.location, move.quantity, move.reference) == (other_store, 1, f"order:{order['number']}")
    detail = call(client, "get", f"/orders/{order['id']}", token).json()
    assert detail["status"] == "picked_up"
    assert [r["id"] for r in detail["returns"]] == [body["id"]]
    assert [(p["method"], p["status"]) for p in detail["payments"]] == [("card_online", "refunded")]


def test_everything_back_makes_the_order_returned(
    client: Client, token: str, store: Location, other_store: Location, variant: Variant, second: Variant
) -> None:
    order = handed_over(client, token, store, variant, second)

    assert take_back(client, token, order, lines=[{"sku": "GIR-10", "quantity": 2}]).status_code == 201
    last = take_back(client, token, order, lines=[{"sku": "gir-10", "quantity": 1}, {"sku": "PLD-01", "quantity": 1}])

    assert last.status_code == 201, last.content
    detail = call(client, "get", f"/orders/{order['id']}", token).json()
    assert detail["status"] == "returned"
    assert detail["history"][-1]["new"] == "returned"
    assert (on_hand(variant, other_store), on_hand(second, other_store)) == (3, 1)
    assert_error(take_back(client, token, order), 409, "RETURN_NOT_ALLOWED")


def test_a_repeated_idempotency_key_answers_the_first_return_and_restocks_once(
    client: Client, token: str, store: Location, other_store: Location, variant: Variant, second: Variant
) -> None:
    order = handed_over(client, token, store, variant, second)
    refund = {"method": "cash_in_store", "amount": "4990"}

    first = take_back(client, token, order, refund=refund, HTTP_IDEMPOTENCY_KEY="ret-1")
    again = take_back(client, token, order, refund=refund, HTTP_IDEMPOTENCY_KEY="ret-1")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Return.objects.count() == Payment.objects.count() == 1
    assert on_hand(variant, other_store) == 1
    another = handed_over(client, token, store, variant, second)
    assert_error(
        take_back(client, token, another, HTTP_IDEMPOTENCY_KEY="ret-1"), 409, "IDEMPOTENCY_KEY_REUSED",
        "Idempotency-Key",
    )  # fmt: skip


def test_no_more_than_was_bought_less_earlier_returns(
    client: Client, token: str, store: Location, other_store: Location, variant: Variant, second: Variant
) -> None:
    order = handed_over(client, token, store, variant, second)
    assert take_back(client, token, order, lines=[{"sku": "GIR-10", "quantity": 2}]).status_code == 201

    refused = take_back(
        client, token, order, lines=[{"sku": "PLD-01", "quantity": 1}, {"sku": "GIR-10", "quantity": 2}]
    )

    assert_error(refused, 422, "RETURN_TOO_MANY", "lines[1].quantity")
    assert Return.objects.count() == 1
    assert (on_hand(variant, other_store), on_hand(second, other_store)) == (2, 0)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, 404, "SKU_NOT_FOUND", "lines[0].sku"),
        ({"location": "nowhere"}, 404, "LOCATION_NOT_FOUND", "location"),
        ({"location": "no-returns"}, 422, "RETURNS_NOT_ACCEPTED", "location"),
        ({"lines": [{"sku": "OTHER", "quantity": 1}]}, 422, "NOT_IN_ORDER", "lines[0].sku"),
        ({"lines": [{"sku": "GIR-10", "quantity": 0}]}, 422, "QUANTITY_INVALID", "lines[0].quantity"),
        ({"lines": [{"sku": "GIR-10", "quantity": 4}]}, 422, "RETURN_TOO_MANY", "lines[0].quantity"),
        ({"lines": []}, 422, "LINES_REQUIRED", "lines"),
        ({"reason": " "}, 422, "REASON_REQUIRED", "reason"),
        ({"refund": {"method": "barter", "amount": "1"}}, 422, "METHOD_INVALID", "refund.method"),
        ({"refund": {"method": "card_online", "amount": "4990.01"}}, 422, "REFUND_TOO_LARGE", "refund.amount"),
        ({"exchange": {"lines": [{"sku": "GIR-10", "quantity": 99}]}}, 409, "OUT_OF_STOCK",
         "exchange.lines[0].quantity"),
        ({"exchange": {"lines": [{"sku": "NOPE", "quantity": 1}]}}, 404, "SKU_NOT_FOUND", "exchange.lines[0].sku"),
        ({"exchange": {"lines": [{"sku": "PLD-01", "quantity": 1}], "fulfillment": {"type": "pickup",
          "location": "nowhere"}}}, 404, "LOCATION_NOT_FOUND", "exchange.fulfillment.location"),
        ({"exchange": {"lines": [{"sku": "PLD-01", "quantity": 1}], "source": "fax"}}, 422, "SOURCE_INVALID",
         "exchange.source"),
    ],
)  # fmt: skip
def test_a_bad_return_changes_nothing(
    client: Client, token: str, store: Location, other_store: Location, variant: Variant, second: Variant,
    body: dict[str, Any], status: int, code: str, field: str,
) -> None:  # fmt: skip
    make_location(code="no-returns", accepts_returns=False)
    make_variant(sku="OTHER")
    order = handed_over(client, token, store, variant, second)
    moves = StockMove.objects.count()

    assert_error(take_back(client, token, order, **body), status, code, field)

    assert not Return.objects.exists()
    assert StockMove.objects.count() == moves
    assert not Payment.objects.exists()
    assert Order.objects.count() == 1


def test_an_order_not_handed_over_cannot_be_returned(
    client: Client, token: str, store: Location, other_store: Location, variant: Variant
) -> None:
    inventory_actions.do_receive(actor=None, location=store, lines=[Line(variant, 5)])
    body = {
        "customer": {"phone": "+7 701 555 12 34"},
        "source": "web",
        "lines": [{"sku": "GIR-10", "quantity": 1}],
        "fulfillment": {"type": "pickup", "location": "mega"},
    }
    order = call(client, "post", "/orders", token, data=body).json()

    assert_error(take_back(client, token, order), 409, "RETURN_NOT_ALLOWED", "order")
    assert_error(
        call(client, "post", "/orders/999999/returns", token, data={"location": "mega", "lines": [], "reason": "x"}),
        404,
        "ORDER_NOT_FOUND",
    )


def test_an_exchange_is_a_return_plus_a_linked_new_order(
    client: Client, token: str, store: Location, other_store: Location, variant: Variant, second: Variant
) -> None:
    order = handed_over(client, token, store, variant, second)
    inventory_actions.do_receive(actor=None, location=other_store, lines=[Line(second, 2)])

    response = take_back(client, token, order, exchange={"lines": [{"sku": "PLD-01", "quantity": 2}]})

    assert response.status_code == 201, response.content
    new = Order.objects.get(pk=response.json()["replacement_id"])
    assert (new.customer_id, new.source, new.fulfillment, new.location) == (
        order["customer_id"], "instagram", "takeaway", other_store,
    )  # fmt: skip
    assert order["number"] in new.comment
    assert [(line.variant.sku, line.quantity, line.location) for line in new.lines.all()] == [
        ("PLD-01", 2, other_store)
    ]
    assert on_hand(variant, other_store) == 1


def test_returns_need_the_write_scope(
    client: Client, token: str, store: Location, other_store: Location, variant: Variant, second: Variant
) -> None:
    order = handed_over(client, token, store, variant, second)
    reader = make_token(role=Role.OPERATOR, scopes=["orders:read"])

    assert_error(take_back(client, reader, order), 403, "SCOPE_MISSING")
    assert not Return.objects.exists()


# --- concurrency ---------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_16_clerks_returning_the_same_3_units_at_once_take_back_exactly_3() -> None:
    variant = make_variant(sku="RACE-RET")
    store = make_location(code="race-a", offers_pickup=True)
    elsewhere = make_location(code="race-b")
    inventory_actions.do_receive(actor=None, location=store, lines=[Line(variant, 3)])
    order = orders_actions.check_place_order(
        actor=None,
        customer=orders_actions.CustomerIn(phone="+7 701 000 00 77"),
        source="web",
        lines=[orders_actions.LineIn(variant, 3)],
        fulfillment=orders_actions.FulfillmentIn(type="pickup", location=store),
    ).order
    for status in ("confirmed", "picking", "ready", "picked_up"):
        orders_actions.check_transition(actor=None, order=order, to=status)
    barrier = threading.Barrier(16)
    outcomes: list[str] = []
    lock = threading.Lock()

    def clerk() -> None:
        try:
            barrier.wait()
            try:
                actions_returns.check_return(
                    actor=None,
                    order=order,
                    location=elsewhere,
                    lines=[actions_returns.ReturnLineIn(variant, 1)],
                    reason="брак",
                )
                outcome = "taken"
            except (ValidationFailed, Conflict) as exc:
                outcome = exc.code
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=clerk) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == 16
    assert outcomes.count("taken") == 3
    assert set(outcomes) - {"taken"} <= {"RETURN_TOO_MANY", "RETURN_NOT_ALLOWED"}
    assert on_hand(variant, elsewhere) == 3
    assert Order.objects.get(pk=order.pk).status == "returned"
    assert inventory_queries.list_stock_drift() == []
