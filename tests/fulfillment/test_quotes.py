"""The delivery quote: prices by weight and value, free thresholds, the shop's single price, cut-off times
and working days, zones by distance, stock elsewhere and arrivals moving the dates, the reason when nothing
serves the city; choosing an order's delivery puts its price into the order's total."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from omnia.core.errors import DomainError
from omnia.core.permissions import Role
from omnia.fulfillment import actions, quotes
from omnia.fulfillment.models import Carrier, DeliveryChoice, Zone
from omnia.fulfillment.quotes import QuoteLine
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location
from omnia.orders import actions as orders_actions
from omnia.orders import actions_payments
from omnia.orders.actions import CustomerIn, FulfillmentIn, LineIn
from omnia.orders.models import Order, Payment
from tests.factories import make_location, make_user, make_variant

pytestmark = pytest.mark.django_db

ALMATY = zoneinfo.ZoneInfo("Asia/Almaty")
TUESDAY_10 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=ALMATY)  # a Tuesday
TUESDAY = TUESDAY_10.date()


def day(offset: int) -> dt.date:
    return TUESDAY + dt.timedelta(days=offset)


def carrier(code: str, **values: Any) -> Carrier:
    return actions.check_create_carrier(actor=None, code=code, name=values.pop("name", code.title()), **values).carrier


def zone(of: Carrier, **values: Any) -> Zone:
    values.setdefault("name", "Zone")
    values.setdefault("cities", ["Алматы"])
    return actions.check_create_zone(actor=None, carrier=of, **values)


def tariff(z: Zone, price: str, weight: int | None = None, value: str = "0") -> None:
    actions.check_create_tariff(
        actor=None, zone=z, price=Decimal(price), max_weight_grams=weight, min_order_value=Decimal(value)
    )


@pytest.fixture
def warehouse() -> Location:
    return make_location(kind=Location.Kind.WAREHOUSE, city="Алматы", ships=True, sells=False, code="wh")


def stocked(location: Location, quantity: int = 10, *, price: str = "5000", weight: int | None = 1000) -> Any:
    variant = make_variant(price=price)
    variant.weight_grams = weight
    variant.save(update_fields=["weight_grams"])
    if quantity:
        inventory_actions.do_receive(actor=None, location=location, lines=[Line(variant, quantity)])
    return variant


def options(lines: list[QuoteLine], city: str = "Алматы", **kw: Any) -> list[quotes.Option]:
    kw.setdefault("now", TUESDAY_10)
    return quotes.quote(lines, city=city, **kw).options


def test_price_by_weight_bracket_and_order_value(warehouse: Location) -> None:
    own = carrier("own")
    z = zone(own, days_min=1, days_max=2)
    tariff(z, "1000", 1000)
    tariff(z, "1500", 5000)
    tariff(z, "3000", None)
    tariff(z, "700", 5000, "20000")  # bigger orders pay less for the same bracket
    light = stocked(warehouse, weight=800)
    heavy = stocked(warehouse, weight=4000)

    assert [o.price for o in options([QuoteLine(light, 1)])] == [Decimal(1000)]
    assert options([QuoteLine(light, 2)])[0].price == Decimal(1500)  # 1.6 kg: the 5 kg bracket
    assert options([QuoteLine(heavy, 2)])[0].price == Decimal(3000)  # 8 kg: no limit
    assert options([QuoteLine(light, 4)])[0].price == Decimal(700)  # 3.2 kg, 20 000 ₸
    quote = quotes.quote([QuoteLine(light, 4)], city="Алматы", now=TUESDAY_10)
    assert (quote.weight_grams, quote.value) == (3200, Decimal(20000))


def test_free_from_the_zone_threshold_and_the_shop_single_price(warehouse: Location) -> None:
    own = carrier("own")
    z = zone(own, free_from=Decimal(30000), pickup_points=[{"code": "P1", "name": "Point", "address": "Abaya 1"}])
    tariff(z, "1500")
    cheap, dear = stocked(warehouse, price="5000"), stocked(warehouse, price="40000")
    door = next(o for o in options([QuoteLine(dear, 1)]) if o.kind == "courier")
    assert (door.price, door.free) == (Decimal(0), True)
    assert next(o for o in options([QuoteLine(cheap, 1)]) if o.kind == "courier").price == Decimal(1500)

    actions.check_update_settings(actor=None, flat_price=Decimal(990), flat_free_from=Decimal(10000))
    by_kind = {o.kind: o for o in options([QuoteLine(cheap, 1)])}
    assert by_kind["courier"].price == Decimal(990)  # the single price replaces the tariff at the door…
    assert by_kind["pickup_point"].price == Decimal(1500)  # …not at a pick-up point
    assert next(o for o in options([QuoteLine(cheap, 2)]) if o.kind == "courier").price == Decimal(0)


def test_cut_off_time_working_days_and_holidays(warehouse: Location) -> None:
    own = carrier("own", cutoff_time=dt.time(14, 0), working_days=[0, 1, 2, 3, 4], holidays=["2026-12-02"])
    tariff(zone(own, days_min=0, days_max=1), "1000")
    variant = stocked(warehouse)
    before = options([QuoteLine(variant, 1)])[0]
    assert (before.ready_on, before.estimated_from, before.estimated_to) == (day(0), day(0), day(2))  # 2nd off
    after = options([QuoteLine(variant, 1)], now=TUESDAY_10.replace(hour=15))[0]
    assert after.ready_on == day(2)  # Wednesday is a day off: Thursday
    friday_evening = dt.datetime(2026, 12, 4, 18, 0, tzinfo=ALMATY)
    weekend = options([QuoteLine(variant, 1)], now=friday_evening)[0]
    assert (weekend.ready_on, weekend.estimated_to) == (dt.date(2026, 12, 7), dt.date(2026, 12, 8))


def test_city_matching_ignores_case_and_spaces(warehouse: Location) -> None:
    tariff(zone(carrier("own"), cities=["Алматы"]), "1000")
    variant = stocked(warehouse)
    assert len(options([QuoteLine(variant, 1)], city="  алматы ")) == 1


def test_distance_zone_around_a_store(warehouse: Location) -> None:
    store = make_location(city="Алматы", code="dostyk", latitude=Decimal("43.233157"), longitude=Decimal("76.956935"))
    fast = carrier("fast", name="Yandex Go")
    tariff(zone(fast, cities=[], origin=store, max_distance_km=Decimal(5), days_min=0, days_max=0), "2500")
    variant = stocked(warehouse)
    near = options([QuoteLine(variant, 1)], latitude=43.24, longitude=76.95)  # ~1 km away
    assert [o.name for o in near] == ["Yandex Go"]
    far = quotes.quote([QuoteLine(variant, 1)], city="Алматы", latitude=43.35, longitude=77.05, now=TUESDAY_10)
    assert far.options == []
    assert far.reason is not None
    assert far.reason.reason == "city_not_served"


def test_stock_in_a_store_that_does_not_ship_waits_for_a_transfer(warehouse: Location) -> None:
    tariff(zone(carrier("own", working_days=[0, 1, 2, 3, 4, 5, 6]), days_min=1, days_max=1), "1000")
    actions.check_update_settings(actor=None, transfer_days=3)
    shop = make_location(city="Алматы", code="mega", ships=False, offers_pickup=True)
    here, only_in_shop = stocked(warehouse), stocked(shop, 5)
    assert {o.kind: o for o in options([QuoteLine(here, 1)])}["courier"].ready_on == day(0)
    by_kind = {o.kind: o for o in options([QuoteLine(here, 1), QuoteLine(only_in_shop, 1)])}
    assert by_kind["courier"].ready_on == day(3)
    assert by_kind["store_pickup"].estimated_to == day(3)  # the warehouse's line travels to the store
    pickup_only_shop = {o.kind: o for o in options([QuoteLine(only_in_shop, 2)])}
    assert pickup_only_shop["store_pickup"].ready_on == day(0)  # all there: today
    assert (pickup_only_shop["store_pickup"].price, pickup_only_shop["store_pickup"].cheapest) == (Decimal(0), True)


def test_out_of_stock_with_an_arrival_leaves_when_it_arrives(warehouse: Location) -> None:
    tariff(zone(carrier("own", working_days=[0, 1, 2, 3, 4, 5, 6]), days_min=1, days_max=2), "1000")
    awaited = stocked(warehouse, 0)
    inventory_actions.check_create_supply(actor=None, location=warehouse, expected_on=day(6), lines=[Line(awaited, 5)])
    option = options([QuoteLine(awaited, 1)])[0]
    assert (option.ready_on, option.estimated_from, option.estimated_to) == (day(6), day(7), day(8))

    # Awaited at a store that does not ship: it travels on to the warehouse first; picked up there, on the day.
    actions.check_update_settings(actor=None, transfer_days=2)
    shop = make_location(city="Алматы", code="shop", ships=False, offers_pickup=True)
    at_shop = stocked(shop, 0)
    inventory_actions.check_create_supply(actor=None, location=shop, expected_on=day(3), lines=[Line(at_shop, 5)])
    by_kind = {o.kind: o for o in options([QuoteLine(at_shop, 1)])}
    assert by_kind["courier"].ready_on == day(5)
    assert by_kind["store_pickup"].ready_on == day(3)


def test_no_option_says_why(warehouse: Location) -> None:
    tariff(zone(carrier("own")), "1000")
    variant = stocked(warehouse)
    aktau = quotes.quote([QuoteLine(variant, 1)], city="Актау", now=TUESDAY_10)
    assert aktau.options == []
    assert aktau.reason is not None
    assert (aktau.reason.code, aktau.reason.reason) == ("NO_DELIVERY_OPTION", "city_not_served")
    assert "Актау" in aktau.reason.message
    empty = quotes.quote([], city="Алматы", now=TUESDAY_10)
    assert empty.reason is not None
    assert empty.reason.reason == "cart_empty"
    gone = stocked(warehouse, 0)
    missing = quotes.quote([QuoteLine(gone, 1)], city="Алматы", now=TUESDAY_10)
    assert missing.reason is not None
    assert missing.reason.reason == "out_of_stock"
    assert gone.sku in missing.reason.message


def test_options_sorted_cheapest_then_fastest_with_pickup_points(warehouse: Location) -> None:
    own = carrier("own", working_days=[0, 1, 2, 3, 4, 5, 6])
    tariff(zone(own, days_min=0, days_max=0), "1500")
    cdek = carrier("cdek", name="CDEK")
    points = [
        {"code": "ALA1", "name": "Абая 10", "address": "пр. Абая, 10", "city": "Алматы"},
        {"code": "AST1", "name": "Туран 5", "address": "пр. Туран, 5", "city": "Астана"},
    ]
    tariff(
        zone(cdek, cities=["Алматы", "Астана"], days_min=2, days_max=4, door_delivery=True, pickup_points=points),
        "1200",
    )
    listed = options([QuoteLine(stocked(warehouse), 1)])
    assert [(o.kind, o.price) for o in listed] == [
        ("pickup_point", Decimal(1200)),  # as cheap and as fast as CDEK to the door: a pick-up point first
        ("courier", Decimal(1200)),
        ("courier", Decimal(1500)),
    ]
    assert listed[0].cheapest
    assert not listed[0].fastest
    assert listed[-1].fastest
    assert listed[-1].name == "Own"
    assert [o.pickup_point.get("code") for o in listed if o.kind == "pickup_point"] == ["ALA1"]  # this city's


def test_a_quote_takes_a_few_queries_whatever_the_number_of_zones(warehouse: Location) -> None:
    for n in range(12):
        tariff(zone(carrier(f"c{n}"), cities=["Алматы", f"Город {n}"]), str(1000 + n))
    variant = stocked(warehouse)
    with CaptureQueriesContext(connection) as queries:
        listed = options([QuoteLine(variant, 1)])
    assert len(listed) == 12
    assert len(queries) <= 8


# --- choosing an order's delivery ------------------------------------------------------------------------


def place(variant: Any, quantity: int = 1, city: str = "Алматы") -> Order:
    return orders_actions.check_place_order(
        actor=None,
        customer=CustomerIn(phone="+7 701 555 12 34", name="Айгуль"),
        source="web",
        lines=[LineIn(variant, quantity)],
        fulfillment=FulfillmentIn(type=Order.Fulfillment.DELIVERY, address={"city": city, "line1": "Абая 1"}),
    ).order


def test_choosing_delivery_adds_its_price_to_the_total(warehouse: Location) -> None:
    tariff(zone(carrier("own")), "1500")
    order = place(stocked(warehouse, price="5000"), 2)
    listed = quotes.quote_order(order).options
    assert [o.key for o in listed] == [f"courier:{Zone.objects.get().pk}"]
    operator = make_user(Role.OPERATOR)
    choice = actions.check_choose_delivery(actor=operator, order=order, option_key=listed[0].key)
    order.refresh_from_db()
    assert (order.delivery_price, order.total) == (Decimal(1500), Decimal(11500))
    assert (choice.price, choice.kind, choice.city, choice.chosen_by) == (Decimal(1500), "courier", "Алматы", operator)
    assert order.customer is not None
    order.customer.refresh_from_db()
    assert order.customer.lifetime_value == Decimal(11500)

    # Paid in full only with the delivery: the order becomes paid once the payment covers it.
    orders_actions.check_transition(actor=None, order=order, to=Order.Status.CONFIRMED)
    actions_payments.check_add_payment(
        actor=None, order=order, method=Payment.Method.CARD_ONLINE, amount=Decimal(10000), status=Payment.Status.PAID
    )
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED  # the goods only
    actions_payments.check_add_payment(
        actor=None, order=order, method=Payment.Method.CARD_ONLINE, amount=Decimal(1500), status=Payment.Status.PAID
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_choosing_again_replaces_the_choice_and_a_shipped_order_is_locked(warehouse: Location) -> None:
    own = carrier("own")
    tariff(zone(own), "1500")
    shop = make_location(city="Алматы", code="dostyk2", ships=False, offers_pickup=True)
    variant = stocked(warehouse)
    inventory_actions.do_receive(actor=None, location=shop, lines=[Line(variant, 3)])
    post = zone(carrier("kazpost"))
    tariff(post, "900")
    order = place(variant)
    own_zone = Zone.objects.get(carrier=own)
    actions.check_choose_delivery(actor=None, order=order, option_key=f"courier:{own_zone.pk}")
    actions.check_choose_delivery(actor=None, order=order, option_key=f"courier:{post.pk}")
    order.refresh_from_db()
    assert DeliveryChoice.objects.filter(order=order).count() == 1
    assert (order.delivery_price, order.total) == (Decimal(900), Decimal(5900))

    with pytest.raises(DomainError) as refused:
        actions.check_choose_delivery(actor=None, order=order, option_key="courier:999999")
    assert refused.value.code == "DELIVERY_OPTION_UNAVAILABLE"
    with pytest.raises(DomainError) as store_pickup:  # a delivery order goes by a carrier, not to a store
        actions.check_choose_delivery(actor=None, order=order, option_key=f"store:{shop.pk}")
    assert store_pickup.value.code == "DELIVERY_OPTION_UNAVAILABLE"
    clerk = make_user(Role.CLERK)  # selling at the counter, a clerk chooses too
    assert actions.check_choose_delivery(actor=clerk, order=order, option_key=f"courier:{post.pk}").chosen_by == clerk

    for status in (Order.Status.CONFIRMED, Order.Status.PICKING, Order.Status.SHIPPED):
        orders_actions.check_transition(actor=None, order=order, to=status)
    with pytest.raises(DomainError) as locked:
        actions.check_choose_delivery(actor=None, order=order, option_key=f"courier:{own_zone.pk}")
    assert locked.value.code == "DELIVERY_LOCKED"
    order.refresh_from_db()
    assert order.total == Decimal(5900)


def test_a_pickup_order_is_quoted_at_its_store_and_a_take_away_has_nothing_to_deliver(warehouse: Location) -> None:
    tariff(zone(carrier("own")), "1500")
    shop = make_location(city="Алматы", code="dostyk3", ships=False, offers_pickup=True)
    other = make_location(city="Алматы", code="mega3", ships=False, offers_pickup=True)
    variant = stocked(warehouse)
    inventory_actions.do_receive(actor=None, location=other, lines=[Line(variant, 3)])
    pickup = orders_actions.check_place_order(
        actor=None,
        customer=CustomerIn(phone="+7 701 555 12 35", name="Ерлан"),
        source="web",
        lines=[LineIn(variant, 1)],
        fulfillment=FulfillmentIn(type=Order.Fulfillment.PICKUP, location=shop),
    ).order

    (option,) = quotes.quote_order(pickup, now=TUESDAY_10).options
    assert (option.key, option.price) == (f"store:{shop.pk}", Decimal(0))
    assert option.ready_on > day(0)  # its units travel to that store first

    takeaway = orders_actions.check_place_order(
        actor=None,
        customer=CustomerIn(),
        source="store",
        location=other,
        lines=[LineIn(variant, 1)],
        fulfillment=FulfillmentIn(type=Order.Fulfillment.TAKEAWAY, location=other),
    ).order
    result = quotes.quote_order(takeaway, now=TUESDAY_10)
    assert result.options == []
    assert result.reason is not None
    assert result.reason.reason == "takeaway"


def test_the_shops_couriers_carry_within_the_city_goods_elsewhere_travel_first(warehouse: Location) -> None:
    everyday = [0, 1, 2, 3, 4, 5, 6]
    own = carrier("own", kind="own_courier", working_days=everyday)
    tariff(zone(own, cities=["Астана"], days_min=0, days_max=0), "1500")
    post = carrier("kazpost", kind="kazpost", working_days=everyday)
    tariff(zone(post, cities=["Астана"], days_min=3, days_max=5), "1900")
    in_almaty = stocked(warehouse)
    by_name = {o.name: o for o in options([QuoteLine(in_almaty, 1)], city="Астана")}
    assert by_name["Kazpost"].ready_on == day(0)  # Kazpost takes it from the Almaty warehouse today
    assert by_name["Own"].ready_on == day(2)  # the couriers in Astana wait for the transfer (2 days)
    astana = make_location(city="Астана", code="ast", ships=False, sells=True)
    in_astana = stocked(astana)
    assert {o.name: o for o in options([QuoteLine(in_astana, 1)], city="Астана")}["Own"].ready_on == day(0)
