"""One action places every order: idempotent, all lines reserved or none, customer resolved, possible
duplicates flagged; the status machine moves it on and cancelling gives the stock back."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from omnia.catalog.models import ChannelPrice
from omnia.core.errors import ValidationFailed
from omnia.customers.models import Identity, TimelineEntry
from omnia.inventory import actions as inventory_actions
from omnia.inventory import queries as inventory_queries
from omnia.inventory.actions import Line
from omnia.inventory.errors import OutOfStock
from omnia.inventory.models import Location, Reservation, StockLevel
from omnia.orders import actions
from omnia.orders.actions import CustomerIn, FulfillmentIn, LineIn, PaymentIn, TransitionNotAllowed
from omnia.orders.models import Order, StatusChange
from tests.factories import make_location, make_variant

pytestmark = pytest.mark.django_db

PHONE = "+7 701 555 12 34"


def stock(variant: Any, location: Location, quantity: int) -> None:
    inventory_actions.do_receive(actor=None, location=location, lines=[Line(variant, quantity)])


def level(variant: Any, location: Location) -> tuple[int, int]:
    row = StockLevel.objects.filter(variant=variant, location=location).first()
    return (row.on_hand, row.reserved) if row else (0, 0)


@pytest.fixture
def variant() -> Any:
    return make_variant(sku="GIR-10", price="4990")


def place(variant: Any, location: Location | None, quantity: int = 1, **extra: Any) -> actions.Placed:
    fulfillment = extra.pop("fulfillment", None) or FulfillmentIn(type="pickup", location=location)
    return actions.check_place_order(
        actor=None,
        customer=extra.pop("customer", CustomerIn(phone=PHONE, name="Айгерим Сейткали")),
        source=extra.pop("source", "web"),
        lines=extra.pop("lines", [LineIn(variant, quantity)]),
        fulfillment=fulfillment,
        **extra,
    )


def test_a_pickup_order_reserves_at_the_pickup_store_and_knows_the_customer(variant: Any, store: Location) -> None:
    stock(variant, store, 3)

    placed = place(variant, store, 2)

    order = placed.order
    assert placed.created
    assert (order.status, order.total, order.currency, order.number) == ("new", Decimal("9980.00"), "KZT", order.number)
    assert order.number.startswith("O-")
    (line,) = order.lines.all()
    assert (line.location, line.unit_price, line.reservation.status) == (store, Decimal("4990.00"), "active")
    assert level(variant, store) == (3, 2)
    assert Identity.objects.get(kind="phone").customer_id == order.customer_id
    assert TimelineEntry.objects.filter(customer=order.customer, kind="order").exists()
    assert list(StatusChange.objects.filter(order=order).values_list("new", flat=True)) == ["new"]


def test_the_same_key_or_external_id_returns_the_first_order(variant: Any, store: Location) -> None:
    stock(variant, store, 5)

    first = place(variant, store, idempotency_key="k-1")
    again = place(variant, store, idempotency_key="k-1")
    kaspi = place(variant, store, source="kaspi", external_id="KSP-77")
    kaspi_again = place(variant, store, source="kaspi", external_id="KSP-77")

    assert (again.order, again.created) == (first.order, False)
    assert (kaspi_again.order, kaspi_again.created) == (kaspi.order, False)
    assert Order.objects.count() == 2
    assert level(variant, store) == (5, 2)


def test_all_lines_or_none(variant: Any, store: Location) -> None:
    other = make_variant(sku="PLD-01")
    stock(variant, store, 3)
    stock(other, store, 1)

    with pytest.raises(OutOfStock) as refused:
        place(variant, store, lines=[LineIn(variant, 2), LineIn(other, 2)])

    assert refused.value.field == "lines[1].quantity"
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()
    assert (level(variant, store), level(other, store)) == ((3, 0), (1, 0))


def test_a_delivery_is_sourced_from_a_location_that_ships_there(
    variant: Any, store: Location, warehouse: Location
) -> None:
    stock(variant, warehouse, 10)
    stock(variant, store, 10)  # a store that does not ship

    order = place(variant, None, 3, fulfillment=FulfillmentIn(type="delivery", address={"city": "Астана"})).order

    assert [line.location for line in order.lines.all()] == [warehouse]
    assert (order.fulfillment, order.delivery_address) == ("delivery", {"city": "Астана"})


def test_a_pickup_line_the_pickup_store_lacks_comes_from_elsewhere(
    variant: Any, store: Location, warehouse: Location
) -> None:
    other = make_variant(sku="PLD-01")
    stock(variant, store, 5)
    stock(other, store, 1)
    stock(other, warehouse, 4)

    order = place(variant, store, lines=[LineIn(variant, 2), LineIn(other, 3)]).order

    assert [(line.variant, line.location) for line in order.lines.order_by("pk")] == [
        (variant, store),
        (other, warehouse),
    ]
    assert (level(variant, store), level(other, store), level(other, warehouse)) == ((5, 2), (1, 0), (4, 3))
    assert Reservation.objects.filter(status="active").count() == 2
    assert inventory_queries.list_stock_drift() == []


def test_a_price_set_for_the_channel_wins(variant: Any, store: Location) -> None:
    stock(variant, store, 2)
    ChannelPrice.objects.create(variant=variant, channel="kaspi", price=Decimal("5290"))

    assert place(variant, store, source="kaspi").order.total == Decimal("5290.00")
    assert place(variant, store, source="web").order.total == Decimal("4990.00")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"source": "fax"}, "source", "SOURCE_INVALID"),
        ({"lines": []}, "lines", "LINES_REQUIRED"),
        ({"quantity": 0}, "lines[0].quantity", "QUANTITY_INVALID"),
        ({"customer": CustomerIn(phone="12")}, "customer.phone", None),
        ({"fulfillment": FulfillmentIn(type="delivery")}, "fulfillment.address.city", "ADDRESS_REQUIRED"),
        ({"payment": PaymentIn(method="card_online", amount=Decimal("99999"))}, "payment.amount", "PAYMENT_TOO_LARGE"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    variant: Any, store: Location, change: dict[str, Any], field: str, code: str | None
) -> None:
    stock(variant, store, 3)
    quantity = change.pop("quantity", 1)

    with pytest.raises(ValidationFailed) as refused:
        place(variant, store, quantity, **change)

    assert refused.value.field == field
    if code:
        assert refused.value.code == code
    assert not Order.objects.exists()
    assert level(variant, store) == (3, 0)


def test_a_pickup_where_it_is_not_offered_is_refused(variant: Any) -> None:
    warehouse = make_location(code="wh2", kind=Location.Kind.WAREHOUSE, offers_pickup=False)
    stock(variant, warehouse, 3)

    with pytest.raises(ValidationFailed) as refused:
        place(variant, warehouse)

    assert refused.value.code == "PICKUP_NOT_OFFERED"


def test_the_same_order_from_another_channel_is_flagged_not_refused(variant: Any, store: Location) -> None:
    stock(variant, store, 5)
    first = place(variant, store, source="instagram").order

    second = place(variant, store, source="phone").order
    third = place(variant, store, 2, source="web").order  # other quantities: not the same order

    assert second.possible_duplicate_of == first
    assert third.possible_duplicate_of is None


# --- the status machine ------------------------------------------------------------------------------------------


def test_a_pickup_order_goes_through_to_completed_and_leaves_the_shelf(variant: Any, store: Location) -> None:
    stock(variant, store, 3)
    order = place(variant, store, 2).order

    for status in ("confirmed", "picking", "ready", "picked_up", "completed"):
        actions.check_transition(actor=None, order=order, to=status)

    assert order.status == "completed"
    assert level(variant, store) == (1, 0)
    assert inventory_queries.list_stock_drift() == []
    assert list(order.history.values_list("new", flat=True)) == [
        "new", "confirmed", "picking", "ready", "picked_up", "completed",
    ]  # fmt: skip


def test_cancelling_gives_the_reserved_units_back(variant: Any, store: Location) -> None:
    stock(variant, store, 3)
    order = place(variant, store, 2).order

    actions.check_transition(actor=None, order=order, to="cancelled", reason="передумал")

    assert level(variant, store) == (3, 0)
    assert order.customer is not None
    order.customer.refresh_from_db()
    assert order.customer.orders_count == 0


def test_a_transition_the_rules_do_not_allow_is_refused(variant: Any, store: Location) -> None:
    stock(variant, store, 3)
    order = place(variant, store).order

    with pytest.raises(TransitionNotAllowed) as refused:
        actions.check_transition(actor=None, order=order, to="shipped")

    assert (refused.value.code, refused.value.field) == ("TRANSITION_NOT_ALLOWED", "to")
    assert Order.objects.get(pk=order.pk).status == "new"


def test_a_takeaway_is_completed_at_the_counter(variant: Any, store: Location) -> None:
    stock(variant, store, 3)
    order = place(variant, store, fulfillment=FulfillmentIn(type="takeaway", location=store)).order

    actions.check_transition(actor=None, order=order, to="completed")

    assert level(variant, store) == (2, 0)


# --- concurrency ---------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_64_clients_for_the_last_20_units_some_repeating_their_key() -> None:
    variant, store = make_variant(sku="LAST-20"), make_location(code="race", offers_pickup=True)
    stock(variant, store, 20)
    barrier = threading.Barrier(64)
    outcomes: list[tuple[str, int | None]] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        key = f"key-{n // 2}"  # clients 2k and 2k+1 send the same request twice
        try:
            barrier.wait()
            try:
                placed = place(variant, store, customer=CustomerIn(phone=f"+7701{n // 2:07d}"), idempotency_key=key)
                outcome = ("created" if placed.created else "repeat", placed.order.pk)
            except OutOfStock:
                outcome = ("out", None)
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    created = {pk for kind, pk in outcomes if kind == "created"}
    repeats = {pk for kind, pk in outcomes if kind == "repeat"}
    assert len(outcomes) == 64
    assert len(created) == Order.objects.count() == 20
    assert repeats <= created  # every repeated key was answered with the first order
    assert level(variant, store) == (20, 20)
    assert len(set(Order.objects.values_list("idempotency_key", flat=True))) == 20
    assert inventory_queries.list_stock_drift() == []


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises writers: no deadlock to break")
@pytest.mark.django_db(transaction=True)
def test_an_order_the_database_rolls_back_to_break_a_deadlock_is_placed_again() -> None:
    first, second = make_variant(sku="DL-1"), make_variant(sku="DL-2")
    store = make_location(code="deadlock", offers_pickup=True)
    stock(first, store, 5)
    stock(second, store, 5)
    rows = {v.pk: StockLevel.objects.get(variant=v, location=store).pk for v in (first, second)}
    holding, outcome = threading.Event(), {}

    def clerk() -> None:  # holds the second row, then wants the first one, which the order holds by then
        try:
            with transaction.atomic():
                StockLevel.objects.filter(pk=rows[second.pk]).update(low_stock_threshold=1)
                holding.set()
                time.sleep(0.3)  # the order has the first row and waits for the second
                StockLevel.objects.filter(pk=rows[first.pk]).update(low_stock_threshold=1)
            outcome["clerk"] = "committed"
        finally:
            connection.close()

    thread = threading.Thread(target=clerk)
    thread.start()
    holding.wait()
    placed = place(first, store, lines=[LineIn(first, 1), LineIn(second, 1)], idempotency_key="deadlock")
    thread.join()

    assert outcome == {"clerk": "committed"}  # the order, which waited first, was the one rolled back
    assert placed.created
    assert (level(first, store), level(second, store)) == ((5, 1), (5, 1))
    assert Order.objects.count() == Reservation.objects.count() - 1 == 1
    assert inventory_queries.list_stock_drift() == []


def test_orders_placed_today_count_in_the_window(variant: Any, store: Location, time_machine: Any) -> None:
    time_machine.move_to(dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC), tick=False)
    stock(variant, store, 5)
    first = place(variant, store, source="instagram").order
    time_machine.shift(actions.DUPLICATE_WINDOW + dt.timedelta(minutes=1))

    later = place(variant, store, source="phone").order

    assert later.possible_duplicate_of is None
    assert first.possible_duplicate_of is None
