"""Settings → Delivery in the console: carriers, their zones and prices, the shop-wide rules, form errors on
the field at fault; the order page's Delivery section lists the options and a Choose button puts the
delivery into the order's total; a city nobody serves shows the reason, not an error page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from omnia.accounts.models import User
from omnia.core.permissions import Role
from omnia.fulfillment import actions
from omnia.fulfillment.models import Carrier, DeliveryChoice, DeliverySettings, Tariff, Zone
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location
from omnia.orders import actions as orders_actions
from omnia.orders.actions import CustomerIn, FulfillmentIn, LineIn
from omnia.orders.models import Order
from tests.factories import make_location, make_user, make_variant

pytestmark = pytest.mark.django_db


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def manager(client: Client) -> Client:
    return login(client, make_user(Role.MANAGER))


def test_settings_page_lists_carriers_and_saves_the_shop_rules(manager: Client) -> None:
    actions.check_create_carrier(actor=None, code="kazpost", name="Казпочта", kind="kazpost")
    page = manager.get(reverse("console:settings_delivery"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Казпочта" in text
    assert "No zone yet" in text
    saved = manager.post(
        reverse("console:settings_delivery"),
        {"flat_price": "1500", "flat_free_from": "30000", "transfer_days": "2", "default_weight_grams": "400"},
    )
    assert saved.status_code == 302
    assert DeliverySettings.objects.get().flat_price == Decimal(1500)
    refused = manager.post(
        reverse("console:settings_delivery"),
        {"flat_price": "-5", "flat_free_from": "", "transfer_days": "2", "default_weight_grams": "400"},
    )
    assert refused.status_code == 422
    assert "A price is zero or more" in refused.content.decode()
    assert DeliverySettings.objects.get().flat_price == Decimal(1500)


def test_add_a_carrier_a_zone_and_a_price_with_form_errors(manager: Client) -> None:
    form = {
        "name": "Свои курьеры",
        "code": "own",
        "kind": "own_courier",
        "tracking": "manual",
        "cutoff_time": "14:00",
        "working_days": ["0", "1", "2", "3", "4", "5"],
        "holidays": "",
        "position": "0",
        "is_active": "on",
    }
    refused = manager.post(reverse("console:settings_delivery_carrier_new"), {**form, "code": "Свои"})
    assert refused.status_code == 422
    assert "A code is up to 40 latin letters" in refused.content.decode()
    assert not Carrier.objects.exists()
    created = manager.post(reverse("console:settings_delivery_carrier_new"), form)
    assert created.status_code == 302
    carrier = Carrier.objects.get()
    assert carrier.working_days == [0, 1, 2, 3, 4, 5]

    zone_url = reverse("console:settings_delivery_zone_new", args=[carrier.pk])
    zone = {
        "name": "Алматы",
        "cities": "",
        "days_min": "0",
        "days_max": "1",
        "door_delivery": "on",
        "pickup_points": "",
        "position": "0",
        "is_active": "on",
    }
    no_area = manager.post(zone_url, zone)
    assert no_area.status_code == 422
    assert "List the zone&#x27;s cities" in no_area.content.decode()
    assert manager.post(zone_url, {**zone, "cities": "Алматы, Каскелен"}).status_code == 302
    made = Zone.objects.get()
    assert made.cities == ["Алматы", "Каскелен"]

    tariff_url = reverse("console:settings_delivery_tariff_add", args=[made.pk])
    bad_price = manager.post(tariff_url, {"max_weight_grams": "5000", "min_order_value": "0", "price": "-1"})
    assert bad_price.status_code == 422
    assert "A price is zero or more" in bad_price.content.decode()
    assert (
        manager.post(tariff_url, {"max_weight_grams": "5000", "min_order_value": "0", "price": "1500"}).status_code
        == 302
    )
    page = manager.get(reverse("console:settings_delivery_carrier", args=[carrier.pk])).content.decode()
    assert "Каскелен" in page
    assert "1500" in page
    assert Tariff.objects.get().price == Decimal(1500)


def test_an_operator_may_not_open_delivery_settings(client: Client) -> None:
    login(client, make_user(Role.OPERATOR))
    assert client.get(reverse("console:settings_delivery")).status_code == 403


def _order(city: str = "Алматы") -> Order:
    warehouse = make_location(kind=Location.Kind.WAREHOUSE, code="wh", ships=True, sells=False)
    variant = make_variant(price="10000")
    inventory_actions.do_receive(actor=None, location=warehouse, lines=[Line(variant, 5)])
    own = actions.check_create_carrier(actor=None, code="own", name="Свои курьеры").carrier
    zone = actions.check_create_zone(actor=None, carrier=own, name="Алматы", cities=["Алматы"])
    actions.check_create_tariff(actor=None, zone=zone, price=Decimal(1500))
    return orders_actions.check_place_order(
        actor=None,
        customer=CustomerIn(phone="+7 701 555 12 34"),
        source="web",
        lines=[LineIn(variant, 1)],
        fulfillment=FulfillmentIn(type=Order.Fulfillment.DELIVERY, address={"city": city, "line1": "Абая 1"}),
    ).order


def test_order_page_lists_the_options_and_choosing_one_sets_the_total(client: Client) -> None:
    login(client, make_user(Role.OPERATOR))
    order = _order()
    page = client.get(reverse("console:order_detail", args=[order.pk])).content.decode()
    assert reverse("console:order_delivery", args=[order.pk]) in page  # the section loads itself
    section = client.get(reverse("console:order_delivery", args=[order.pk]))
    assert section.status_code == 200
    text = section.content.decode()
    assert "Свои курьеры" in text
    assert "cheapest" in text
    key = f"courier:{Zone.objects.get().pk}"
    assert f'value="{key}"' in text
    chosen = client.post(reverse("console:order_delivery_choose", args=[order.pk]), {"option": key})
    assert chosen.status_code == 302
    order.refresh_from_db()
    assert order.total == Decimal(11500)
    assert DeliveryChoice.objects.get(order=order).price == Decimal(1500)
    after = client.get(reverse("console:order_delivery", args=[order.pk])).content.decode()
    assert 'data-testid="delivery-choice"' in after


def test_a_clerk_sees_the_options_and_may_choose_but_not_once_the_order_left(client: Client) -> None:
    order = _order()
    login(client, make_user(Role.CLERK))
    text = client.get(reverse("console:order_delivery", args=[order.pk])).content.decode()
    assert "Свои курьеры" in text
    assert "choose-delivery" in text
    for status in (Order.Status.CONFIRMED, Order.Status.PICKING, Order.Status.SHIPPED):
        orders_actions.check_transition(actor=None, order=order, to=status)
    shipped = client.get(reverse("console:order_delivery", args=[order.pk])).content.decode()
    assert "choose-delivery" not in shipped


def test_a_city_nobody_serves_shows_the_reason(client: Client) -> None:
    login(client, make_user(Role.MANAGER))
    order = _order(city="Актау")
    section = client.get(reverse("console:order_delivery", args=[order.pk]))
    assert section.status_code == 200
    assert "No carrier delivers to Актау." in section.content.decode()
    refused = client.post(
        reverse("console:order_delivery_choose", args=[order.pk]), {"option": "courier:1"}, follow=True
    )
    assert refused.status_code == 200
    assert "no longer offered" in refused.content.decode()
    order.refresh_from_db()
    assert order.total == Decimal(10000)


def test_a_tracked_carrier_shows_its_webhook_and_its_secret_once(manager: Client) -> None:
    form = {
        "name": "СДЭК",
        "code": "cdek",
        "kind": "cdek",
        "tracking": "generic",
        "cutoff_time": "",
        "working_days": ["0", "1", "2", "3", "4"],
        "holidays": "2026-12-16",
        "position": "0",
        "is_active": "on",
    }
    created = manager.post(reverse("console:settings_delivery_carrier_new"), form, follow=True)
    carrier = Carrier.objects.get()
    text = created.content.decode()
    assert carrier.secret in text  # once, right after it was made
    assert f"/hooks/carriers/{carrier.webhook_key}" in text
    again = manager.get(reverse("console:settings_delivery_carrier", args=[carrier.pk])).content.decode()
    assert carrier.secret not in again
    old = carrier.secret
    rotated = manager.post(reverse("console:settings_delivery_carrier_secret", args=[carrier.pk]), follow=True)
    carrier.refresh_from_db()
    assert carrier.secret != old
    assert carrier.secret in rotated.content.decode()
