"""The orders API contract: place (idempotent 201 → 200), read, list, transitions and payments. Shapes,
errors that name the field and change nothing (no reservation left behind), role and scope rules."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from omnia.catalog.models import Variant
from omnia.core.permissions import Role
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location, Reservation, StockLevel
from omnia.orders.models import Order, Payment
from tests.factories import make_location, make_token, make_variant

pytestmark = pytest.mark.django_db

ORDER_KEYS = {"id", "number", "status", "source", "customer_id", "lines", "total", "currency"}  # the contract
LIST_KEYS = ORDER_KEYS | {
    "external_id", "location", "fulfillment", "payments", "comment", "conversation_id", "possible_duplicate_of",
    "placed_at", "shipments", "delivery_price",
}  # fmt: skip
DETAIL_KEYS = LIST_KEYS | {"history", "returns"}
LINE_KEYS = {"sku", "quantity", "unit_price", "location"}
PAYMENT_KEYS = {"id", "method", "amount", "status", "reference", "created_at"}
PHONE = "+7 701 555 12 34"


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


def level(variant: Variant, location: Location) -> tuple[int, int]:
    row = StockLevel.objects.filter(variant=variant, location=location).first()
    return (row.on_hand, row.reserved) if row else (0, 0)


def stock(variant: Variant, location: Location, quantity: int) -> None:
    inventory_actions.do_receive(actor=None, location=location, lines=[Line(variant, quantity)])


@pytest.fixture
def token() -> str:
    return make_token(role=Role.OPERATOR, scopes=["orders:write"])


@pytest.fixture
def store() -> Location:
    return make_location(code="mega", name="Мега", city="Алматы", offers_pickup=True)


@pytest.fixture
def variant() -> Variant:
    return make_variant(sku="GIR-10", price="4990")


def order_body(**change: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": {"phone": PHONE, "name": "Айгерим"},
        "source": "web",
        "lines": [{"sku": "GIR-10", "quantity": 2}],
        "fulfillment": {"type": "pickup", "location": "mega"},
    }
    body.update(change)
    return body


def place(client: Client, token: str, key: str | None = None, **change: Any) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return call(client, "post", "/orders", token, data=order_body(**change), **headers)


# --- placing ------------------------------------------------------------------------------------------------


def test_the_answer_to_a_new_order_is_what_reading_it_answers(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    other = make_variant(sku="GIR-20", price="1990.50")
    warehouse = make_location(code="wh", city="Астана", kind=Location.Kind.WAREHOUSE, ships=True, sells=False)
    stock(variant, store, 5)
    stock(other, warehouse, 5)  # not at the pick-up store: a second shipment from the warehouse

    placed = place(
        client,
        token,
        key="site-2",
        lines=[{"sku": "GIR-10", "quantity": 2}, {"sku": "gir-20", "quantity": 1}],
        payment={"method": "card_online", "amount": "5000"},
        comment="  позвонить заранее ",
    )
    read = call(client, "get", f"/orders/{placed.json()['id']}", token)

    assert placed.status_code == 201, placed.content
    assert placed.json() == read.json()  # answered without reading it back, the same to the last digit
    assert [s["location"] for s in placed.json()["shipments"]] == ["mega", "wh"]
    assert placed.json()["payments"][0]["amount"] == "5000.00"


def test_placing_answers_the_contract(client: Client, token: str, variant: Variant, store: Location) -> None:
    stock(variant, store, 5)

    response = place(client, token, key="site-1", payment={"method": "card_online", "amount": "4990"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == DETAIL_KEYS
    assert (body["status"], body["source"], body["total"], body["currency"]) == ("new", "web", "9980.00", "KZT")
    assert body["number"].startswith("O-")
    assert body["lines"] == [{"sku": "GIR-10", "quantity": 2, "unit_price": "4990.00", "location": "mega"}]
    assert body["customer_id"] == Order.objects.get().customer_id
    assert body["fulfillment"] == {"type": "pickup", "location": "mega", "address": {}}
    assert [set(p) for p in body["payments"]] == [PAYMENT_KEYS]
    assert [(h["old"], h["new"]) for h in body["history"]] == [("", "new")]
    assert level(variant, store) == (5, 2)


def test_the_same_key_or_external_id_answers_200_with_the_first_order(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    stock(variant, store, 10)

    first = place(client, token, key="k-1")
    again = place(client, token, key="k-1")
    kaspi = place(client, token, source="kaspi", external_id="KSP-7")
    kaspi_again = place(client, token, source="kaspi", external_id="KSP-7")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert (kaspi.status_code, kaspi_again.status_code) == (201, 200)
    assert kaspi_again.json()["id"] == kaspi.json()["id"]
    assert Order.objects.count() == 2
    assert level(variant, store) == (10, 4)


def test_a_delivery_and_a_takeaway(client: Client, token: str, variant: Variant, store: Location) -> None:
    warehouse = make_location(code="wh", kind=Location.Kind.WAREHOUSE, city="Астана", ships=True, sells=False)
    stock(variant, warehouse, 3)
    stock(variant, store, 3)

    delivery = place(client, token, fulfillment={"type": "delivery", "address": {"city": "Астана", "line1": "Мира 1"}})
    takeaway = place(client, token, fulfillment={"type": "takeaway", "location": "mega"})

    assert delivery.status_code == 201, delivery.content
    assert delivery.json()["lines"][0]["location"] == "wh"
    assert delivery.json()["fulfillment"]["address"] == {"city": "Астана", "line1": "Мира 1"}
    assert takeaway.status_code == 201, takeaway.content
    assert takeaway.json()["fulfillment"]["type"] == "takeaway"


def test_an_existing_customer_by_id(client: Client, token: str, variant: Variant, store: Location) -> None:
    stock(variant, store, 5)
    first = place(client, token).json()

    response = place(client, token, customer={"id": first["customer_id"]}, source="phone")

    assert response.status_code == 201, response.content
    assert response.json()["customer_id"] == first["customer_id"]
    assert response.json()["possible_duplicate_of"] == first["id"]


def test_out_of_stock_is_409_naming_the_line_and_leaves_nothing(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    other = make_variant(sku="PLD-01")
    stock(variant, store, 5)
    stock(other, store, 1)

    response = place(
        client, token, key="k-oos", lines=[{"sku": "GIR-10", "quantity": 2}, {"sku": "PLD-01", "quantity": 2}]
    )

    assert_error(response, 409, "OUT_OF_STOCK", "lines[1].quantity")
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()
    assert (level(variant, store), level(other, store)) == ((5, 0), (1, 0))
    # The key was not spent on the refusal: once there is stock, it places the order.
    stock(other, store, 1)
    assert place(client, token, key="k-oos", lines=[{"sku": "PLD-01", "quantity": 2}]).status_code == 201


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"lines": [{"sku": "GIR-10", "quantity": 1}, {"sku": "NOPE", "quantity": 1}]}, 404, "SKU_NOT_FOUND",
         "lines[1].sku"),
        ({"fulfillment": {"type": "pickup", "location": "nowhere"}}, 404, "LOCATION_NOT_FOUND",
         "fulfillment.location"),
        ({"lines": [{"sku": "GIR-10", "quantity": 0}]}, 422, "QUANTITY_INVALID", "lines[0].quantity"),
        ({"lines": [{"sku": "GIR-10", "quantity": -3}]}, 422, "QUANTITY_INVALID", "lines[0].quantity"),
        ({"lines": []}, 422, "LINES_REQUIRED", "lines"),
        ({"fulfillment": {"type": "pickup", "location": "plain"}}, 422, "PICKUP_NOT_OFFERED", "fulfillment.location"),
        ({"fulfillment": {"type": "delivery", "address": {}}}, 422, "ADDRESS_REQUIRED", "fulfillment.address.city"),
        ({"fulfillment": {"type": "teleport"}}, 422, "FULFILLMENT_INVALID", "fulfillment.type"),
        ({"source": "fax"}, 422, "SOURCE_INVALID", "source"),
        ({"payment": {"method": "card_online", "amount": "99999"}}, 422, "PAYMENT_TOO_LARGE", "payment.amount"),
        ({"payment": {"method": "card_online", "amount": "-1"}}, 422, "AMOUNT_INVALID", "payment.amount"),
        ({"customer": {}}, 422, "CUSTOMER_REQUIRED", "customer.phone"),
        ({"customer": {"id": 999999}}, 404, "CUSTOMER_NOT_FOUND", "customer.id"),
        ({"conversation_id": 999999}, 404, "CONVERSATION_NOT_FOUND", "conversation_id"),
        ({"lines": [{"sku": "GIR-10"}]}, 422, "VALIDATION_FAILED", "lines.0.quantity"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    client: Client, token: str, variant: Variant, store: Location, change: dict[str, Any], status: int, code: str,
    field: str,
) -> None:  # fmt: skip
    make_location(code="plain", offers_pickup=False)
    stock(variant, store, 5)

    assert_error(place(client, token, key="bad", **change), status, code, field)

    assert not Order.objects.exists()
    assert not Reservation.objects.exists()
    assert level(variant, store) == (5, 0)


def test_permissions(client: Client, variant: Variant, store: Location) -> None:
    stock(variant, store, 5)
    reader = make_token(role=Role.OPERATOR, scopes=["orders:read"])
    stranger = make_token(role=Role.OPERATOR, scopes=["stock:write"])

    assert_error(place(client, reader), 403, "SCOPE_MISSING")
    assert_error(call(client, "get", "/orders", stranger), 403, "SCOPE_MISSING")
    assert_error(place(client, None), 401, "UNAUTHENTICATED")
    assert call(client, "get", "/orders", reader).status_code == 200
    assert not Order.objects.exists()


# --- reading ------------------------------------------------------------------------------------------------


def test_get_and_list_by_customer(client: Client, token: str, variant: Variant, store: Location) -> None:
    stock(variant, store, 10)
    mine = place(client, token).json()
    theirs = place(client, token, customer={"phone": "+7 702 000 00 01"}).json()

    got = call(client, "get", f"/orders/{mine['id']}", token)
    listed = call(client, "get", f"/orders?customer={mine['customer_id']}", token)
    legacy = call(client, "get", f"/orders?customer_id={theirs['customer_id']}", token)
    first_page = call(client, "get", "/orders?limit=1", token).json()
    second_page = call(client, "get", f"/orders?limit=1&cursor={first_page['next']}", token).json()

    assert got.status_code == 200
    assert got.json() == mine
    assert [o["id"] for o in listed.json()["items"]] == [mine["id"]]
    assert [o["id"] for o in legacy.json()["items"]] == [theirs["id"]]
    assert set(listed.json()["items"][0]) == LIST_KEYS
    assert [o["id"] for o in first_page["items"] + second_page["items"]] == [theirs["id"], mine["id"]]
    assert second_page["next"] is None
    assert_error(call(client, "get", "/orders/999999", token), 404, "ORDER_NOT_FOUND")


# --- transitions --------------------------------------------------------------------------------------------


def test_transitions_move_the_order_and_record_the_history(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    stock(variant, store, 5)
    order = place(client, token).json()

    for status in ("confirmed", "picking", "ready", "picked_up"):
        response = call(client, "post", f"/orders/{order['id']}/transitions", token, data={"to": status})
        assert response.status_code == 200, response.content
        assert response.json()["status"] == status

    history = response.json()["history"]
    assert [h["new"] for h in history] == ["new", "confirmed", "picking", "ready", "picked_up"]
    assert level(variant, store) == (3, 0)  # handed over: off the shelf


def test_a_transition_not_allowed_is_409_and_changes_nothing(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    stock(variant, store, 5)
    order = place(client, token).json()
    path = f"/orders/{order['id']}/transitions"

    assert_error(call(client, "post", path, token, data={"to": "shipped"}), 409, "TRANSITION_NOT_ALLOWED", "to")
    assert_error(call(client, "post", path, token, data={"to": "flying"}), 422, "STATUS_INVALID", "to")
    assert_error(call(client, "post", path, token, data={"to": "cancelled"}), 422, "REASON_REQUIRED", "reason")
    assert Order.objects.get().status == "new"
    assert level(variant, store) == (5, 2)

    cancelled = call(client, "post", path, token, data={"to": "cancelled", "reason": "передумал"})

    assert cancelled.status_code == 200
    assert cancelled.json()["history"][-1]["reason"] == "передумал"
    assert level(variant, store) == (5, 0)


# --- payments -----------------------------------------------------------------------------------------------


def test_payments_are_recorded_marked_and_never_exceed_the_total(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    stock(variant, store, 5)
    order = place(client, token).json()  # 9980.00
    path = f"/orders/{order['id']}/payments"

    first = call(client, "post", path, token, data={"method": "kaspi_pay", "amount": "5000", "status": "paid"})
    pending = call(client, "post", path, token, data={"method": "cash_in_store", "amount": "4980", "reference": "r-1"})
    too_much = call(client, "post", path, token, data={"method": "card_online", "amount": "4980.01", "status": "paid"})

    assert first.status_code == 201, first.content
    assert set(first.json()) == PAYMENT_KEYS
    assert (first.json()["status"], first.json()["amount"]) == ("paid", "5000.00")
    assert (pending.json()["status"], pending.json()["reference"]) == ("pending", "r-1")
    assert_error(too_much, 422, "PAYMENT_TOO_LARGE", "amount")

    marked = call(client, "post", f"{path}/{pending.json()['id']}/status", token, data={"status": "paid"})
    refunded = call(client, "post", f"{path}/{first.json()['id']}/status", token, data={"status": "refunded"})
    back = call(client, "post", f"{path}/{first.json()['id']}/status", token, data={"status": "pending"})

    assert marked.status_code == 200, marked.content
    assert marked.json()["status"] == "paid"
    assert refunded.json()["status"] == "refunded"
    assert_error(back, 409, "PAYMENT_TRANSITION_NOT_ALLOWED", "status")
    payments = call(client, "get", f"/orders/{order['id']}", token).json()["payments"]
    assert [(p["method"], p["status"]) for p in payments] == [("kaspi_pay", "refunded"), ("cash_in_store", "paid")]


def test_marking_paid_past_the_total_is_refused(client: Client, token: str, variant: Variant, store: Location) -> None:
    stock(variant, store, 5)
    order = place(client, token).json()
    path = f"/orders/{order['id']}/payments"
    a = call(client, "post", path, token, data={"method": "card_online", "amount": "9980"}).json()
    b = call(client, "post", path, token, data={"method": "cash_in_store", "amount": "1"}).json()
    assert call(client, "post", f"{path}/{a['id']}/status", token, data={"status": "paid"}).status_code == 200

    refused = call(client, "post", f"{path}/{b['id']}/status", token, data={"status": "paid"})

    assert_error(refused, 422, "PAYMENT_TOO_LARGE", "status")
    assert Payment.objects.get(pk=b["id"]).status == "pending"


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({"method": "barter", "amount": "10"}, "METHOD_INVALID", "method"),
        ({"method": "card_online", "amount": "0"}, "AMOUNT_INVALID", "amount"),
        ({"method": "card_online", "amount": "1.001"}, "AMOUNT_INVALID", "amount"),
        ({"method": "card_online", "amount": "10", "status": "refunded"}, "PAYMENT_STATUS_INVALID", "status"),
    ],
)
def test_a_bad_payment_is_422(
    client: Client, token: str, variant: Variant, store: Location, data: dict[str, str], code: str, field: str
) -> None:
    stock(variant, store, 5)
    order = place(client, token).json()

    assert_error(call(client, "post", f"/orders/{order['id']}/payments", token, data=data), 422, code, field)
    assert not Payment.objects.exists()


def test_a_cancelled_order_takes_no_payment(client: Client, token: str, variant: Variant, store: Location) -> None:
    stock(variant, store, 5)
    order = place(client, token).json()
    call(client, "post", f"/orders/{order['id']}/transitions", token, data={"to": "cancelled", "reason": "дубль"})

    response = call(client, "post", f"/orders/{order['id']}/payments", token, data={"method": "qiwi", "amount": "1"})

    assert_error(response, 409, "ORDER_CLOSED")
    assert Payment.objects.count() == 0
    assert Decimal(order["total"]) == Decimal("9980")


@pytest.mark.django_db(transaction=True)
def test_8_payments_at_once_never_pay_more_than_the_total(token: str, variant: Variant, store: Location) -> None:
    stock(variant, store, 5)
    order = place(Client(), token).json()  # 9980.00: three payments of 3000 fit, a fourth does not
    barrier = threading.Barrier(8)
    statuses: list[int] = []
    lock = threading.Lock()

    def pay() -> None:
        try:
            barrier.wait()
            response = call(
                Client(), "post", f"/orders/{order['id']}/payments", token,
                data={"method": "card_terminal", "amount": "3000", "status": "paid"},
            )  # fmt: skip
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201] * 3 + [422] * 5
    assert Payment.objects.filter(status="paid").count() == 3


def test_cancel_releases_the_reservations_and_needs_a_reason(
    client: Client, token: str, variant: Variant, store: Location
) -> None:
    stock(variant, store, 5)
    order = place(client, token).json()
    path = f"/orders/{order['id']}/cancel"

    assert_error(call(client, "post", path, token, data={"reason": "  "}), 422, "REASON_REQUIRED", "reason")
    assert level(variant, store) == (5, 2)
    cancelled = call(client, "post", path, token, data={"reason": "клиент передумал"})
    again = call(client, "post", path, token, data={"reason": "ещё раз"})

    assert cancelled.status_code == 200, cancelled.content
    assert (cancelled.json()["status"], cancelled.json()["history"][-1]["reason"]) == ("cancelled", "клиент передумал")
    assert level(variant, store) == (5, 0)
    assert_error(again, 409, "TRANSITION_NOT_ALLOWED", "to")
