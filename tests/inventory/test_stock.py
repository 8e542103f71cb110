"""Stock changes: receipts, sales, reservations, transfers, supplies, corrections; the ledger and the
integrity check agree with every level; overselling is impossible even under concurrency."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection

from omnia.core import clock
from omnia.core.errors import PermissionDenied
from omnia.core.permissions import Role
from omnia.customers import actions as customers_actions
from omnia.customers.models import TimelineEntry
from omnia.inventory import actions, availability, queries
from omnia.inventory.actions import Line
from omnia.inventory.errors import InvalidQuantity, OutOfStock, ReasonRequired, WrongState
from omnia.inventory.models import Location, Reservation, StockLevel, StockMove, Transfer
from tests.factories import make_location, make_user, make_variant

pytestmark = pytest.mark.django_db


def level(variant: Any, location: Location) -> tuple[int, int, int]:
    row = StockLevel.objects.filter(variant=variant, location=location).first()
    return (row.on_hand, row.reserved, row.in_transit) if row else (0, 0, 0)


def consistent() -> bool:
    return queries.list_stock_drift() == []


@pytest.fixture
def store() -> Location:
    return make_location(code="dostyk", city="Алматы")


@pytest.fixture
def variant() -> Any:
    return make_variant()


def stock(variant: Any, location: Location, quantity: int) -> None:
    actions.do_receive(actor=None, location=location, lines=[Line(variant, quantity)], reference="opening")


# --- the basics ----------------------------------------------------------------------


def test_receipt_sale_and_return_are_ledger_rows(variant: Any, store: Location) -> None:
    stock(variant, store, 5)
    actions.check_sell(actor=None, variant=variant, location=store, quantity=2, reference="receipt:77")
    actions.do_return(actor=None, variant=variant, location=store, quantity=1, reason="size")

    assert level(variant, store) == (4, 0, 0)
    moves = StockMove.objects.filter(variant=variant).order_by("id")
    assert [(m.kind, m.quantity) for m in moves] == [("receipt", 5), ("sale", -2), ("return", 1)]
    assert consistent()


def test_selling_more_than_available_changes_nothing(variant: Any, store: Location) -> None:
    stock(variant, store, 2)
    actions.check_reserve(actor=None, variant=variant, location=store, quantity=1)

    with pytest.raises(OutOfStock) as refused:
        actions.check_sell(actor=None, variant=variant, location=store, quantity=2)

    assert refused.value.code == "OUT_OF_STOCK"
    assert level(variant, store) == (2, 1, 0)
    assert StockMove.objects.filter(kind="sale").count() == 0


@pytest.mark.parametrize("quantity", [0, -3, "два", 1.5, True, 10_000_001])
def test_a_quantity_is_a_positive_whole_number(variant: Any, store: Location, quantity: Any) -> None:
    with pytest.raises(InvalidQuantity) as refused:
        actions.do_receive(actor=None, location=store, lines=[Line(variant, quantity)])
    assert refused.value.field == "lines[0].quantity"
    assert not StockMove.objects.exists()


# --- reservations ----------------------------------------------------------------------


def test_a_reservation_sets_units_aside_and_releasing_twice_releases_once(variant: Any, store: Location) -> None:
    stock(variant, store, 3)
    hold = actions.check_reserve(actor=None, variant=variant, location=store, quantity=2, owner_ref="clerk")

    assert level(variant, store) == (3, 2, 0)
    actions.do_release(actor=None, reservation=hold)
    actions.do_release(actor=None, reservation=hold)

    hold.refresh_from_db()
    assert hold.status == Reservation.Status.RELEASED
    assert level(variant, store) == (3, 0, 0)
    assert consistent()


def test_several_lots_are_reserved_all_or_none(variant: Any, store: Location) -> None:
    other, third = make_variant(sku="PLD-02"), make_variant(sku="PLD-03")
    stock(variant, store, 5)
    stock(other, store, 1)

    with pytest.raises(OutOfStock) as short:
        actions.check_reserve_many(
            actor=None,
            holds=[actions.Hold(variant, store, 2), actions.Hold(other, store, 2), actions.Hold(third, store, 1)],
        )

    assert short.value.field == "holds[1].quantity"
    assert (level(variant, store), level(other, store)) == ((5, 0, 0), (1, 0, 0))
    assert not Reservation.objects.exists()
    assert consistent()


def test_lots_of_one_variant_at_one_location_count_together(variant: Any, store: Location) -> None:
    other = make_variant(sku="PLD-02")
    stock(variant, store, 5)
    stock(other, store, 1)

    held = actions.check_reserve_many(
        actor=None,
        holds=[
            actions.Hold(variant, store, 2, owner_ref="a"),
            actions.Hold(other, store, 1),
            actions.Hold(variant, store, 3),
        ],
        owner_kind=Reservation.Owner.ORDER_LINE,
    )

    assert [(hold.variant_id, hold.quantity, hold.owner_ref) for hold in held] == [
        (variant.pk, 2, "a"),
        (other.pk, 1, ""),
        (variant.pk, 3, ""),
    ]
    assert (level(variant, store), level(other, store)) == ((5, 5, 0), (1, 1, 0))
    assert consistent()  # a ledger row per lot
    with pytest.raises(OutOfStock) as short:
        actions.check_reserve_many(actor=None, holds=[actions.Hold(other, store, 1)])
    assert short.value.field == "holds[0].quantity"


def test_consuming_a_reservation_sells_its_units_once(variant: Any, store: Location) -> None:
    stock(variant, store, 3)
    hold = actions.check_reserve(actor=None, variant=variant, location=store, quantity=2)

    actions.check_consume(actor=None, reservation=hold, reference="order:A-100001")
    with pytest.raises(WrongState):
        actions.check_consume(actor=None, reservation=hold)

    assert level(variant, store) == (1, 0, 0)
    assert consistent()


def test_expired_holds_are_released(variant: Any, store: Location, time_machine: Any) -> None:
    time_machine.move_to(dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC), tick=False)
    stock(variant, store, 3)
    hold = actions.check_reserve(
        actor=None, variant=variant, location=store, quantity=2, expires_at=clock.now() + dt.timedelta(hours=2)
    )

    assert actions.do_release_expired(now=clock.now() + dt.timedelta(hours=1)) == 0
    assert actions.do_release_expired(now=clock.now() + dt.timedelta(hours=2)) == 1

    hold.refresh_from_db()
    assert hold.status == Reservation.Status.EXPIRED
    assert level(variant, store) == (3, 0, 0)


# --- corrections ----------------------------------------------------------------------


def test_a_manager_corrects_to_the_counted_quantity_with_a_reason(variant: Any, store: Location) -> None:
    stock(variant, store, 5)
    manager = make_user(Role.MANAGER)

    move = actions.check_correct(actor=manager, variant=variant, location=store, counted=3, reason="пересчёт")

    assert move is not None
    assert (move.quantity, move.reason, move.actor) == (-2, "пересчёт", manager)
    assert level(variant, store) == (3, 0, 0)
    assert consistent()


def test_a_correction_needs_a_reason_and_a_manager(variant: Any, store: Location) -> None:
    stock(variant, store, 5)

    with pytest.raises(ReasonRequired):
        actions.check_correct(actor=make_user(Role.MANAGER), variant=variant, location=store, counted=3, reason=" ")
    with pytest.raises(PermissionDenied):
        actions.check_correct(actor=make_user(Role.CLERK, store=store), variant=variant, location=store, delta=-1,
                              reason="бой")  # fmt: skip
    assert level(variant, store) == (5, 0, 0)


def test_a_correction_cannot_drop_below_what_is_reserved(variant: Any, store: Location) -> None:
    stock(variant, store, 5)
    actions.check_reserve(actor=None, variant=variant, location=store, quantity=4)

    with pytest.raises(OutOfStock):
        actions.check_correct(actor=make_user(Role.MANAGER), variant=variant, location=store, counted=3, reason="бой")

    assert level(variant, store) == (5, 4, 0)


# --- transfers and supplies ----------------------------------------------------------------------


def test_a_transfer_reserves_ships_in_transit_and_receives(variant: Any, store: Location) -> None:
    warehouse = make_location(kind=Location.Kind.WAREHOUSE, code="wh")
    stock(variant, warehouse, 10)

    transfer = actions.check_request_transfer(
        actor=None, source=warehouse, destination=store, lines=[Line(variant, 4)], expected_on=dt.date(2025, 3, 5)
    )
    assert (level(variant, warehouse), level(variant, store)) == ((10, 4, 0), (0, 0, 0))
    arrival = availability.availability([variant.pk])[variant.pk]
    assert {(r.location.code, r.next_arrival.quantity if r.next_arrival else None) for r in arrival} == {
        ("wh", None),
        ("dostyk", 4),
    }

    actions.check_ship_transfer(actor=None, transfer=transfer)
    assert (level(variant, warehouse), level(variant, store)) == ((6, 0, 0), (0, 0, 4))
    assert consistent()

    actions.check_receive_transfer(actor=None, transfer=transfer)
    assert (level(variant, warehouse), level(variant, store)) == ((6, 0, 0), (4, 0, 0))
    with pytest.raises(WrongState):
        actions.check_receive_transfer(actor=None, transfer=transfer)
    assert consistent()


def test_a_transfer_of_more_than_available_is_not_created(variant: Any, store: Location) -> None:
    warehouse = make_location(kind=Location.Kind.WAREHOUSE, code="wh")
    stock(variant, warehouse, 3)

    with pytest.raises(OutOfStock) as refused:
        actions.check_request_transfer(actor=None, source=warehouse, destination=store, lines=[Line(variant, 4)])

    assert refused.value.field == "lines[0].quantity"
    assert not Transfer.objects.exists()
    assert level(variant, warehouse) == (3, 0, 0)


def test_cancelling_a_requested_transfer_frees_its_units(variant: Any, store: Location) -> None:
    warehouse = make_location(kind=Location.Kind.WAREHOUSE, code="wh")
    stock(variant, warehouse, 3)
    transfer = actions.check_request_transfer(actor=None, source=warehouse, destination=store, lines=[Line(variant, 2)])

    actions.check_cancel_transfer(actor=None, transfer=transfer)

    assert transfer.status == Transfer.Status.CANCELLED
    assert level(variant, warehouse) == (3, 0, 0)
    with pytest.raises(WrongState):
        actions.check_ship_transfer(actor=None, transfer=transfer)


def test_a_supply_is_the_next_arrival_until_it_is_received(variant: Any, store: Location) -> None:
    supply = actions.check_create_supply(
        actor=None, location=store, expected_on=dt.date(2025, 3, 10), lines=[Line(variant, 12)], supplier="ТОО Свет"
    )
    later = actions.check_create_supply(
        actor=None, location=store, expected_on=dt.date(2025, 4, 1), lines=[Line(variant, 30)]
    )

    (row,) = availability.availability([variant.pk])[variant.pk]
    assert row.next_arrival == availability.Arrival(date=dt.date(2025, 3, 10), quantity=12)

    actions.check_receive_supply(actor=None, supply=supply, received={variant.pk: 11})
    (row,) = availability.availability([variant.pk])[variant.pk]
    assert (row.on_hand, row.next_arrival) == (11, availability.Arrival(date=dt.date(2025, 4, 1), quantity=30))
    with pytest.raises(WrongState):
        actions.check_receive_supply(actor=None, supply=supply)
    assert later.status == "expected"
    assert consistent()


# --- availability ----------------------------------------------------------------------


def test_availability_says_who_ships_to_the_city_and_who_offers_pickup(variant: Any) -> None:
    almaty = make_location(code="mega", city="Алматы", ships=True, offers_pickup=True, ships_to=["Алматы"])
    astana = make_location(code="khan", city="Астана", ships=True, offers_pickup=True)
    stock(variant, almaty, 2)
    stock(variant, astana, 5)

    rows = {r.location.code: r for r in availability.availability([variant.pk], city="астана")[variant.pk]}

    assert (rows["khan"].available, rows["khan"].ships, rows["khan"].pickup) == (5, True, True)
    assert (rows["mega"].available, rows["mega"].ships, rows["mega"].pickup) == (2, False, False)
    assert [r.location.code for r in availability.where_else(variant.pk, exclude_location_id=astana.pk)] == ["mega"]


def test_availability_of_many_variants_everywhere_takes_two_queries(
    store: Location, django_assert_num_queries: Any
) -> None:
    """Every active location is listed for every variant (zero where it has none), with the arrivals of
    supplies and transfers, in two queries however many variants and locations there are."""
    warehouse = make_location(code="wh", kind=Location.Kind.WAREHOUSE, city="Астана", ships=True)
    make_location(code="closed", is_active=False)
    variants = [make_variant() for _ in range(4)]
    stock(variants[0], store, 3)
    stock(variants[1], warehouse, 7)
    actions.check_create_supply(
        actor=None, location=warehouse, expected_on=dt.date(2031, 1, 20), lines=[Line(variants[2], 6)]
    )
    actions.check_request_transfer(
        actor=None, source=warehouse, destination=store, lines=[Line(variants[1], 2)], expected_on=dt.date(2031, 1, 5)
    )

    with django_assert_num_queries(2):
        table = availability.availability([v.pk for v in variants])

    assert {v.pk: [(r.location.code, r.available) for r in table[v.pk]] for v in variants[:2]} == {
        variants[0].pk: [("dostyk", 3), ("wh", 0)],
        variants[1].pk: [("wh", 5), ("dostyk", 0)],  # 2 set aside for the transfer
    }
    assert all(len(table[v.pk]) == 2 for v in variants)  # the closed location is left out
    arrivals = {(r.location.code, r.next_arrival) for v in variants for r in table[v.pk] if r.next_arrival}
    assert arrivals == {
        ("wh", availability.Arrival(date=dt.date(2031, 1, 20), quantity=6)),
        ("dostyk", availability.Arrival(date=dt.date(2031, 1, 5), quantity=2)),
    }


# --- back in stock ----------------------------------------------------------------------


def test_a_back_in_stock_request_is_on_the_card_once(variant: Any, store: Location) -> None:
    customer = customers_actions.do_resolve_identity(kind="phone", value="+77015550000", channel="store").customer

    first = customers_actions.do_request_back_in_stock(actor=None, customer=customer, variant=variant, location=store)
    again = customers_actions.do_request_back_in_stock(actor=None, customer=customer, variant=variant, location=store)

    assert first == again
    entry = TimelineEntry.objects.get(customer=customer, kind="stock_request")
    assert variant.sku in entry.summary


# --- concurrency ----------------------------------------------------------------------


def race(workers: int, work: Any) -> list[str]:
    """Run `work()` in `workers` threads released at once; each result is "ok" or an error code."""
    barrier = threading.Barrier(workers)
    results: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            try:
                work()
                outcome = "ok"
            except OutOfStock as exc:
                outcome = exc.code
            with lock:
                results.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_32_clerks_racing_for_the_last_10_units_oversell_nothing() -> None:
    variant, store = make_variant(sku="LAST-10"), make_location(code="race")
    stock(variant, store, 10)

    results = race(32, lambda: actions.check_reserve(actor=None, variant=variant, location=store, quantity=1))

    assert results.count("ok") == 10
    assert results.count("OUT_OF_STOCK") == 22
    assert level(variant, store) == (10, 10, 0)
    assert Reservation.objects.filter(status="active").count() == 10
    assert consistent()


@pytest.mark.django_db(transaction=True)
def test_32_orders_racing_for_two_rows_in_either_order_oversell_neither() -> None:
    first, second, store = make_variant(sku="LAST-A"), make_variant(sku="LAST-B"), make_location(code="race")
    stock(first, store, 10)
    stock(second, store, 10)
    turn = iter(range(32))
    pick = threading.Lock()

    def reserve_both() -> None:
        with pick:
            n = next(turn)
        lots = [actions.Hold(first, store, 1), actions.Hold(second, store, 1)]
        actions.check_reserve_many(actor=None, holds=lots if n % 2 else lots[::-1])

    results = race(32, reserve_both)

    assert results.count("ok") == 10
    assert results.count("OUT_OF_STOCK") == 22
    assert (level(first, store), level(second, store)) == ((10, 10, 0), (10, 10, 0))
    assert Reservation.objects.filter(status="active").count() == 20
    assert consistent()


@pytest.mark.django_db(transaction=True)
def test_a_transfer_racing_reservations_for_the_same_units() -> None:
    variant, store = make_variant(sku="RACE-T"), make_location(code="race-store")
    warehouse = make_location(kind=Location.Kind.WAREHOUSE, code="race-wh")
    stock(variant, warehouse, 10)

    def work(index: list[int] = [0]) -> None:  # noqa: B006 - a shared counter: the first thread transfers
        index[0] += 1
        if index[0] == 1:
            actions.check_request_transfer(actor=None, source=warehouse, destination=store, lines=[Line(variant, 6)])
        else:
            actions.check_reserve(actor=None, variant=variant, location=warehouse, quantity=1)

    results = race(16, work)

    on_hand, reserved, _ = level(variant, warehouse)
    assert on_hand == 10
    assert reserved <= 10
    transferred = 6 if Transfer.objects.exists() else 0
    assert reserved == transferred + Reservation.objects.filter(owner_kind="hold", status="active").count()
    assert results.count("ok") == (1 if transferred else 0) + Reservation.objects.filter(owner_kind="hold").count()
    assert consistent()


def test_a_sold_reservation_cannot_be_released(variant: Any, store: Location) -> None:
    stock(variant, store, 2)
    hold = actions.check_reserve(actor=None, variant=variant, location=store, quantity=1)
    actions.check_consume(actor=None, reservation=hold)

    with pytest.raises(WrongState):
        actions.do_release(actor=None, reservation=hold)
    assert level(variant, store) == (1, 0, 0)


def test_a_location_that_takes_no_returns_refuses_them(variant: Any) -> None:
    point = make_location(kind=Location.Kind.PICKUP_POINT, code="pp", accepts_returns=False)

    with pytest.raises(InvalidQuantity) as refused:
        actions.do_return(actor=None, variant=variant, location=point, quantity=1)

    assert (refused.value.code, refused.value.field) == ("RETURNS_NOT_ACCEPTED", "location")
    assert level(variant, point) == (0, 0, 0)
