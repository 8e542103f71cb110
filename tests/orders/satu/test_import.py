"""Satu.kz orders arrive by themselves: polled from a local fake of the Satu API, placed once, accepted
(or cancelled when out of stock) back at Satu, with Satu's "200 but not applied" answers recorded; bad
payloads and outages never stop the poll nor lose an order; our status changes go back to Satu."""

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
from omnia.inventory.models import Location, StockLevel
from omnia.orders import actions, tasks
from omnia.orders.models import Order, Payment, SatuAccount, SatuOrder
from omnia.orders.satu import client as satu_client
from omnia.orders.satu import importer
from tests.factories import make_location, make_variant
from tests.orders.satu.fake_satu import TOKEN, FakeSatu

pytestmark = pytest.mark.django_db


@pytest.fixture
def store() -> Location:
    return make_location(code="almaty-1", city="Алматы", offers_pickup=True, ships=True)


@pytest.fixture
def account(store: Location) -> SatuAccount:
    account = SatuAccount(name="Shop on Satu", created_at=clock.now(), pickup_location=store)
    account.token = TOKEN
    account.save()
    return account


@pytest.fixture
def garland() -> Any:
    return make_variant(sku="GIR-10", price="4990")


def stock(variant: Any, location: Location, quantity: int) -> None:
    inventory_actions.do_receive(actor=None, location=location, lines=[Line(variant, quantity)])


def level(variant: Any, location: Location) -> tuple[int, int]:
    row = StockLevel.objects.filter(variant=variant, location=location).first()
    return (row.on_hand, row.reserved) if row else (0, 0)


def ago(**delta: float) -> dt.datetime:
    return clock.now() - dt.timedelta(**delta)


def test_a_new_order_is_placed_delivered_to_the_buyer_and_accepted_at_satu(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    stock(garland, store, 5)
    satu_id = fake_satu.add_order([("GIR-10", 2, 4990.0)], created=ago(minutes=5))

    result = importer.poll_account(account)

    order = Order.objects.get()
    assert (result.imported, result.accepted, result.failed) == (1, 1, 0)
    assert (order.source, order.external_id, order.fulfillment) == ("satu", str(satu_id), "delivery")
    assert order.delivery_address["city"] == "Алматы"
    assert order.delivery_address["line1"] == "Алматы, ул. Абая 10, кв. 5"
    assert order.total == Decimal("9980.00")
    assert "Позвоните за час" in order.comment
    phone = order.customer.identities.get(kind="phone")
    assert (phone.value, phone.display_name) == ("+77019876543", "Айгерим Сапарова")
    assert order.customer.identities.filter(kind="email", value="aigerim@example.kz").exists()
    (line,) = order.lines.all()
    assert (line.location, line.quantity, line.reservation.status) == (store, 2, "active")
    assert level(garland, store) == (5, 2)
    payment = Payment.objects.get(order=order)
    assert (payment.method, payment.amount, payment.status) == ("cash_on_delivery", Decimal("9980.00"), "pending")
    assert fake_satu.set_status_calls() == [{"ids": [satu_id], "status": "received"}]
    assert fake_satu.status_of(satu_id) == "received"
    link = SatuOrder.objects.get()
    assert (link.order, link.outcome, link.status, link.error) == (order, "accepted", "received", "")
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake_satu.requests)
    account.refresh_from_db()
    assert (account.last_id, account.last_error) == (satu_id, "")


