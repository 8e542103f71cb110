"""Order events reach a subscribed receiver, signed, once each; failures are retried with growing delays
and finally given up; a redelivery and a test ping are sent; a dead endpoint is switched off."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django_tasks_db.models import DBTaskResult

from omnia.core import clock
from omnia.core.events import publish_on_commit
from omnia.orders import actions as orders_actions
from omnia.orders import actions_payments, actions_returns, actions_shipments
from omnia.orders.events import OrderPlaced, OrderStatusChanged, ShipmentMoved
from omnia.orders.models import Order, Payment
from omnia.webhooks import actions, sending, signing, tasks
from omnia.webhooks.models import Delivery, Endpoint, EventType
from tests.factories import make_token
from tests.webhooks.conftest import queued_sends, run_queued_sends, subscribe
from tests.webhooks.receiver import Receiver, closed_port_url

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_placing_an_order_delivers_order_created_once_signed(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    endpoint = subscribe(receiver, EventType.ORDER_CREATED)

    order = shop(django_capture_on_commit_callbacks, quantity=2)
    run_queued_sends()
    run_queued_sends()  # nothing more is queued: a second run sends nothing

    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got.signature_valid
    assert got.headers["Omnia-Webhook-Event"] == "order.created"
    assert got.headers["Omnia-Webhook-Signature"].startswith("sha256=")
    event = got.json
    assert event["type"] == "order.created"
    assert got.headers["Omnia-Webhook-Id"] == event["id"] == str(uuid.UUID(event["id"]))
    assert dt.datetime.fromisoformat(event["created_at"].replace("Z", "+00:00"))
    assert event["data"]["order"]["number"] == order.number
    assert event["data"]["order"]["lines"][0]["quantity"] == 2
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.response_status) == (Delivery.Status.SUCCEEDED, 1, 200)
    assert str(delivery.event_id) == event["id"]
    endpoint.refresh_from_db()
    assert endpoint.last_success_at is not None
    assert endpoint.consecutive_failures == 0


def test_the_order_in_the_payload_is_what_the_orders_api_answers(
    receiver: Receiver,
    shop: Callable[..., Order],
    django_capture_on_commit_callbacks: Callable[..., Any],
    client: Client,
) -> None:
    subscribe(receiver, EventType.ORDER_CREATED)
    order = shop(django_capture_on_commit_callbacks)
    run_queued_sends()

    token = make_token(scopes=["orders:read"])
    api = client.get(f"/api/v1/orders/{order.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert receiver.received[0].json["data"]["order"] == api.json()


def test_a_receiver_verifying_with_the_wrong_secret_rejects_it(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver, EventType.ORDER_CREATED)
    receiver.secret = signing.new_secret()  # not the endpoint's

    shop(django_capture_on_commit_callbacks)
    run_queued_sends()

    assert len(receiver.received) == 1
    assert not receiver.received[0].signature_valid


def test_a_transition_delivers_status_changed_with_old_and_new(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver, EventType.ORDER_STATUS_CHANGED)  # not order.created
    order = shop(django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        orders_actions.check_transition(actor=None, order=order, to=Order.Status.CONFIRMED)
    run_queued_sends()

    assert [r.json["type"] for r in receiver.valid()] == ["order.status_changed"]
    data = receiver.received[0].json["data"]
    assert (data["old_status"], data["new_status"]) == ("new", "confirmed")
    assert data["order"]["status"] == "confirmed"


def test_cancelling_delivers_status_changed_and_cancelled_with_the_reason(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver, EventType.ORDER_STATUS_CHANGED, EventType.ORDER_CANCELLED)
    order = shop(django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        orders_actions.check_transition(actor=None, order=order, to=Order.Status.CANCELLED, reason="changed her mind")
    run_queued_sends()

    by_type = {r.json["type"]: r.json for r in receiver.valid()}
    assert set(by_type) == {"order.status_changed", "order.cancelled"}
    assert by_type["order.cancelled"]["data"]["reason"] == "changed her mind"
    assert by_type["order.cancelled"]["id"] != by_type["order.status_changed"]["id"]


def test_a_shipment_moved_by_hand_delivers_shipment_moved_with_the_part(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver, EventType.ORDER_SHIPMENT_MOVED)
    order = shop(django_capture_on_commit_callbacks)
    shipment = order.shipments.get()
    orders_actions.check_transition(actor=None, order=order, to=Order.Status.CONFIRMED)

    with django_capture_on_commit_callbacks(execute=True):
        actions_shipments.check_move_shipment(actor=None, shipment=shipment, to="picking")
    with django_capture_on_commit_callbacks(execute=True):  # the same fact handled again: no second event
        publish_on_commit(ShipmentMoved(shipment_id=shipment.pk, order_id=order.pk, old="pending", new="picking"))
    run_queued_sends()

    assert [r.json["type"] for r in receiver.valid()] == ["order.shipment_moved"]
    data = receiver.received[0].json["data"]
    assert (data["old_status"], data["new_status"]) == ("pending", "picking")
    assert data["shipment"] == {"id": shipment.pk, "location": "mega", "status": "picking", "lines": ["GIR-10"]}
    assert data["order"]["shipments"] == [data["shipment"]]


def test_paying_in_full_delivers_order_paid(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver, EventType.ORDER_PAID)
    order = shop(django_capture_on_commit_callbacks, quantity=2)
    with django_capture_on_commit_callbacks(execute=True):
        orders_actions.check_transition(actor=None, order=order, to=Order.Status.CONFIRMED)
        half = actions_payments.check_add_payment(
            actor=None, order=order, method=Payment.Method.KASPI_PAY, amount=Decimal("4990"), status="paid"
        )
    run_queued_sends()
    assert receiver.received == []  # half is not paid

    with django_capture_on_commit_callbacks(execute=True):
        rest = actions_payments.check_add_payment(
            actor=None, order=order, method=Payment.Method.KASPI_PAY, amount=Decimal("4990"), status="paid"
        )
    run_queued_sends()

    assert [r.json["type"] for r in receiver.valid()] == ["order.paid"]
    data = receiver.received[0].json["data"]
    assert data["payment"]["id"] == rest.pk != half.pk
    assert data["payment"]["amount"] == "4990.00"


def test_a_return_delivers_order_returned(
    receiver: Receiver,
    shop: Callable[..., Order],
    django_capture_on_commit_callbacks: Callable[..., Any],
    store: Any,
) -> None:
    order = shop(django_capture_on_commit_callbacks, quantity=2)
    for status in (Order.Status.CONFIRMED, Order.Status.PICKING, Order.Status.READY, Order.Status.PICKED_UP):
        orders_actions.check_transition(actor=None, order=order, to=status)
    subscribe(receiver, EventType.ORDER_RETURNED)
    variant = order.lines.get().variant

    with django_capture_on_commit_callbacks(execute=True):
        returned = actions_returns.check_return(
            actor=None,
            order=order,
            location=store,
            lines=[actions_returns.ReturnLineIn(variant=variant, quantity=1)],
            reason="too long",
        )
    run_queued_sends()

    assert [r.json["type"] for r in receiver.valid()] == ["order.returned"]
    data = receiver.received[0].json["data"]
    assert data["return"]["id"] == returned.record.pk
    assert data["return"]["lines"] == [{"sku": "GIR-10", "quantity": 1}]


def test_nobody_subscribed_nothing_is_queued(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver, EventType.ORDER_PAID)
    off = subscribe(receiver, EventType.ORDER_CREATED, name="off")
    actions.check_update_endpoint(actor=None, endpoint=off, is_active=False)

    shop(django_capture_on_commit_callbacks)

    assert Delivery.objects.count() == 0
    assert queued_sends() == []


def test_every_subscriber_gets_the_event_once_with_the_same_event_id(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    first = subscribe(receiver, EventType.ORDER_CREATED, name="1C")
    second = subscribe(receiver, EventType.ORDER_CREATED, name="site")  # the receiver now checks its secret

    shop(django_capture_on_commit_callbacks)
    run_queued_sends()

    rows = list(Delivery.objects.order_by("endpoint_id"))
    assert [r.endpoint_id for r in rows] == [first.pk, second.pk]
    assert rows[0].event_id == rows[1].event_id
    assert len(receiver.received) == 2
    assert len(receiver.valid()) == 1  # each endpoint signs with its own secret
    with pytest.raises(Exception, match=r"(?i)unique|once_per_endpoint"):
        Delivery.objects.create(
            endpoint=first, event_type="order.created", event_id=rows[0].event_id, payload={}, created_at=clock.now()
        )


def test_500_then_200_is_retried_and_succeeds_with_two_attempts_logged(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    endpoint = subscribe(receiver, EventType.ORDER_CREATED)
    receiver.answer_next(500)
    with time_machine.travel(START, tick=False) as traveller:
        shop(django_capture_on_commit_callbacks)

        assert run_queued_sends()[0].startswith("retry at")
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.response_status) == (Delivery.Status.FAILED, 1, 500)
        assert delivery.next_attempt_at is not None
        assert delivery.next_attempt_at > START
        endpoint.refresh_from_db()
        assert endpoint.consecutive_failures == 1
        assert run_queued_sends() == []  # the retry is not due yet

        traveller.move_to(delivery.next_attempt_at)
        assert run_queued_sends() == ["done"]

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (Delivery.Status.SUCCEEDED, 2, 200)
    log = list(delivery.attempt_log.values_list("number", "response_status", "succeeded"))
    assert log == [(1, 500, False), (2, 200, True)]
    ids = {r.headers["Omnia-Webhook-Id"] for r in receiver.received}
    assert len(ids) == 1  # the same event id on the retry: the receiver can deduplicate
    assert [r.headers["Omnia-Webhook-Attempt"] for r in receiver.received] == ["1", "2"]
    assert all(r.signature_valid for r in receiver.received)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_unreachable_is_retried_with_growing_delays_then_given_up(
    shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    actions.check_create_endpoint(actor=None, name="1C", url=closed_port_url(), events=[EventType.ORDER_CREATED])
    delays = []
    with time_machine.travel(START, tick=False) as traveller:
        shop(django_capture_on_commit_callbacks)
        while queued_sends() or Delivery.objects.filter(status=Delivery.Status.FAILED).exists():
            before = clock.now()
            run_queued_sends()
            delivery = Delivery.objects.get()
            if delivery.next_attempt_at is None:
                break
            delays.append(delivery.next_attempt_at - before)
            traveller.move_to(delivery.next_attempt_at)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.GIVEN_UP
    assert delivery.attempts == actions.MAX_ATTEMPTS == 8
    assert len(delays) == 7
    assert all(later > earlier for earlier, later in itertools.pairwise(delays))
    assert dt.timedelta(hours=12) < sum(delays, dt.timedelta()) < dt.timedelta(hours=36)  # about a day
    assert "connect" in delivery.last_error
    assert delivery.response_status is None
    assert delivery.attempt_log.count() == 8
    assert queued_sends() == []


def test_retry_delays_grow_with_jitter_and_stay_under_the_cap() -> None:
    import random

    rng = random.Random(7)
    for failed in range(1, 8):
        low = min(actions.MAX_DELAY, actions.FIRST_RETRY * 4 ** (failed - 1)) * 0.8
        samples = [actions.retry_delay(failed, rng=rng) for _ in range(50)]
        assert all(low <= s <= actions.MAX_DELAY * 1.2 for s in samples)
        assert len(set(samples)) > 1  # spread, so many failed deliveries do not come back together
    assert actions.retry_delay(1, retry_after=600, rng=rng) >= dt.timedelta(seconds=600)


def test_redeliver_sends_the_same_event_again(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver, EventType.ORDER_CREATED)
    shop(django_capture_on_commit_callbacks)
    run_queued_sends()
    delivery = Delivery.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        actions.check_redeliver(actor=None, delivery=delivery)
    run_queued_sends()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SUCCEEDED, 2)
    assert len(receiver.valid()) == 2
    first, again = receiver.received
    assert first.headers["Omnia-Webhook-Id"] == again.headers["Omnia-Webhook-Id"]
    assert first.body == again.body


def test_a_given_up_delivery_redelivered_gets_one_more_attempt(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver, EventType.ORDER_CREATED)
    shop(django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.GIVEN_UP, attempts=8, next_attempt_at=None)
    receiver.answer_next(503)

    with django_capture_on_commit_callbacks(execute=True):
        actions.check_redeliver(actor=None, delivery=delivery)
    DBTaskResult.objects.all().delete()  # the original task: the delivery was given up meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        actions.check_redeliver(actor=None, delivery=delivery)
    assert run_queued_sends() == ["done"]

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (Delivery.Status.GIVEN_UP, 9, 503)


def test_ping_sends_a_signed_test_event_once(
    receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    endpoint = subscribe(receiver, EventType.ORDER_CREATED)
    receiver.answer_next(500)

    with django_capture_on_commit_callbacks(execute=True):
        ping = actions.check_ping(actor=None, endpoint=endpoint)
    assert run_queued_sends() == ["done"]  # a test is not retried

    ping.refresh_from_db()
    assert (ping.event_type, ping.status, ping.attempts, ping.response_status) == ("ping", "given_up", 1, 500)
    assert receiver.valid()[0].json["data"]["endpoint"]["id"] == endpoint.pk


def test_a_delivery_is_never_sent_twice_at_once(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver, EventType.ORDER_CREATED)
    shop(django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()

    assert actions.do_claim(delivery_id=delivery.pk, now=clock.now())  # another worker has it
    assert sending.attempt(delivery.pk) is None

    assert receiver.received == []


def test_a_lost_task_is_found_by_the_sweeper(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver, EventType.ORDER_CREATED)
    with time_machine.travel(START, tick=False) as traveller:
        shop(django_capture_on_commit_callbacks)
        DBTaskResult.objects.all().delete()  # the process died before the task was stored

        assert tasks.send_overdue.call() == 0  # not late yet
        traveller.shift(actions.OVERDUE + dt.timedelta(seconds=1))
        assert tasks.send_overdue.call() == 1
        assert tasks.send_overdue.call() == 0  # once, not every minute
        run_queued_sends()

    assert len(receiver.valid()) == 1
    assert Delivery.objects.get().status == Delivery.Status.SUCCEEDED


def test_an_endpoint_failing_for_days_is_switched_off_with_the_reason(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    endpoint = subscribe(receiver, EventType.ORDER_CREATED)
    receiver.answer_next(*[502] * 1000)
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(4):  # an order a day, every attempt failing; the worker looks every hour
            shop(django_capture_on_commit_callbacks)
            for _ in range(24):
                run_queued_sends()
                traveller.shift(dt.timedelta(hours=1))
        endpoint.refresh_from_db()
        assert not endpoint.is_active
        assert endpoint.disabled_reason == "HTTP 502"
        assert endpoint.disabled_at is not None

        sent = len(receiver.received)
        traveller.shift(dt.timedelta(days=1))
        run_queued_sends()
        assert len(receiver.received) == sent  # nothing more is sent to it
        shop(django_capture_on_commit_callbacks)
        assert queued_sends() == []

    actions.check_update_endpoint(actor=None, endpoint=endpoint, is_active=True)
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.consecutive_failures, endpoint.disabled_reason) == (True, 0, "")


def test_rotating_the_secret_signs_with_the_new_one(
    receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    endpoint = subscribe(receiver, EventType.ORDER_CREATED)
    old = receiver.secret

    receiver.secret = actions.do_rotate_secret(actor=None, endpoint=endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        actions.check_ping(actor=None, endpoint=Endpoint.objects.get(pk=endpoint.pk))
    run_queued_sends()

    assert receiver.secret != old
    assert receiver.secret.startswith("whsec_")
    got = receiver.received[0]
    assert got.signature_valid
    stale = hmac.new(old.encode(), got.headers["Omnia-Webhook-Timestamp"].encode() + b"." + got.body, hashlib.sha256)
    assert not hmac.compare_digest(stale.hexdigest(), got.headers["Omnia-Webhook-Signature"][7:])
    assert old not in Endpoint.objects.get(pk=endpoint.pk).secret_encrypted


def test_a_repeated_order_is_announced_once(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver, EventType.ORDER_CREATED)

    first = shop(django_capture_on_commit_callbacks, external_id="SITE-1001", idempotency_key="k-1001")
    again = shop(django_capture_on_commit_callbacks, external_id="SITE-1001", idempotency_key="k-1001")
    run_queued_sends()

    assert again.pk == first.pk
    assert [r.json["data"]["order"]["id"] for r in receiver.valid()] == [first.pk]


def test_finished_deliveries_are_forgotten_after_30_days(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver, EventType.ORDER_CREATED)
    with time_machine.travel(START, tick=False) as traveller:
        shop(django_capture_on_commit_callbacks)
        run_queued_sends()
        receiver.answer_next(500)
        shop(django_capture_on_commit_callbacks)
        run_queued_sends()  # failed, retrying

        traveller.shift(dt.timedelta(days=29))
        assert tasks.prune_deliveries.call() == 0
        traveller.shift(dt.timedelta(days=2))
        assert tasks.prune_deliveries.call() == 1  # the succeeded one; the one still retrying stays

    assert list(Delivery.objects.values_list("status", flat=True)) == [Delivery.Status.FAILED]


def test_a_failing_endpoint_is_held_so_its_deliveries_do_not_pile_on(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    endpoint = subscribe(receiver, EventType.ORDER_CREATED)
    receiver.answer_next(*[503] * actions.BREAKER_AFTER)
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(actions.BREAKER_AFTER):
            shop(django_capture_on_commit_callbacks)
            run_queued_sends()
        assert len(receiver.received) == actions.BREAKER_AFTER  # five failures in a row

        for _ in range(10):  # ten more orders while it is held: none is tried now
            shop(django_capture_on_commit_callbacks)
        run_queued_sends()
        assert len(receiver.received) == actions.BREAKER_AFTER
        held = Delivery.objects.filter(attempts=0)
        assert held.count() == 10
        assert all(d.next_attempt_at > clock.now() for d in held)

        with django_capture_on_commit_callbacks(execute=True):  # a test event goes through anyway
            actions.check_ping(actor=None, endpoint=endpoint)
        run_queued_sends()
        assert receiver.received[-1].json["type"] == "ping"

        traveller.shift(dt.timedelta(hours=2))
        for _ in range(5):
            run_queued_sends()
        assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SUCCEEDED}
    assert len(receiver.valid()) == actions.BREAKER_AFTER + 1 + 10 + actions.BREAKER_AFTER


def test_the_same_fact_handled_twice_is_enqueued_once(
    receiver: Receiver, shop: Callable[..., Order], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver, EventType.ORDER_CREATED, EventType.ORDER_STATUS_CHANGED)
    order = shop(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        orders_actions.check_transition(actor=None, order=order, to=Order.Status.CONFIRMED)

    with django_capture_on_commit_callbacks(execute=True):  # the bus delivers both events once more
        publish_on_commit(OrderPlaced(order_id=order.pk, source="web", customer_id=order.customer_id))
        publish_on_commit(OrderStatusChanged(order_id=order.pk, old="new", new="confirmed"))
    run_queued_sends()

    assert sorted(r.json["type"] for r in receiver.valid()) == ["order.created", "order.status_changed"]
    assert Delivery.objects.count() == 2
