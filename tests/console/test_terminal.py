"""The store terminal: a clerk scans, sees this store's stock first and where else it is, and sells — to
take away now, to pick up here or at another store, or delivered — paid at the counter, with a receipt."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from omnia.accounts.models import User
from omnia.catalog.models import Barcode, Product, Variant
from omnia.core import clock
from omnia.core.money import format_money
from omnia.core.permissions import Role
from omnia.customers.models import Identity
from omnia.fulfillment import actions as fulfillment_actions
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location, Reservation, StockLevel
from omnia.orders.models import Order, Payment
from tests.factories import make_location, make_user

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PHONE = "+77011234567"


class Shop:
    """The clerk's store (Dostyk), another store offering pick-up (MEGA), a warehouse that ships."""

    def __init__(self) -> None:
        self.dostyk = make_location(code="dostyk", name="Dostyk Plaza", city="Алматы", offers_pickup=True)
        self.mega = make_location(code="mega", name="MEGA Alma-Ata", city="Алматы", offers_pickup=True)
        self.warehouse = make_location(
            code="wh", name="Склад", kind=Location.Kind.WAREHOUSE, city="Алматы", ships=True, sells=False
        )
        product = Product.objects.create(name="Кеды", created_at=clock.now())
        self.size40 = Variant.objects.create(
            product=product, sku="KED-40", name="40", price=Decimal("20000"), currency="KZT"
        )
        self.size41 = Variant.objects.create(
            product=product, sku="KED-41", name="41", price=Decimal("20000"), currency="KZT"
        )
        Barcode.objects.create(variant=self.size41, code="4870000000410")
        stock(self.size40, self.dostyk, 2)
        stock(self.size41, self.mega, 1)
        stock(self.size41, self.warehouse, 5)


def stock(variant: Variant, location: Location, quantity: int) -> None:
    inventory_actions.do_receive(actor=None, location=location, lines=[Line(variant, quantity)], reference="opening")


def level(variant: Variant, location: Location) -> tuple[int, int]:
    row = StockLevel.objects.get(variant=variant, location=location)
    return row.on_hand, row.reserved


def money(amount: int) -> str:
    with translation.override("en"):
        return format_money(Decimal(amount), "KZT")


@pytest.fixture
def shop() -> Shop:
    return Shop()


@pytest.fixture
def clerk(shop: Shop) -> User:
    return make_user(Role.CLERK, store=shop.dostyk)


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def client(clerk: User) -> Client:
    return login(clerk)


def text(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def add(client: Client, variant: Variant, quantity: int = 1, **extra: Any) -> str:
    response = client.post(
        reverse("console:terminal_cart"), {"add": variant.pk, f"add-qty-{variant.pk}": quantity, **extra}, **HTMX
    )
    return text(response)


def sell(client: Client, store: Location | None = None, **fields: Any) -> str:
    query = {"store": store.pk} if store else {}
    page = text(client.get(reverse("console:terminal"), query))
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page)
    assert key is not None
    data = {"idempotency_key": key.group(1), **({"store": store.pk} if store else {}), **fields}
    return text(client.post(reverse("console:terminal_place"), data, **HTMX))


def test_a_clerk_finds_the_terminal_in_the_navigation_for_their_store(client: Client, shop: Shop) -> None:
    page = text(client.get(reverse("console:orders")))
    assert f'href="{reverse("console:terminal")}" data-section="terminal"' in page

    terminal = text(client.get(reverse("console:terminal")))
    assert "Store terminal · Dostyk Plaza" in terminal
    assert 'data-testid="terminal-store"' not in terminal  # a clerk sells for their own store only


def test_search_shows_this_store_first_and_where_else_it_is(client: Client, shop: Shop) -> None:
    results = text(client.get(reverse("console:terminal_search"), {"q": "4870000000410"}, **HTMX))

    assert re.findall(r'data-testid="order-result" data-sku="([^"]+)"', results) == ["KED-41"]
    here = re.search(r'data-testid="order-here" data-location="dostyk">.*?<b>(\d+)</b>', results)
    assert here is not None
    assert here.group(1) == "0"
    assert results.index("order-here") < results.index('data-location="wh"') < results.index('data-location="mega"')
    assert re.search(r'data-location="mega">.*?<b>1</b>', results)