def test_a_repeated_poll_never_places_or_accepts_twice(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    stock(garland, store, 5)
    fake_satu.add_order([("GIR-10", 1, 4990.0)])
    importer.poll_account(account)

    again = importer.poll_account(account)
    SatuAccount.objects.filter(pk=account.pk).update(last_id=None)  # the cursor lost: everything read again
    account.refresh_from_db()
    from_scratch = importer.poll_account(account)

    assert (again.imported, again.accepted, from_scratch.imported, from_scratch.accepted) == (0, 0, 0, 0)
    assert Order.objects.count() == 1
    assert level(garland, store) == (5, 1)
    assert len(fake_satu.set_status_calls()) == 1


def test_pages_are_followed_down_by_last_id_and_the_next_poll_reads_only_new_orders(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(satu_client, "PAGE_SIZE", 2)
    stock(garland, store, 10)
    ids = [fake_satu.add_order([("GIR-10", 1, 4990.0)], phone=f"+7701000000{n}") for n in range(5)]

    first = importer.poll_account(account)
    newer = fake_satu.add_order([("GIR-10", 1, 4990.0)])
    second = importer.poll_account(account)

    assert (first.imported, first.accepted, second.imported) == (5, 5, 1)
    listings = [q for q in fake_satu.listings() if "status" not in q]  # not the follow-up of cancellations
    assert [q.get("last_id") for q in listings[:3]] == [None, str(ids[3]), str(ids[1])]
    assert all(q["limit"] == "2" for q in listings)
    assert "date_from" in listings[0]  # the first poll looks back two days
    assert listings[3:] == [{"limit": "2"}]  # one page: its oldest order was handled before
    account.refresh_from_db()
    assert account.last_id == newer
    assert sorted(int(o.external_id) for o in Order.objects.all()) == [*ids, newer]
    # Accepted oldest first, each once.
    assert [call["ids"][0] for call in fake_satu.set_status_calls()] == [*ids, newer]


def test_self_pickup_is_handed_out_at_the_accounts_pickup_store(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    warehouse = make_location(code="wh", kind="warehouse", city="Алматы", ships=True, offers_pickup=False)
    stock(garland, warehouse, 3)
    stock(garland, store, 1)
    fake_satu.add_order([("GIR-10", 1, 4990.0)], delivery="Самовывоз", address="", payment="Оплата картой онлайн")

    importer.poll_account(account)

    order = Order.objects.get()
    assert (order.fulfillment, order.location) == ("pickup", store)
    assert order.lines.get().location == store  # the pick-up store's own stock first
    assert Payment.objects.get(order=order).method == "card_online"


def test_a_product_is_matched_by_its_external_id_and_a_payment_made_at_satu_is_paid(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    stock(garland, store, 2)
    fake_satu.add_order([("GIR-10", 1, 4990.0)], use_external_id=True, payment="Satu Pay", paid=True)

    importer.poll_account(account)

    order = Order.objects.get()
    assert order.lines.get().variant == garland
    payment = Payment.objects.get(order=order)
    assert (payment.method, payment.status) == ("card_online", "paid")


def test_the_buyer_is_the_card_with_that_phone(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    known = customers_actions.do_resolve_identity(
        kind="phone", value="8 701 987 65 43", channel="web", display_name="Айгерим"
    ).customer
    stock(garland, store, 1)
    fake_satu.add_order([("GIR-10", 1, 4990.0)], phone="87019876543")

    importer.poll_account(account)

    assert Order.objects.get().customer_id == known.pk


def test_out_of_stock_is_cancelled_at_satu_as_not_available_and_leaves_nothing_here(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    stock(garland, store, 1)
    satu_id = fake_satu.add_order([("GIR-10", 3, 4990.0)])

    result = importer.poll_account(account)
    importer.poll_account(account)

    assert not Order.objects.exists()
    assert level(garland, store) == (1, 0)
    assert result.cancelled == 1
    assert fake_satu.set_status_calls() == [
        {"ids": [satu_id], "status": "canceled", "cancellation_reason": "not_available"}
    ]
    assert fake_satu.status_of(satu_id) == "canceled"
    link = SatuOrder.objects.get()
    assert (link.outcome, link.order) == ("cancelled", None)


def test_a_cancellation_satu_refuses_is_recorded_as_the_outcome_and_the_poll_goes_on(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    fake_satu.writable = {"received", "delivered", "paid"}  # as a Prom integrator reports
    stock(garland, store, 1)
    short = fake_satu.add_order([("GIR-10", 3, 4990.0)])
    fine = fake_satu.add_order([("GIR-10", 1, 4990.0)], phone="+77015550000")

    result = importer.poll_account(account)
    importer.poll_account(account)

    assert (result.imported, result.accepted, result.failed) == (1, 1, 1)
    refused = SatuOrder.objects.get(satu_id=short)
    assert refused.outcome == "cancel_refused"
    assert "canceled cannot be set" in refused.error
    assert fake_satu.status_of(short) == "pending"
    assert Order.objects.get().external_id == str(fine)
    assert len([c for c in fake_satu.set_status_calls() if c["ids"] == [short]]) == 1  # not asked again
    account.refresh_from_db()
    assert account.last_id == fine


def test_an_acceptance_missing_from_processed_ids_is_a_recorded_failure(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    fake_satu.silent = True  # 200 {} : nothing processed
    stock(garland, store, 2)
    satu_id = fake_satu.add_order([("GIR-10", 1, 4990.0)])

    result = importer.poll_account(account)

    link = SatuOrder.objects.get()
    assert (result.accepted, result.failed) == (0, 1)
    assert link.outcome == "failed"
    assert "processed_ids" in link.error
    assert link.order == Order.objects.get()  # placed here: its stock stays reserved
    assert level(garland, store) == (2, 1)
    account.refresh_from_db()
    assert "processed_ids" in account.last_error

    fake_satu.silent = False
    SatuOrder.objects.filter(pk=link.pk).update(updated_at=ago(minutes=16))
    later = importer.poll_account(account)

    assert (later.imported, later.accepted) == (0, 1)  # asked again, not placed again
    assert fake_satu.status_of(satu_id) == "received"
    assert Order.objects.count() == 1


def test_an_order_of_an_unexpected_shape_is_recorded_and_skipped_and_the_rest_imported(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    stock(garland, store, 5)
    fake_satu.extra = [
        {"unexpected": True},
        {"id": 1_999_999, "status": "pending", "phone": "+77010000000", "products": "GIR-10 x 1"},
        {"id": 1_999_998, "status": "pending", "phone": "+77010000000", "products": [{"sku": "GIR-10", "quantity": 0}]},
        "not an object",
    ]
    good = fake_satu.add_order([("GIR-10", 1, 4990.0)])
    unknown = fake_satu.add_order([("NO-SUCH", 1, 100.0)], phone="+77015550001")

    result = importer.poll_account(account)

    assert (result.imported, result.accepted, result.failed) == (1, 1, 5)
    assert Order.objects.get().external_id == str(good)
    failed = dict(SatuOrder.objects.filter(outcome="failed").values_list("satu_id", "error"))
    assert set(failed) == {1_999_999, 1_999_998, unknown}
    assert "`products` is not a list" in failed[1_999_999]
    assert "quantity 0" in failed[1_999_998]
    assert "SKU_NOT_FOUND" in failed[unknown]
    account.refresh_from_db()
    assert "unexpected" in account.last_error
    assert "NO-SUCH" in account.last_error
    assert account.last_id == unknown  # failed ones are retried from their records, not by holding the cursor


def test_a_failed_import_is_tried_again_after_a_while(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    satu_id = fake_satu.add_order([("GIR-20", 1, 5990.0)])
    importer.poll_account(account)
    late = make_variant(sku="GIR-20", price="5990")  # the SKU is added to the catalog
    stock(late, store, 1)

    soon = importer.poll_account(account)
    SatuOrder.objects.update(updated_at=ago(minutes=16))
    later = importer.poll_account(account)

    assert soon.imported == 0
    assert (later.imported, later.accepted) == (1, 1)
    assert Order.objects.get().external_id == str(satu_id)
    assert any(r.path.endswith(f"/orders/{satu_id}") for r in fake_satu.requests)  # read again by id


@pytest.mark.parametrize("failure", ["network", 502])
def test_a_listing_outage_keeps_the_cursor_and_the_next_poll_imports_everything(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any, failure: int | str
) -> None:
    stock(garland, store, 5)
    account.last_id = 2_000_000
    account.save()
    satu_id = fake_satu.add_order([("GIR-10", 1, 4990.0)])
    fake_satu.fail_next("GET", "/orders/list", failure)

    down = importer.poll_account(account)
    account.refresh_from_db()
    assert (down.imported, account.last_id) == (0, 2_000_000)
    assert "listing orders" in account.last_error

    up = importer.poll_account(account)

    assert (up.imported, up.accepted) == (1, 1)
    account.refresh_from_db()
    assert (account.last_id, account.last_error) == (satu_id, "")


def test_an_outage_mid_listing_handles_what_was_read_and_keeps_the_cursor(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(satu_client, "PAGE_SIZE", 2)
    stock(garland, store, 5)
    account.last_id = 2_000_000
    account.save()
    ids = [fake_satu.add_order([("GIR-10", 1, 4990.0)], phone=f"+7701000001{n}") for n in range(3)]
    original = fake_satu._list

    def second_page_fails(query: dict[str, str]) -> tuple[int, Any]:
        if "last_id" in query and not getattr(second_page_fails, "done", False):
            second_page_fails.done = True  # type: ignore[attr-defined]
            return 503, {"error": "busy"}
        return original(query)

    monkeypatch.setattr(fake_satu, "_list", second_page_fails)

    down = importer.poll_account(account)
    account.refresh_from_db()
    assert (down.imported, account.last_id) == (2, 2_000_000)  # the newest two, the cursor unmoved

    up = importer.poll_account(account)

    assert up.imported == 1
    assert sorted(int(o.external_id) for o in Order.objects.all()) == ids
    account.refresh_from_db()
    assert account.last_id == ids[-1]


def test_a_transient_acceptance_failure_holds_the_cursor_and_is_accepted_next_poll(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    stock(garland, store, 5)
    first = fake_satu.add_order([("GIR-10", 1, 4990.0)])
    second = fake_satu.add_order([("GIR-10", 1, 4990.0)], phone="+77015550002")
    fake_satu.fail_next("POST", "/orders/set_status", 503)

    down = importer.poll_account(account)
    account.refresh_from_db()
    assert (down.imported, down.accepted, down.to_retry) == (2, 1, 1)
    assert account.last_id == first - 1  # not past the order still to accept

    up = importer.poll_account(account)

    assert (up.imported, up.accepted) == (0, 1)
    assert Order.objects.count() == 2
    assert (fake_satu.status_of(first), fake_satu.status_of(second)) == ("received", "received")
    account.refresh_from_db()
    assert account.last_id == second


def test_an_order_accepted_or_in_the_shops_own_status_at_satu_is_imported_without_accepting_again(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    stock(garland, store, 5)
    received = fake_satu.add_order([("GIR-10", 1, 4990.0)], status="received")
    fake_satu.add_order([("GIR-10", 1, 4990.0)], status="canceled", phone="+77015550003")
    fake_satu.add_order([("GIR-10", 1, 4990.0)], status="draft", phone="+77015550005")
    custom = fake_satu.add_order([("GIR-10", 1, 4990.0)], status="custom-4711", phone="+77015550006")

    result = importer.poll_account(account)

    assert (result.imported, result.accepted) == (2, 0)
    assert sorted(int(o.external_id) for o in Order.objects.all()) == [received, custom]
    assert sorted(SatuOrder.objects.values_list("outcome", flat=True)) == ["accepted", "accepted", "draft"]
    assert fake_satu.set_status_calls() == []


def test_a_draft_placed_at_satu_after_the_cursor_passed_it_is_imported(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    stock(garland, store, 5)
    draft = fake_satu.add_order([("GIR-10", 2, 9980.0)], status="draft")
    importer.poll_account(account)
    newer = fake_satu.add_order([("GIR-10", 1, 4990.0)], phone="+77015550007")
    importer.poll_account(account)  # the cursor is past the draft now
    fake_satu.orders[draft]["status"] = "pending"  # the buyer completes it

    soon = importer.poll_account(account)
    SatuOrder.objects.filter(satu_id=draft).update(updated_at=ago(minutes=6))
    later = importer.poll_account(account)

    assert (account.last_id or 0) >= newer > draft
    assert soon.imported == 0  # not read again at once
    assert (later.imported, later.accepted) == (1, 1)
    order = Order.objects.get(external_id=str(draft))
    assert order.lines.get().quantity == 2
    assert fake_satu.status_of(draft) == "received"
    assert level(garland, store) == (5, 3)


def test_a_draft_dropped_or_older_than_a_week_is_no_longer_read(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    dropped = fake_satu.add_order([("GIR-10", 1, 4990.0)], status="draft")
    old = fake_satu.add_order([("GIR-10", 1, 4990.0)], status="draft", phone="+77015550008")
    importer.poll_account(account)
    fake_satu.orders[dropped]["status"] = "canceled"
    SatuOrder.objects.update(updated_at=ago(minutes=6))
    SatuOrder.objects.filter(satu_id=old).update(created_on_satu=ago(days=8))
    importer.poll_account(account)
    reads = [r.path for r in fake_satu.requests if r.path.endswith((f"/orders/{dropped}", f"/orders/{old}"))]
    SatuOrder.objects.update(updated_at=ago(minutes=6))

    importer.poll_account(account)

    assert reads == [f"/api/v1/orders/{dropped}"]  # read once more (and found dropped); the old one not at all
    assert [r.path for r in fake_satu.requests if r.path.endswith((f"/orders/{dropped}", f"/orders/{old}"))] == reads
    assert SatuOrder.objects.get(satu_id=dropped).status == "canceled"
    assert not Order.objects.exists()


def test_an_order_cancelled_at_satu_is_cancelled_here_and_its_stock_released(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    stock(garland, store, 5)
    satu_id = fake_satu.add_order([("GIR-10", 2, 4990.0)])
    importer.poll_account(account)
    assert level(garland, store) == (5, 2)
    fake_satu.orders[satu_id].update(status="canceled", cancellation={"title": "buyers_request", "initiator": "buyer"})

    importer.poll_account(account)

    order = Order.objects.get()
    assert order.status == "cancelled"
    assert order.history.last().reason == "cancelled at Satu.kz buyers_request"
    assert level(garland, store) == (5, 0)
    assert tasks.push_satu_status.call(order.pk) == "nothing to tell Satu for cancelled"
    assert [c["status"] for c in fake_satu.set_status_calls()] == ["received"]  # nothing told back


def test_our_status_changes_go_back_to_satu_from_a_task(
    fake_satu: FakeSatu,
    account: SatuAccount,
    store: Location,
    garland: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    stock(garland, store, 5)
    satu_id = fake_satu.add_order([("GIR-10", 1, 4990.0)])
    importer.poll_account(account)
    order = Order.objects.get()
    plain = actions.check_place_order(
        actor=None,
        customer=actions.CustomerIn(phone="+77015551234"),
        source="web",
        lines=[actions.LineIn(garland, 1)],
        fulfillment=actions.FulfillmentIn(type="pickup", location=store),
    ).order

    with django_capture_on_commit_callbacks(execute=True):
        actions.check_transition(actor=None, order=plain, to="confirmed")
        actions.check_transition(actor=None, order=order, to="confirmed")
    queued = DBTaskResult.objects.filter(task_path__endswith="push_satu_status")
    assert [task.args_kwargs["args"] for task in queued] == [[order.pk]]  # not the web order
    assert tasks.push_satu_status.call(order.pk) == "nothing to tell Satu for confirmed"

    actions.check_transition(actor=None, order=order, to="paid")
    assert tasks.push_satu_status.call(order.pk) == "paid"
    assert tasks.push_satu_status.call(order.pk) == "nothing to tell Satu for paid"  # it is paid there
    for status in ("picking", "shipped", "delivered"):
        actions.check_transition(actor=None, order=order, to=status)
    assert tasks.push_satu_status.call(order.pk) == "delivered"

    assert fake_satu.status_of(satu_id) == "delivered"
    assert [c["status"] for c in fake_satu.set_status_calls()] == ["received", "paid", "delivered"]
    assert SatuOrder.objects.get().pushed_status == "delivered"
    assert tasks.push_satu_status.call(plain.pk) == "not a Satu order"


def test_a_cancellation_here_goes_to_satu_and_a_refusal_is_recorded_not_retried(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    stock(garland, store, 5)
    told = fake_satu.add_order([("GIR-10", 1, 4990.0)])
    refused = fake_satu.add_order([("GIR-10", 1, 4990.0)], phone="+77015550004")
    importer.poll_account(account)
    first, second = (Order.objects.get(external_id=str(i)) for i in (told, refused))

    actions.check_transition(actor=None, order=first, to="cancelled", reason="Покупатель передумал")
    assert tasks.push_satu_status.call(first.pk) == "canceled"
    assert fake_satu.set_status_calls()[-1] == {
        "ids": [told],
        "status": "canceled",
        "cancellation_reason": "another",
        "cancellation_text": "Покупатель передумал",
    }

    fake_satu.writable = {"received", "delivered", "paid"}
    actions.check_transition(actor=None, order=second, to="cancelled", reason="нет в наличии")
    outcome = tasks.push_satu_status.call(second.pk)

    assert outcome.startswith("canceled: Satu did not apply canceled")
    assert "retry at" not in outcome
    assert "cannot be set" in SatuOrder.objects.get(satu_id=refused).error
    assert fake_satu.status_of(refused) == "received"


def test_a_transient_push_failure_is_retried_with_backoff(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    stock(garland, store, 5)
    fake_satu.add_order([("GIR-10", 1, 4990.0)])
    importer.poll_account(account)
    order = Order.objects.get()
    actions.check_transition(actor=None, order=order, to="confirmed")
    actions.check_transition(actor=None, order=order, to="paid")
    fake_satu.fail_next("POST", "/orders/set_status", 503)

    outcome = tasks.push_satu_status.call(order.pk)

    assert outcome.startswith("paid: HTTP 503")
    assert "retry at" in outcome
    assert DBTaskResult.objects.filter(task_path__endswith="push_satu_status", status="READY").count() == 1
    assert tasks.push_satu_status.call(order.pk) == "paid"
    assert SatuOrder.objects.get().error == ""


def test_a_pickup_without_a_pickup_store_is_recorded_not_guessed(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    make_location(code="astana-1", city="Астана", offers_pickup=True)
    account.pickup_location = None
    account.save()
    stock(garland, store, 1)
    fake_satu.add_order([("GIR-10", 1, 4990.0)], delivery="Самовывоз", address="")

    result = importer.poll_account(account)

    assert (result.imported, result.failed) == (0, 1)
    assert "SATU_PICKUP_STORE_MISSING" in SatuOrder.objects.get().error


def test_poll_satu_polls_every_active_account_and_survives_a_bad_token(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    wrong = SatuAccount(name="Old token", created_at=clock.now())
    wrong.token = "expired"
    wrong.save()
    SatuAccount.objects.create(name="Off", is_active=False, created_at=clock.now())
    stock(garland, store, 5)
    fake_satu.add_order([("GIR-10", 1, 4990.0)])

    totals = tasks.poll_satu.call()

    assert (totals["imported"], totals["accepted"]) == (1, 1)
    wrong.refresh_from_db()
    assert "401" in wrong.last_error
    assert wrong.last_id is None


def test_a_poll_still_running_keeps_its_account(
    fake_satu: FakeSatu, account: SatuAccount, store: Location, garland: Any
) -> None:
    stock(garland, store, 5)
    fake_satu.add_order([("GIR-10", 1, 4990.0)])
    SatuAccount.objects.filter(pk=account.pk).update(polling_since=ago(minutes=3))

    assert tasks.poll_satu.call() == {}
    assert not fake_satu.requests

    SatuAccount.objects.filter(pk=account.pk).update(polling_since=ago(minutes=11))  # that poll died

    assert tasks.poll_satu.call()["imported"] == 1
    account.refresh_from_db()
    assert account.polling_since is None
