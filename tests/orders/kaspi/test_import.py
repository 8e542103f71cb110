"""Kaspi.kz orders arrive by themselves: polled from a local fake of the Shop API, placed once, accepted
(or cancelled when out of stock) back at Kaspi; bad payloads and outages never stop the poll; our
status changes go back to Kaspi."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from omnia.core import clock
from omnia.customers import actions as customers_actions
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location, Reservation, StockLevel
from omnia.orders import actions, tasks
from omnia.orders.kaspi import client as kaspi_client
from omnia.orders.kaspi import importer
from omnia.orders.models import KaspiAccount, KaspiOrder, Order, Payment
from tests.factories import make_location, make_variant
from tests.orders.kaspi.fake_kaspi import TOKEN, FakeKaspi

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> KaspiAccount:
    account = KaspiAccount(name="Shop on Kaspi", created_at=clock.now())
    account.token = TOKEN
    account.save()
    return account


@pytest.fixture
def point() -> Location:
    return make_location(code="pp1", city="Алматы", offers_pickup=True, kaspi_point_id="PP1")


@pytest.fixture
def garland() -> Any:
    variant = make_variant(sku="GIR-10", price="4990")
    return variant


def stock(variant: Any, location: Location, quantity: int) -> None:
    inventory_actions.do_receive(actor=None, location=location, lines=[Line(variant, quantity)])


def level(variant: Any, location: Location) -> tuple[int, int]:
    row = StockLevel.objects.filter(variant=variant, location=location).first()
    return (row.on_hand, row.reserved) if row else (0, 0)


def ago(**delta: float) -> dt.datetime:
    return clock.now() - dt.timedelta(**delta)


def test_a_new_order_is_placed_once_at_its_point_and_accepted_at_kaspi(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    stock(garland, point, 5)
    kaspi_id = fake_kaspi.add_order("496149022", entries=[("GIR-10", 2, 4990.0)], created=ago(hours=1))

    first = importer.poll_account(account)
    second = importer.poll_account(account)

    order = Order.objects.get()
    assert (first.imported, first.accepted, second.imported, second.accepted) == (1, 1, 0, 0)
    assert (order.source, order.external_id, order.fulfillment, order.location) == ("kaspi", kaspi_id, "pickup", point)
    assert order.total == Decimal("9980.00")
    assert order.customer is not None
    phone = order.customer.identities.get(kind="phone")
    assert (phone.value, phone.display_name) == ("+77019876543", "Ерлан Ахметов")
    (line,) = order.lines.all()
    assert (line.location, line.quantity, line.reservation.status) == (point, 2, "active")
    assert level(garland, point) == (5, 2)
    payment = Payment.objects.get(order=order)
    assert (payment.method, payment.amount, payment.reference) == ("kaspi_red", Decimal("9980.00"), "496149022")
    assert fake_kaspi.status_changes() == [("496149022", "ACCEPTED_BY_MERCHANT", "")]
    assert fake_kaspi.status_of(kaspi_id) == "ACCEPTED_BY_MERCHANT"
    link = KaspiOrder.objects.get()
    assert (link.order, link.outcome, link.code) == (order, "accepted", "496149022")
    assert account.last_error == ""


def test_the_buyer_is_the_card_with_that_phone(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    known = customers_actions.do_resolve_identity(
        kind="phone", value="+7 701 987 65 43", channel="web", display_name="Ерлан"
    ).customer
    stock(garland, point, 1)
    # The buyer only in `included` (include[orders]=user), not inline.
    fake_kaspi.add_order("100", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=2), customer_inline=False)

    importer.poll_account(account)

    assert Order.objects.get().customer_id == known.pk


def test_every_page_and_every_polled_state_is_read(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kaspi_client, "PAGE_SIZE", 2)
    stock(garland, point, 10)
    for n in range(5):
        fake_kaspi.add_order(f"20{n}", entries=[("GIR-10", 1, 4990.0)], created=ago(minutes=10 + n))
    fake_kaspi.add_order(
        "300", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=3), state="PICKUP", status="ACCEPTED_BY_MERCHANT"
    )

    result = importer.poll_account(account)

    assert (result.imported, result.accepted) == (6, 5)  # the PICKUP one was accepted already
    assert Order.objects.filter(source="kaspi").count() == 6
    pages = [r.query["page[number]"] for r in fake_kaspi.requests if r.query.get("filter[orders][state]") == "NEW"]
    assert pages == ["0", "1", "2"]
    assert {r.query["filter[orders][state]"] for r in fake_kaspi.requests if r.method == "GET" and r.query} == {
        *importer.POLLED_STATES,
        "ARCHIVE",  # followed for the orders placed
    }
    assert all(r.headers["x-auth-token"] == TOKEN for r in fake_kaspi.requests)


def test_a_long_gap_is_read_in_windows_of_at_most_fourteen_days(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    account.watermark = ago(days=30)
    account.save()
    stock(garland, point, 2)
    fake_kaspi.add_order("400", entries=[("GIR-10", 1, 4990.0)], created=ago(days=20))

    result = importer.poll_account(account)

    assert result.imported == 1
    spans = [
        int(r.query["filter[orders][creationDate][$le]"]) - int(r.query["filter[orders][creationDate][$ge]"])
        for r in fake_kaspi.requests
        if r.query.get("filter[orders][state]") == "NEW"
    ]
    assert len(spans) == 3
    assert max(spans) <= 14 * 24 * 3600 * 1000
    account.refresh_from_db()
    assert account.watermark is not None
    assert abs(account.watermark - (clock.now() - importer.LOOKBACK)) < dt.timedelta(minutes=1)


def test_out_of_stock_is_cancelled_at_kaspi_and_leaves_nothing_here(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    stock(garland, point, 1)
    kaspi_id = fake_kaspi.add_order("500", entries=[("GIR-10", 3, 4990.0)], created=ago(hours=1))

    first = importer.poll_account(account)
    importer.poll_account(account)

    assert first.cancelled == 1
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()
    assert level(garland, point) == (1, 0)
    assert fake_kaspi.status_changes() == [("500", "CANCELLED", "MERCHANT_OUT_OF_STOCK")]
    assert fake_kaspi.status_of(kaspi_id) == "CANCELLED"
    assert KaspiOrder.objects.get().outcome == "cancelled"


def test_a_malformed_or_unknown_order_is_recorded_and_skipped_and_the_rest_imported(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    stock(garland, point, 5)
    fake_kaspi.extra.append({"type": "orders", "id": "broken", "attributes": {"code": "600", "creationDate": "soon"}})
    fake_kaspi.extra.append(["not", "an", "object"])
    fake_kaspi.add_order("601", entries=[("NO-SUCH-SKU", 1, 100.0)], created=ago(hours=1))
    fake_kaspi.add_order("602", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=1), phone="123")
    fake_kaspi.add_order("603", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=1))
    fake_kaspi.add_order("604", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=1), point="15843453_PP9")

    result = importer.poll_account(account)

    assert (result.imported, result.failed) == (1, 5)
    assert Order.objects.get().kaspi.code == "603"
    failed = dict(KaspiOrder.objects.filter(outcome="failed").values_list("code", "error"))
    assert set(failed) == {"601", "602", "604"}
    assert "NO-SUCH-SKU" in failed["601"]
    assert "PHONE_INVALID" in failed["602"]
    assert "KASPI_POINT_UNKNOWN" in failed["604"]
    account.refresh_from_db()
    assert "creationDate" in account.last_error
    assert "NO-SUCH-SKU" in account.last_error
    assert [code for code, *_ in fake_kaspi.status_changes()] == ["603"]  # failed ones are left to a person
    assert level(garland, point) == (5, 1)


def test_an_outage_is_retried_next_poll_without_losing_the_watermark(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    start = ago(days=1)
    account.watermark = start
    account.save()
    stock(garland, point, 5)
    fake_kaspi.add_order("700", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=5))
    fake_kaspi.fail_next("GET", "/orders", 503)

    down = importer.poll_account(account)

    account.refresh_from_db()
    assert (down.imported, account.watermark) == (0, start)
    assert "503" in account.last_error
    assert not Order.objects.exists()

    up = importer.poll_account(account)

    account.refresh_from_db()
    assert (up.imported, up.accepted, account.last_error) == (1, 1, "")
    assert Order.objects.count() == 1


def test_an_order_whose_entries_or_acceptance_fail_is_retried_and_holds_the_watermark(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    account.watermark = ago(days=5)
    account.save()
    stock(garland, point, 5)
    late = ago(days=4)
    stuck = fake_kaspi.add_order("800", entries=[("GIR-10", 1, 4990.0)], created=late)
    fake_kaspi.add_order("801", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=1))
    fake_kaspi.fail_next("GET", f"/orders/{stuck}/entries", 500)

    first = importer.poll_account(account)

    account.refresh_from_db()
    assert (first.imported, first.to_retry) == (1, 1)
    assert account.watermark is not None
    assert account.watermark <= late

    fake_kaspi.fail_next("POST", "/orders", 502)  # placed, but Kaspi does not hear the acceptance
    second = importer.poll_account(account)

    assert (second.imported, second.accepted, second.to_retry) == (1, 0, 1)
    assert KaspiOrder.objects.get(code="800").outcome == "placed"

    third = importer.poll_account(account)

    assert (third.imported, third.accepted) == (0, 1)
    assert Order.objects.count() == 2
    assert fake_kaspi.status_of(stuck) == "ACCEPTED_BY_MERCHANT"
    account.refresh_from_db()
    assert account.watermark is not None
    assert account.watermark > late


def test_a_kaspi_delivery_is_sourced_at_its_point_and_delivered(
    fake_kaspi: FakeKaspi, account: KaspiAccount, garland: Any
) -> None:
    warehouse = make_location(
        code="wh", kind=Location.Kind.WAREHOUSE, city="Астана", ships=False, sells=False, kaspi_point_id="15843453_PP2"
    )
    other = make_location(code="other", city="Астана", ships=True)
    stock(garland, warehouse, 2)
    stock(garland, other, 9)
    fake_kaspi.add_order(
        "900",
        entries=[("GIR-10", 2, 4990.0)],
        created=ago(hours=1),
        state="KASPI_DELIVERY",
        point="15843453_PP2",
        kaspi_delivery=True,
        payment_mode="PREPAID",
        address={"town": "Астана", "streetName": "Кабанбай батыра", "streetNumber": "53", "formattedAddress": ""},
    )

    importer.poll_account(account)

    order = Order.objects.get()
    assert order.fulfillment == "delivery"
    assert order.delivery_address["city"] == "Астана"
    assert order.delivery_address["line1"] == "Кабанбай батыра 53"
    assert order.lines.get().location == warehouse
    assert level(garland, warehouse) == (2, 2)
    assert Payment.objects.get(order=order).method == "kaspi_pay"


def test_our_status_changes_go_back_to_kaspi_from_a_task(
    fake_kaspi: FakeKaspi,
    account: KaspiAccount,
    point: Location,
    garland: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    stock(garland, point, 5)
    kaspi_id = fake_kaspi.add_order("1000", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=1))
    importer.poll_account(account)
    order = Order.objects.get()
    plain = actions.check_place_order(
        actor=None,
        customer=actions.CustomerIn(phone="+77015551234"),
        source="web",
        lines=[actions.LineIn(garland, 1)],
        fulfillment=actions.FulfillmentIn(type="pickup", location=point),
    ).order

    with django_capture_on_commit_callbacks(execute=True):
        actions.check_transition(actor=None, order=plain, to="cancelled", reason="changed mind")
        actions.check_transition(actor=None, order=order, to="cancelled", reason="Покупатель передумал")

    queued = DBTaskResult.objects.filter(task_path__endswith="push_kaspi_status")
    assert [task.args_kwargs["args"] for task in queued] == [[order.pk]]  # not the web order

    assert tasks.push_kaspi_status.call(order.pk) == "CANCELLED"
    assert tasks.push_kaspi_status.call(order.pk) == "Kaspi knows already: CANCELLED"

    assert fake_kaspi.status_of(kaspi_id) == "CANCELLED"
    last = fake_kaspi.posts[-1]["data"]["attributes"]
    assert (last["cancellationReason"], last["cancellationComment"]) == (
        "BUYER_CANCELLATION_BY_MERCHANT",
        "Покупатель передумал",
    )
    assert len(fake_kaspi.posts) == 2  # the acceptance, then the cancellation once
    assert tasks.push_kaspi_status.call(plain.pk) == "not a Kaspi order"


def test_a_refused_push_is_recorded_and_a_transient_one_retried(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    stock(garland, point, 5)
    fake_kaspi.add_order("1100", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=1))
    importer.poll_account(account)
    order = Order.objects.get()
    actions.check_transition(actor=None, order=order, to="cancelled", reason="no")
    fake_kaspi.fail_next("POST", "/orders", 503)

    outcome = tasks.push_kaspi_status.call(order.pk)

    assert outcome.startswith("CANCELLED: HTTP 503")
    assert "retry at" in outcome
    assert DBTaskResult.objects.filter(task_path__endswith="push_kaspi_status", status="READY").count() == 1
    assert tasks.push_kaspi_status.call(order.pk) == "CANCELLED"
    assert KaspiOrder.objects.get().error == ""


def test_poll_kaspi_polls_every_active_account_and_survives_a_bad_token(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    wrong = KaspiAccount(name="Old token", created_at=clock.now())
    wrong.token = "expired="
    wrong.save()
    KaspiAccount.objects.create(name="Off", is_active=False, created_at=clock.now())
    stock(garland, point, 5)
    fake_kaspi.add_order("1200", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=1))

    totals = tasks.poll_kaspi.call()

    assert (totals["imported"], totals["accepted"]) == (1, 1)
    wrong.refresh_from_db()
    assert "401" in wrong.last_error


def test_an_order_cancelled_at_kaspi_is_cancelled_here_and_its_stock_released(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    stock(garland, point, 5)
    kaspi_id = fake_kaspi.add_order("1300", entries=[("GIR-10", 2, 4990.0)], created=ago(days=6), state="PICKUP")
    account.watermark = ago(days=7)
    account.save()
    importer.poll_account(account)
    assert level(garland, point) == (5, 2)
    attributes = fake_kaspi.orders[kaspi_id]["attributes"]
    attributes.update(state="ARCHIVE", status="CANCELLED", cancellationReason="BUYER_CANCELLATION")

    importer.poll_account(account)

    order = Order.objects.get()
    assert order.status == "cancelled"
    assert order.history.last().reason == "cancelled at Kaspi.kz BUYER_CANCELLATION"
    assert level(garland, point) == (5, 0)
    assert tasks.push_kaspi_status.call(order.pk) == "nothing to tell Kaspi for cancelled"
    assert fake_kaspi.status_changes() == [("1300", "ACCEPTED_BY_MERCHANT", "")]  # nothing told back


def test_a_cancellation_at_kaspi_seen_in_its_live_state_cancels_here_once_it_is_final(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    stock(garland, point, 5)
    kaspi_id = fake_kaspi.add_order("1350", entries=[("GIR-10", 2, 4990.0)], created=ago(hours=3), state="PICKUP")
    importer.poll_account(account)
    order = Order.objects.get()
    actions.check_transition(actor=None, order=order, to="confirmed")
    attributes = fake_kaspi.orders[kaspi_id]["attributes"]

    attributes.update(status="CANCELLING")  # under way at Kaspi, not final: nothing changes here
    importer.poll_account(account)
    order.refresh_from_db()
    assert (order.status, level(garland, point)) == ("confirmed", (5, 2))

    attributes.update(status="CANCELLED", cancellationReason="BUYER_NOT_REACHABLE")  # still listed under PICKUP
    importer.poll_account(account)
    importer.poll_account(account)

    order.refresh_from_db()
    assert order.status == "cancelled"
    assert [change.reason for change in order.history.filter(new="cancelled")] == [
        "cancelled at Kaspi.kz BUYER_NOT_REACHABLE"
    ]
    assert level(garland, point) == (5, 0)
    assert KaspiOrder.objects.get().status == "CANCELLED"
    assert fake_kaspi.status_changes() == [("1350", "ACCEPTED_BY_MERCHANT", "")]  # nothing told back


def test_an_archived_order_never_seen_is_not_imported(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    stock(garland, point, 5)
    fake_kaspi.add_order("1400", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=1), state="ARCHIVE")

    importer.poll_account(account)

    assert not Order.objects.exists()
    assert not any(r.query.get("filter[orders][state]") == "ARCHIVE" for r in fake_kaspi.requests)


def test_a_poll_still_running_keeps_its_account(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    stock(garland, point, 5)
    fake_kaspi.add_order("1500", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=1))
    KaspiAccount.objects.filter(pk=account.pk).update(polling_since=ago(minutes=3))

    assert tasks.poll_kaspi.call() == {}
    assert not fake_kaspi.requests

    KaspiAccount.objects.filter(pk=account.pk).update(polling_since=ago(minutes=11))  # that poll died

    assert tasks.poll_kaspi.call()["imported"] == 1
    account.refresh_from_db()
    assert account.polling_since is None


def test_a_failed_import_is_tried_again_after_a_while(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    stock(garland, point, 5)
    fake_kaspi.add_order("1600", entries=[("GIR-20", 1, 5990.0)], created=ago(hours=1))
    importer.poll_account(account)
    late = make_variant(sku="GIR-20", price="5990")  # the SKU is added to the catalog
    stock(late, point, 1)

    soon = importer.poll_account(account)

    assert (soon.imported, soon.failed) == (0, 0)  # not tried again every minute
    KaspiOrder.objects.update(updated_at=ago(minutes=16))

    later = importer.poll_account(account)

    assert (later.imported, later.accepted) == (1, 1)
    assert KaspiOrder.objects.get().outcome == "accepted"
    assert Order.objects.get().lines.get().variant == late


def test_a_kaspi_delivery_shipped_here_is_assembled_at_kaspi(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    stock(garland, point, 5)
    kaspi_id = fake_kaspi.add_order(
        "1700",
        entries=[("GIR-10", 1, 4990.0)],
        created=ago(hours=1),
        state="KASPI_DELIVERY",
        point="PP1",
        kaspi_delivery=True,
        address={"town": "Алматы", "formattedAddress": "Алматы, Абая 10"},
    )
    importer.poll_account(account)
    order = Order.objects.get()
    for status in ("confirmed", "picking"):
        actions.check_transition(actor=None, order=order, to=status)
        assert tasks.push_kaspi_status.call(order.pk) == f"nothing to tell Kaspi for {status}"

    actions.check_transition(actor=None, order=order, to="shipped")

    assert tasks.push_kaspi_status.call(order.pk) == "ASSEMBLE"
    assert fake_kaspi.orders[kaspi_id]["attributes"]["assembled"] is True
    assert fake_kaspi.posts[-1]["data"]["attributes"]["numberOfSpace"] == 1


def test_an_entry_of_an_unexpected_shape_fails_only_its_order(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any
) -> None:
    stock(garland, point, 5)
    odd = fake_kaspi.add_order("1800", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=1))
    fake_kaspi.entries[odd][0]["relationships"] = ["not", "a", "map"]
    fake_kaspi.entries[odd][0]["attributes"]["quantity"] = 1.5
    fake_kaspi.add_order("1801", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=1))

    result = importer.poll_account(account)

    assert (result.imported, result.failed) == (1, 1)
    assert "quantity 1.5" in KaspiOrder.objects.get(code="1800").error


def test_a_surprise_in_one_order_is_recorded_and_the_poll_goes_on(
    fake_kaspi: FakeKaspi, account: KaspiAccount, point: Location, garland: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stock(garland, point, 5)
    fake_kaspi.add_order("1900", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=2))
    fake_kaspi.add_order("1901", entries=[("GIR-10", 1, 4990.0)], created=ago(hours=1))
    place = importer._place

    def flaky(incoming: importer.KaspiOrderIn, entries: Any) -> actions.Placed:
        if incoming.code == "1900":
            raise RuntimeError("surprise")
        return place(incoming, entries)

    monkeypatch.setattr(importer, "_place", flaky)

    result = importer.poll_account(account)

    assert (result.imported, result.failed) == (1, 1)
    assert "surprise" in KaspiOrder.objects.get(code="1900").error