def test_a_take_away_sale_is_paid_handed_over_and_taken_off_the_shelf(client: Client, clerk: User, shop: Shop) -> None:
    add(client, shop.size40, 2)

    receipt = sell(
        client, phone="8 701 123 45 67", customer_name="Дана", payment="cash_in_store", fulfillment="takeaway"
    )

    order = Order.objects.get()
    assert order.number in receipt
    assert f'href="{reverse("console:order_detail", args=[order.pk])}"' in receipt
    assert order.source == "store"
    assert order.location == shop.dostyk
    assert order.placed_by == clerk
    assert order.fulfillment == "takeaway"
    assert order.status == Order.Status.COMPLETED
    assert Identity.objects.get(kind="phone", value=PHONE).customer == order.customer
    payment = order.payments.get()
    assert (payment.method, payment.amount, payment.status) == ("cash_in_store", Decimal(40000), Payment.Status.PAID)
    assert level(shop.size40, shop.dostyk) == (0, 0)  # sold
    assert f'data-testid="receipt-paid">{money(40000)}' in receipt
    assert "Completed" in receipt


def test_a_take_away_is_paid_at_the_counter(client: Client, shop: Shop) -> None:
    add(client, shop.size40, 1)

    page = sell(client, phone=PHONE, fulfillment="takeaway", payment="")

    assert "A take-away is paid at the counter" in page
    assert not Order.objects.exists()


def test_a_take_away_of_what_this_store_lacks_names_the_line(client: Client, shop: Shop) -> None:
    add(client, shop.size41, 1)  # at MEGA and the warehouse, not here

    page = sell(client, phone=PHONE, fulfillment="takeaway", payment="card_terminal")

    assert "Not enough of KED-41 available (1 asked)." in page
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()


def test_pick_up_at_another_store_is_sourced_from_there_and_paid_by_card(client: Client, shop: Shop) -> None:
    add(client, shop.size41, 1)
    client.post(reverse("console:terminal_cart"), {"fulfillment": "pickup_other", "location": shop.mega.pk}, **HTMX)

    receipt = sell(client, phone=PHONE, payment="card_terminal")

    order = Order.objects.get()
    assert order.number in receipt
    assert order.fulfillment == "pickup"
    assert order.location == shop.mega
    assert order.status == Order.Status.NEW  # waits for the customer at MEGA
    assert order.lines.get().location == shop.mega
    assert level(shop.size41, shop.mega) == (1, 1)
    assert order.payments.get().status == Payment.Status.PAID


def test_pick_up_here_later_is_brought_from_wherever_it_is(client: Client, shop: Shop) -> None:
    add(client, shop.size41, 2)
    client.post(reverse("console:terminal_cart"), {"fulfillment": "pickup_here"}, **HTMX)

    sell(client, phone=PHONE)  # pays when collecting it

    order = Order.objects.get()
    assert order.fulfillment == "pickup"
    assert order.location == shop.dostyk
    assert order.lines.get().location == shop.warehouse  # the only place with two
    assert level(shop.size41, shop.warehouse) == (5, 2)
    assert not order.payments.exists()


def test_delivery_to_the_customer_ships_from_the_warehouse(client: Client, shop: Shop) -> None:
    add(client, shop.size41, 1)
    client.post(reverse("console:terminal_cart"), {"fulfillment": "delivery"}, **HTMX)

    refused = sell(client, phone=PHONE, city="Алматы", line1="")
    assert "give the city and the street and building" in refused
    assert not Order.objects.exists()

    sell(client, phone=PHONE, city="Алматы", line1="ул. Панфилова 1", payment="kaspi_pay")
    order = Order.objects.get()
    assert order.fulfillment == "delivery"
    assert order.delivery_address == {"city": "Алматы", "line1": "ул. Панфилова 1"}
    assert order.lines.get().location in (shop.warehouse, shop.mega)
    assert order.payments.get().method == "kaspi_pay"


