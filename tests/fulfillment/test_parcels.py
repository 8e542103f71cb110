"""Parcels: created from a delivery order's shipment with its label, a tracking number unique per carrier, the
status machine, and the order's shipment following it (its units leave the shelf once; the order follows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from omnia.core import events
from omnia.core.errors import DomainError
from omnia.fulfillment import actions_parcels
from omnia.fulfillment.events import ParcelDelayed, ParcelStatusChanged
from omnia.fulfillment.models import Carrier, DeliveryChoice, Parcel, ParcelEvent
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location, StockLevel, StockMove
from omnia.orders import actions
from omnia.orders.actions import CustomerIn, FulfillmentIn, LineIn
from omnia.orders.actions_shipments import check_move_shipment
from omnia.orders.models import Order, Shipment
from tests.factories import make_location, make_variant

pytestmark = pytest.mark.django_db

PHONE = "+7 701 555 12 34"
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def make_carrier(code: str = "cdek", *, tracking: str = "manual", secret: str = "", **extra: Any) -> Carrier:
    carrier = Carrier(
        code=code,
        name=extra.pop("name", code.upper()),
        kind=extra.pop("kind", Carrier.Kind.OTHER),
        tracking=tracking,
        webhook_key=extra.pop("webhook_key", f"key-{code}-0123456789abcdef"),
        created_at=NOW,
        updated_at=NOW,
        **extra,
    )
    if secret:
        carrier.secret = secret
    carrier.save()
    return carrier


class Shop:
    """A warehouse in Almaty holding garlands (350 g each) and lamps (no weight: the default 500 g)."""

    def __init__(self) -> None:
        self.warehouse = make_location(
            code="wh-ala",
            name="Almaty-1",
            kind=Location.Kind.WAREHOUSE,
            ships=True,
            sells=False,
            address="Рыскулова, 1",
        )
        self.garland = make_variant(sku="GIR-10", price="4990")
        self.garland.weight_grams = 350
        self.garland.save(update_fields=["weight_grams"])
        self.lamp = make_variant(sku="LAMP-1", price="1500")
        inventory_actions.do_receive(actor=None, location=self.warehouse, lines=[Line(self.garland, 20)])
        inventory_actions.do_receive(actor=None, location=self.warehouse, lines=[Line(self.lamp, 10)])

    def order(self, *, fulfillment: str = "delivery", confirm: bool = True) -> Order:
        if fulfillment == "delivery":
            how = FulfillmentIn(
                type="delivery", address={"city": "Астана", "line1": "Мангилик Ел, 1", "name": "Айгерим Садыкова"}
            )
        else:
            store = make_location(code="st-1", name="Store", offers_pickup=True)
            inventory_actions.do_receive(actor=None, location=store, lines=[Line(self.garland, 5), Line(self.lamp, 2)])
            how = FulfillmentIn(type="pickup", location=store)
        order = actions.check_place_order(
            actor=None,
            customer=CustomerIn(phone=PHONE, name="Айгерим"),
            source="web",
            lines=[LineIn(self.garland, 2), LineIn(self.lamp, 1)],
            fulfillment=how,
        ).order
        if confirm:
            order = actions.check_transition(actor=None, order=order, to="confirmed")
        return order

    def shipment(self, order: Order) -> Shipment:
        return Shipment.objects.select_related("location").get(order=order)

    def level(self, variant: Any) -> tuple[int, int]:
        row = StockLevel.objects.get(variant=variant, location=self.warehouse)
        return row.on_hand, row.reserved


@pytest.fixture
def shop() -> Shop:
    return Shop()


class Published(list[object]):
    """The delivery events published on commit; `committed()` runs what is inside as if it committed."""

    def __init__(self, capture: Any) -> None:
        super().__init__()
        self.committed = lambda: capture(execute=True)


@pytest.fixture
def published(django_capture_on_commit_callbacks: Any) -> Iterator[Published]:
    seen = Published(django_capture_on_commit_callbacks)
    events.subscribe(ParcelStatusChanged, seen.append)
    events.subscribe(ParcelDelayed, seen.append)
    yield seen
    for event_type in (ParcelStatusChanged, ParcelDelayed):
        events._subscribers[event_type].remove(seen.append)


def create(shop: Shop, order: Order, carrier: Carrier, **kwargs: Any) -> Parcel:
    return actions_parcels.check_create_parcel(actor=None, shipment=shop.shipment(order), carrier=carrier, **kwargs)


def move(parcel: Parcel, to: str, **kwargs: Any) -> Parcel:
    return actions_parcels.check_move_parcel(actor=None, parcel=parcel, to=to, **kwargs)


def test_a_parcel_is_created_with_its_label_from_the_order(shop: Shop) -> None:
    order = shop.order()
    carrier = make_carrier()
    DeliveryChoice.objects.create(
        order=order, kind="pickup_point", carrier=carrier, city="Астана", price=Decimal(1200), currency="KZT",
        pickup_point={"code": "AST12", "name": "CDEK Мангилик Ел", "address": "Мангилик Ел, 20"},
        ready_on=dt.date(2026, 11, 21), estimated_from=dt.date(2026, 11, 23), estimated_to=dt.date(2026, 11, 25),
        chosen_at=NOW,
    )  # fmt: skip

    parcel = create(shop, order, carrier, tracking_number=" 1234567890 ")

    assert (parcel.status, parcel.tracking_number) == ("created", "1234567890")
    assert parcel.estimated_on == dt.date(2026, 11, 25)  # the latest date the customer was told
    assert parcel.pickup_point["code"] == "AST12"
    label = parcel.label
    assert label["recipient"] == {"name": "Айгерим Садыкова", "phone": "+77015551234"}
    assert label["address"] == {"city": "Астана", "line1": "Мангилик Ел, 1"}
    assert label["pieces"] == 3
    assert label["weight_grams"] == parcel.weight_grams == 2 * 350 + 500
    assert Decimal(label["declared_value"]) == Decimal("11480.00")
    assert label["sender"]["name"] == "Almaty-1"
    assert label["pickup_point"]["name"] == "CDEK Мангилик Ел"
    assert list(parcel.events.values_list("status", flat=True)) == ["created"]


def test_a_parcel_without_a_delivery_choice_has_no_expected_date_and_the_given_weight(shop: Shop) -> None:
    parcel = create(shop, shop.order(), make_carrier(), weight_grams=1800)

    assert parcel.estimated_on is None
    assert parcel.pickup_point == {}
    assert parcel.weight_grams == parcel.label["weight_grams"] == 1800


@pytest.mark.parametrize(
    ("setup", "code"),
    [("pickup", "PARCEL_NOT_ALLOWED"), ("cancelled", "SHIPMENT_CANCELLED"), ("twice", "PARCEL_EXISTS")],
)
def test_parcels_are_refused_for_pickups_cancelled_shipments_and_twice(shop: Shop, setup: str, code: str) -> None:
    carrier = make_carrier()
    order = shop.order(fulfillment="pickup" if setup == "pickup" else "delivery")
    if setup == "cancelled":
        order = actions.check_transition(actor=None, order=order, to="cancelled", reason="changed her mind")
    if setup == "twice":
        create(shop, order, carrier)

    with pytest.raises(DomainError) as refused:
        create(shop, order, carrier)

    assert refused.value.code == code
    assert Parcel.objects.count() == (1 if setup == "twice" else 0)


def test_a_tracking_number_is_unique_per_carrier_and_can_be_replaced(shop: Shop) -> None:
    cdek, kazpost = make_carrier("cdek"), make_carrier("kazpost")
    first = create(shop, shop.order(), cdek, tracking_number="CD-1")
    second = create(shop, shop.order(), cdek)

    with pytest.raises(DomainError) as taken:
        actions_parcels.check_update_parcel(actor=None, parcel=second, tracking_number="CD-1")
    assert (taken.value.code, taken.value.field) == ("TRACKING_TAKEN", "tracking_number")
    with pytest.raises(DomainError):
        create(shop, shop.order(), cdek, tracking_number="CD-1")

    other = create(shop, shop.order(), kazpost, tracking_number="CD-1")  # another carrier's numbers are its own
    actions_parcels.check_update_parcel(actor=None, parcel=first, tracking_number="CD-9")

    first.refresh_from_db()
    assert (first.tracking_number, other.tracking_number) == ("CD-9", "CD-1")
    assert first.events.filter(description__contains="CD-1 → CD-9").exists()


def test_handing_over_ships_the_shipment_and_the_order_and_takes_the_units_off_the_shelf_once(
    shop: Shop, published: Published
) -> None:
    order = shop.order()
    with published.committed():
        parcel = create(shop, order, make_carrier(), tracking_number="CD-1")
    assert shop.level(shop.garland) == (20, 2)

    with published.committed():
        move(parcel, "handed_over", description="courier took it")
        move(parcel, "in_transit")

    shipment = shop.shipment(order)
    order.refresh_from_db()
    assert (shipment.status, order.status) == ("shipped", "shipped")
    assert shop.level(shop.garland) == (18, 0)
    assert shop.level(shop.lamp) == (9, 0)
    assert StockMove.objects.filter(kind=StockMove.Kind.SALE, location=shop.warehouse).count() == 2  # once per line
    assert list(shipment.history.values_list("new", flat=True)) == ["picking", "shipped"]

    with published.committed():
        move(parcel, "at_pickup_point")
        move(parcel, "delivered")

    shipment.refresh_from_db()
    order.refresh_from_db()
    assert (shipment.status, order.status) == ("delivered", "delivered")
    assert shop.level(shop.garland) == (18, 0)  # nothing more left the shelf
    changes = [(e.old, e.new) for e in published if isinstance(e, ParcelStatusChanged)]
    assert changes == [
        ("", "created"), ("created", "handed_over"), ("handed_over", "in_transit"),
        ("in_transit", "at_pickup_point"), ("at_pickup_point", "delivered"),
    ]  # fmt: skip
    assert list(parcel.events.values_list("status", flat=True)) == [
        "created", "handed_over", "in_transit", "at_pickup_point", "delivered",
    ]  # fmt: skip


def test_moves_the_machine_does_not_allow_are_refused_and_change_nothing(shop: Shop) -> None:
    parcel = create(shop, shop.order(), make_carrier())

    for to in ("in_transit", "delivered", "returned", "failed", "created"):
        with pytest.raises(DomainError) as refused:
            move(parcel, to)
        assert refused.value.code == "TRANSITION_NOT_ALLOWED"
    with pytest.raises(DomainError) as unknown:
        move(parcel, "lost")
    assert unknown.value.code == "STATUS_INVALID"

    parcel.refresh_from_db()
    assert parcel.status == "created"
    assert shop.shipment(parcel.shipment.order).status == "pending"


def test_an_order_not_yet_confirmed_is_not_handed_over(shop: Shop) -> None:
    order = shop.order(confirm=False)
    parcel = create(shop, order, make_carrier())

    with pytest.raises(DomainError) as refused:
        move(parcel, "handed_over")

    assert refused.value.code == "TRANSITION_NOT_ALLOWED"
    parcel.refresh_from_db()
    assert parcel.status == "created"
    assert shop.level(shop.garland) == (20, 2)


def test_a_failed_delivery_reports_the_parcel_late_and_may_be_tried_again_or_returned(
    shop: Shop, published: Published
) -> None:
    order = shop.order()
    parcel = create(shop, order, make_carrier())
    move(parcel, "handed_over")
    move(parcel, "in_transit")

    with published.committed():
        move(parcel, "failed", description="nobody at home")

    delayed = [e for e in published if isinstance(e, ParcelDelayed)]
    assert [(e.parcel_id, e.order_id, e.reason) for e in delayed] == [(parcel.pk, order.pk, "nobody at home")]
    move(parcel, "in_transit", description="second attempt")
    move(parcel, "failed")
    move(parcel, "returned")

    parcel.refresh_from_db()
    order.refresh_from_db()
    assert parcel.status == "returned"
    assert (shop.shipment(order).status, order.status) == ("shipped", "shipped")  # a return is taken by the operator
    with pytest.raises(DomainError):
        move(parcel, "in_transit")  # returned is final


def test_the_late_report_fires_once_per_parcel_past_its_date(shop: Shop, published: Published) -> None:
    carrier = make_carrier()
    late = create(shop, shop.order(), carrier, estimated_on=dt.date(2026, 11, 18))
    on_time = create(shop, shop.order(), carrier, estimated_on=dt.date(2026, 11, 30))
    delivered = create(shop, shop.order(), carrier, estimated_on=dt.date(2026, 11, 18))
    for to in ("handed_over", "delivered"):
        move(delivered, to)
    by_hand = create(shop, shop.order(), carrier, estimated_on=dt.date(2026, 11, 18))
    move(by_hand, "handed_over")
    check_move_shipment(actor=None, shipment=by_hand.shipment, to="delivered")  # the order page, not the parcel

    with time_machine.travel(NOW, tick=False), published.committed():
        first = actions_parcels.do_report_delayed()
        second = actions_parcels.do_report_delayed()

    assert (first, second) == ([late.pk], [])
    delayed = [e for e in published if isinstance(e, ParcelDelayed)]
    assert [(e.parcel_id, e.estimated_on) for e in delayed] == [(late.pk, dt.date(2026, 11, 18))]
    late.refresh_from_db()
    assert late.delayed_at is not None
    on_time.refresh_from_db()
    assert on_time.delayed_at is None

    # a new date from the operator: late again once it passes
    actions_parcels.check_update_parcel(actor=None, parcel=late, estimated_on=dt.date(2026, 11, 19))
    with time_machine.travel(NOW, tick=False):
        assert actions_parcels.do_report_delayed() == [late.pk]


def test_the_periodic_task_reports_late_parcels(shop: Shop) -> None:
    from omnia.fulfillment import tasks

    create(shop, shop.order(), make_carrier(), estimated_on=dt.date(2026, 11, 18))
    with time_machine.travel(NOW, tick=False):
        assert tasks.report_delayed_parcels.call() == 1
        assert tasks.report_delayed_parcels.call() == 0
    assert ParcelEvent.objects.count() == 1  # the created event only: being late is no parcel move


def test_the_demo_gives_shipped_and_delivered_orders_parcels_with_tracking_one_late(shop: Shop) -> None:
    from omnia.demo import parcels as demo_parcels

    assert demo_parcels.load_parcels() == 0  # no carriers: no parcels
    make_carrier("cdek", kind=Carrier.Kind.CDEK, tracking="cdek")
    make_carrier("kazpost", kind=Carrier.Kind.KAZPOST)
    orders = [shop.order() for _ in range(4)]
    for order, last in zip(orders, ["shipped", "shipped", "delivered", None], strict=True):
        for to in ("picking", "shipped", "delivered"):
            if last is None:
                break
            check_move_shipment(actor=None, shipment=shop.shipment(order), to=to)
            if to == last:
                break

    with time_machine.travel(NOW, tick=False):
        written = demo_parcels.load_parcels()
        again = demo_parcels.load_parcels()
        late = actions_parcels.do_report_delayed()

    assert (written, again) == (3, 0)
    parcels = {p.shipment.order_id: p for p in Parcel.objects.select_related("shipment")}
    assert set(parcels) == {orders[0].pk, orders[1].pk, orders[2].pk}
    assert parcels[orders[2].pk].status == "delivered"
    assert {parcels[o.pk].status for o in orders[:2]} <= {"in_transit", "at_pickup_point"}
    assert all(p.tracking_number for p in parcels.values())
    assert len(late) == 1
    for parcel in parcels.values():
        statuses = list(parcel.events.values_list("status", flat=True))
        assert statuses[0] == "created"
        assert statuses[-1] == parcel.status
        assert all(e.at <= NOW for e in parcel.events.all())


def test_the_late_report_is_scheduled_every_15_minutes() -> None:
    from omnia.core import schedule

    jobs = {job.name: job.interval for job in schedule.PERIODIC.values()}

    assert jobs["omnia.fulfillment.tasks.report_delayed_parcels"] == dt.timedelta(minutes=15)


def test_a_shipment_moved_by_hand_takes_its_parcel_along(shop: Shop, published: Published) -> None:
    order = shop.order()
    with published.committed():
        parcel = create(shop, order, make_carrier(), tracking_number="CD-7")
    shipment = shop.shipment(order)

    with published.committed():  # the operator ships and delivers the order's part on the order page
        for step in ("picking", "shipped"):
            check_move_shipment(actor=None, shipment=shipment, to=step)
    parcel.refresh_from_db()
    assert parcel.status == "handed_over"
    with published.committed():
        check_move_shipment(actor=None, shipment=shipment, to="delivered")

    parcel.refresh_from_db()
    assert parcel.status == "delivered"
    assert list(parcel.events.values_list("status", "source")) == [
        ("created", "system"), ("handed_over", "system"), ("delivered", "system"),
    ]  # fmt: skip
    changes = [(e.old, e.new) for e in published if isinstance(e, ParcelStatusChanged)]
    assert changes[-2:] == [("created", "handed_over"), ("handed_over", "delivered")]
    assert actions_parcels.do_report_delayed(today=dt.date(2099, 1, 1)) == []  # delivered: never late
