"""Orders asked for at the same moment are placed together (one transaction, one round of statements),
and each comes out exactly as if it had been placed alone; one that cannot go with the others is
placed on its own, and answers for itself."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from omnia.core.errors import ValidationFailed
from omnia.core.events import subscribe
from omnia.customers import actions as customers_actions
from omnia.customers.models import Customer, Identity, TimelineEntry
from omnia.inventory import queries as inventory_queries
from omnia.inventory.errors import OutOfStock
from omnia.inventory.models import Location
from omnia.orders import actions_placing
from omnia.orders.actions import CustomerIn, FulfillmentIn, LineIn, PaymentIn, Placed
from omnia.orders.events import OrderPlaced
from omnia.orders.models import Order, Payment, Shipment, StatusChange
from tests.factories import make_variant
from tests.orders.test_place import level, stock

pytestmark = pytest.mark.django_db

FIRST, SECOND, THIRD = "+77015550001", "+77015550002", "+77015550003"
PLACED: list[OrderPlaced] = []
subscribe(OrderPlaced, PLACED.append)  # what the subscribers are told, after the commit


def ask(lines: list[LineIn], store: Location | None, *, phone: str = FIRST, **extra: Any) -> Any:
    return actions_placing._ask(
        actor=None,
        customer=extra.pop("customer", CustomerIn(phone=phone)),
        source=extra.pop("source", "web"),
        lines=lines,
        fulfillment=extra.pop("fulfillment", None) or FulfillmentIn(type="pickup", location=store),
        **extra,
    )


def placed(answers: list[Any]) -> list[Order]:
    assert all(isinstance(answer, Placed) and answer.created for answer in answers), answers
    return [answer.order for answer in answers]


def test_orders_placed_together_are_each_complete(
    store: Location, warehouse: Location, django_capture_on_commit_callbacks: Any
) -> None:
    lamp, garland = make_variant(sku="LAMP", price="4990"), make_variant(sku="GARLAND", price="1500")
    stock(lamp, store, 10)
    stock(garland, store, 10)
    stock(lamp, warehouse, 10)
    regular = customers_actions.do_resolve_identity(kind="phone", value=THIRD).customer
    PLACED.clear()

    with django_capture_on_commit_callbacks(execute=True):
        web, paid, instagram, delivery = placed(
            actions_placing._place_batch(
                [
                    ask([LineIn(lamp, 2), LineIn(garland, 1)], store, phone=FIRST, idempotency_key="web-1"),
                    ask(
                        [LineIn(lamp, 1)],
                        store,
                        phone=SECOND,
                        payment=PaymentIn(method="card_online", amount=Decimal(4990)),
                    ),
                    ask([LineIn(lamp, 2), LineIn(garland, 1)], store, phone=FIRST, source="instagram"),
                    ask(
                        [LineIn(lamp, 3)],
                        None,
                        customer=CustomerIn(id=regular.pk),
                        fulfillment=FulfillmentIn(
                            type="delivery", address={"city": "Астана", "line1": "Мангилик Ел 1"}
                        ),
                    ),
                ]
            )
        )

    first = Customer.objects.get(identities__kind="phone", identities__value=FIRST)
    assert [order.customer for order in (web, instagram)] == [first, first]  # one new card for the number
    assert Identity.objects.filter(value=FIRST).count() == 1
    assert (web.total, paid.total, instagram.total, delivery.total) == (
        Decimal(11480),
        Decimal(4990),
        Decimal(11480),
        Decimal(14970),
    )
    assert [order.number for order in (web, paid, instagram, delivery)] == [
        f"O-{order.pk:06d}" for order in (web, paid, instagram, delivery)
    ]
    assert instagram.possible_duplicate_of == web  # the same lines, another channel: flagged, not refused
    assert web.possible_duplicate_of is None
    assert level(lamp, store) == (10, 5)
    assert level(garland, store) == (10, 2)
    assert level(lamp, warehouse) == (10, 3)
    for order in (web, paid, instagram, delivery):
        order.refresh_from_db()
        lines = list(order.lines.select_related("reservation"))
        assert all(line.reservation is not None and line.location_id == line.reservation.location_id for line in lines)
        assert all(line.reservation.customer_id == order.customer_id for line in lines)
        assert all(line.reservation.owner_ref == str(line.pk) for line in lines)
        assert list(Shipment.objects.filter(order=order).values_list("location_id", flat=True)) == [
            lines[0].location_id
        ]
        assert list(StatusChange.objects.filter(order=order).values_list("new", "reason")) == [
            ("new", f"placed via {order.source}")
        ]
    assert delivery.lines.get().location == warehouse
    assert Payment.objects.get(order=paid).amount == Decimal(4990)
    first.refresh_from_db()
    assert (first.orders_count, first.lifetime_value) == (2, Decimal(22960))
    assert first.last_order_at == web.placed_at == first.last_contact_at
    assert sorted(TimelineEntry.objects.filter(customer=first).values_list("summary", flat=True)) == sorted(
        [f"{web.number}: 11480 KZT", f"{instagram.number}: 11480 KZT"]
    )
    regular.refresh_from_db()
    assert (regular.orders_count, regular.lifetime_value) == (1, Decimal(14970))
    assert sorted(event.order_id for event in PLACED) == sorted(o.pk for o in (web, paid, instagram, delivery))
    assert inventory_queries.list_stock_drift() == []


def test_a_repeat_in_a_batch_is_answered_with_the_first_order(store: Location) -> None:
    lamp = make_variant(sku="LAMP")
    stock(lamp, store, 10)
    before = actions_placing._place_batch([ask([LineIn(lamp, 1)], store, idempotency_key="old")])[0]

    answers = actions_placing._place_batch(
        [
            ask([LineIn(lamp, 1)], store, idempotency_key="old"),
            ask([LineIn(lamp, 1)], store, phone=SECOND, idempotency_key="new"),
            ask([LineIn(lamp, 1)], store, phone=SECOND, idempotency_key="new"),
        ]
    )

    assert [(answer.order.pk, answer.created) for answer in answers] == [
        (before.order.pk, False),
        (answers[1].order.pk, True),
        (answers[1].order.pk, False),
    ]
    assert Order.objects.count() == 2
    assert level(lamp, store) == (10, 2)


def test_an_order_short_of_stock_fails_alone_and_the_others_are_placed(store: Location) -> None:
    lamp = make_variant(sku="LAMP")
    stock(lamp, store, 3)

    answers = actions_placing._place_batch(
        [
            ask([LineIn(lamp, 1)], store, phone=FIRST),
            ask([LineIn(lamp, 5)], store, phone=SECOND),
            ask([LineIn(lamp, 2)], store, phone=THIRD),
        ]
    )

    assert isinstance(answers[1], OutOfStock)
    assert answers[1].field == "lines[0].quantity"
    assert [answer.order.lines.get().quantity for answer in (answers[0], answers[2])] == [1, 2]
    assert level(lamp, store) == (3, 3)
    assert not Identity.objects.filter(value=SECOND).exists()  # nothing of the refused order is left
    assert inventory_queries.list_stock_drift() == []


def test_a_payment_above_the_total_is_refused_for_its_order_only(store: Location) -> None:
    lamp = make_variant(sku="LAMP", price="1000")
    stock(lamp, store, 5)

    answers = actions_placing._place_batch(
        [
            ask([LineIn(lamp, 1)], store, phone=FIRST, payment=PaymentIn(method="cash_in_store", amount=Decimal(5000))),
            ask([LineIn(lamp, 1)], store, phone=SECOND),
        ]
    )

    assert isinstance(answers[0], ValidationFailed)
    assert (answers[0].code, answers[0].field) == ("PAYMENT_TOO_LARGE", "payment.amount")
    assert isinstance(answers[1], Placed)
    assert Order.objects.get().customer.identities.get().value == SECOND
    assert level(lamp, store) == (5, 1)