def test_a_delivery_sold_at_the_counter_goes_with_the_chosen_carrier_and_is_paid_with_it(
    client: Client, shop: Shop
) -> None:
    own = fulfillment_actions.check_create_carrier(actor=None, code="own", name="Own couriers").carrier
    zone = fulfillment_actions.check_create_zone(actor=None, carrier=own, name="Almaty", cities=["Алматы"])
    fulfillment_actions.check_create_tariff(actor=None, zone=zone, price=Decimal(1500))
    add(client, shop.size41, 1)

    page = client.post(
        reverse("console:terminal_cart"), {"fulfillment": "delivery", "city": "алматы", "line1": ""}, **HTMX
    ).content.decode()
    assert f'data-key="courier:{zone.pk}"' in page

    sell(client, phone=PHONE, city="Алматы", line1="ул. Панфилова 1", payment="kaspi_pay")
    order = Order.objects.get()
    assert order.delivery_price == Decimal(1500)
    assert order.delivery_choice.carrier == own
    assert order.payments.get().amount == order.total  # the goods and the delivery


@pytest.mark.parametrize(
    ("phone", "fulfillment", "message"),
    [
        ("", "pickup_here", "Give the customer's phone number"),
        ("12", "takeaway", "That is not a valid phone number."),
    ],
)
def test_the_customer_phone_is_needed_and_checked(
    client: Client, shop: Shop, phone: str, fulfillment: str, message: str
) -> None:
    add(client, shop.size40, 1)
    client.post(reverse("console:terminal_cart"), {"fulfillment": fulfillment}, **HTMX)

    page = sell(client, phone=phone, payment="cash_in_store")

    assert message in page
    assert not Order.objects.exists()


def test_a_take_away_needs_no_phone(client: Client, shop: Shop) -> None:
    add(client, shop.size40, 1)

    receipt = sell(client, phone="", payment="cash_in_store")

    order = Order.objects.get()
    assert order.number in receipt
    assert (order.customer, order.location, order.status) == (None, shop.dostyk, Order.Status.COMPLETED)


def test_a_double_click_sells_once(client: Client, shop: Shop) -> None:
    add(client, shop.size40, 1)
    page = text(client.get(reverse("console:terminal")))
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page)
    assert key is not None
    data = {"idempotency_key": key.group(1), "phone": PHONE, "payment": "cash_in_store"}

    first = text(client.post(reverse("console:terminal_place"), data, **HTMX))
    second = text(client.post(reverse("console:terminal_place"), data, **HTMX))

    order = Order.objects.get()
    assert order.number in first
    assert order.number in second
    assert order.payments.count() == 1
    assert level(shop.size40, shop.dostyk) == (1, 0)


def test_the_owner_picks_the_store_a_clerk_cannot_sell_for_another(shop: Shop, clerk: User) -> None:
    owner = login(make_user(Role.OWNER))
    picker = text(owner.get(reverse("console:terminal")))
    assert 'data-testid="terminal-store"' in picker
    assert 'data-testid="terminal-cart"' not in picker
    add(owner, shop.size41, 1, store=shop.mega.pk)
    sell(owner, shop.mega, phone=PHONE, payment="cash_in_store", fulfillment="takeaway")
    order = Order.objects.get()
    assert order.location == shop.mega
    assert order.status == Order.Status.COMPLETED

    # The clerk's store is theirs whatever the form says.
    clerk_client = login(clerk)
    add(clerk_client, shop.size40, 1, store=shop.mega.pk)
    sell(clerk_client, shop.mega, phone=PHONE, payment="cash_in_store", fulfillment="takeaway")
    assert Order.objects.latest("pk").location == shop.dostyk


def test_the_cart_survives_a_reload(client: Client, shop: Shop) -> None:
    add(client, shop.size40, 1)
    client.post(reverse("console:terminal_cart"), {"phone": PHONE, f"qty-{shop.size40.pk}": 2}, **HTMX)

    page = text(client.get(reverse("console:terminal")))

    assert re.search(r'data-sku="KED-40".*?value="2"', page)
    assert f'value="{PHONE}"' in page
