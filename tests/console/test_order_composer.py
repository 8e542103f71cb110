"""The order composer in the inbox side panel: an operator finds products, sees where they are, builds a
cart that survives a reload, places the order for the conversation's customer, and the customer gets the
summary in the same chat (or the operator learns why it could not go)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from omnia.accounts.models import User
from omnia.catalog.models import Barcode, Product, Variant
from omnia.channels.models import Channel
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation, Message
from omnia.core import clock
from omnia.core.money import format_money
from omnia.core.permissions import Role
from omnia.customers import actions as customers_actions
from omnia.customers.models import Address, Customer
from omnia.fulfillment import actions as fulfillment_actions
from omnia.fulfillment.models import DeliveryChoice
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location, Reservation, StockLevel
from omnia.orders.models import Order, Payment
from tests.factories import make_location, make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


class Shop:
    """Two Almaty stores offering pick-up and a warehouse that ships; a garland in two sizes and a lamp."""

    def __init__(self) -> None:
        self.dostyk = make_location(code="dostyk", name="Dostyk Plaza", city="Алматы", offers_pickup=True)
        self.mega = make_location(code="mega", name="MEGA Alma-Ata", city="Алматы", offers_pickup=True)
        self.warehouse = make_location(
            code="wh", name="Склад", kind=Location.Kind.WAREHOUSE, city="Алматы", ships=True, sells=False
        )
        product = Product.objects.create(name="Гирлянда «Нить»", created_at=clock.now())
        self.m = Variant.objects.create(
            product=product, sku="GRL-M", name="10 м", price=Decimal("12990"), currency="KZT",
            promo_price=Decimal("9990"), promo_starts_at=NOW - dt.timedelta(days=1),
            promo_ends_at=NOW + dt.timedelta(days=5),
        )  # fmt: skip
        self.l = Variant.objects.create(
            product=product, sku="GRL-L", name="20 м", price=Decimal("14990"), currency="KZT"
        )
        Barcode.objects.create(variant=self.l, code="4870009999991")
        lamp = Product.objects.create(name="Лампа настольная", created_at=clock.now())
        self.lamp = Variant.objects.create(product=lamp, sku="LAMP-1", price=Decimal("7500"), currency="KZT")
        stock(self.m, self.dostyk, 3)
        stock(self.m, self.warehouse, 10)
        stock(self.l, self.mega, 2)
        stock(self.lamp, self.dostyk, 5)


def stock(variant: Variant, location: Location, quantity: int) -> None:
    inventory_actions.do_receive(actor=None, location=location, lines=[Line(variant, quantity)], reference="opening")


def available(variant: Variant, location: Location) -> int:
    level = StockLevel.objects.filter(variant=variant, location=location).first()
    return level.on_hand - level.reserved if level else 0


@pytest.fixture
def shop() -> Shop:
    return Shop()


@pytest.fixture
def operator() -> User:
    return make_user(Role.OPERATOR)


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def client(operator: User) -> Client:
    return login(operator)


def make_conversation(
    provider: str = "whatsapp", *, language: str = "en", wrote: dt.datetime | None = None
) -> Conversation:
    n = next(_seq)
    channel = Channel.objects.create(
        provider=provider, name=f"{provider} {n}", key=f"{provider}-{n}", created_at=clock.now()
    )
    customer: Customer = customers_actions.check_create_customer(actor=None, first_name="Дана", last_name=f"Ким{n}")
    Customer.objects.filter(pk=customer.pk).update(language=language)
    message = conversations_actions.do_receive_message(
        customer=customer,
        channel=channel,
        text="Хочу гирлянду",
        sent_at=wrote or clock.now(),
        provider_message_id=f"m-{n}",
        external_chat_id=f"7701000{n:04d}",
    )
    assert message is not None
    return message.conversation


@pytest.fixture
def conversation() -> Conversation:
    return make_conversation()


def url(name: str, conversation: Conversation) -> str:
    return reverse(f"console:inbox_order{name}", args=[conversation.pk])


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def money(amount: int) -> str:
    with translation.override("en"):
        return format_money(Decimal(amount), "KZT")


def result(page: str, sku: str) -> str:
    """One variant's block of the search results."""
    blocks = page.split('data-testid="order-result"')
    return next(b for b in blocks if f'data-sku="{sku}"' in b[:60])


def add(client: Client, conversation: Conversation, variant: Variant, quantity: int = 1, **extra: Any) -> Any:
    return client.post(
        url("_cart", conversation), {"add": variant.pk, f"add-qty-{variant.pk}": quantity, **extra}, **HTMX
    )


def place(client: Client, conversation: Conversation, **fields: Any) -> Any:
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', text(client.get(url("", conversation), **HTMX)))
    assert key is not None
    return client.post(url("_place", conversation), {"idempotency_key": key.group(1), **fields}, **HTMX)


# --- the panel and the search ----------------------------------------------------------------------------


def test_the_inbox_page_loads_the_new_order_section_beside_the_card(client: Client, conversation: Conversation) -> None:
    page = text(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))
    assert f'hx-get="{url("", conversation)}"' in page

    panel = text(client.get(url("", conversation), **HTMX))
    assert "New order" in panel
    assert "No items yet" in panel


def test_search_by_name_shows_price_promotion_and_stock_per_location(
    client: Client, conversation: Conversation, shop: Shop
) -> None:
    inventory_actions.check_create_supply(
        actor=None, location=shop.dostyk, expected_on=dt.date(2025, 3, 10), lines=[Line(shop.l, 4)], supplier="Luma"
    )
    results = text(client.get(url("_search", conversation), {"q": "гирлянда"}, **HTMX))

    m = result(results, "GRL-M")
    # the promotion, the regular price struck out
    assert f'<b class="promo-price">{money(9990)}</b> <s class="muted">{money(12990)}</s>' in m
    assert re.search(r'data-location="dostyk">.*?<b>3</b>.*?pick-up', m)
    assert re.search(r'data-location="wh">.*?<b>10</b>.*?ships', m)
    l_row = result(results, "GRL-L")
    assert re.search(r'data-location="mega">.*?<b>2</b>', l_row)
    assert re.search(r'data-location="dostyk">.*?<b>0</b>.*?4 expected', l_row)  # none now, the next arrival
    assert "LAMP-1" not in results


@pytest.mark.parametrize("query", ["4870009999991", "GRL-L", "grl-l"])
def test_a_barcode_or_a_whole_sku_finds_that_variant_alone(
    client: Client, conversation: Conversation, shop: Shop, query: str
) -> None:
    results = text(client.get(url("_search", conversation), {"q": query}, **HTMX))

    assert re.findall(r'data-testid="order-result" data-sku="([^"]+)"', results) == ["GRL-L"]


def test_the_cart_is_kept_in_the_session_per_conversation(
    client: Client, operator: User, conversation: Conversation, shop: Shop
) -> None:
    add(client, conversation, shop.m, 2)
    add(client, conversation, shop.lamp)
    add(client, conversation, shop.lamp)

    # A reload (or a second tab of the same session) finds it; another conversation's cart is empty.
    panel = text(client.get(url("", conversation), **HTMX))
    assert re.search(r'data-sku="GRL-M".*?name="qty-\d+"[^>]*value="2"', panel)
    assert re.search(r'data-sku="LAMP-1".*?name="qty-\d+"[^>]*value="2"', panel)
    assert money(9990) in panel  # the promotional price is what the order pays
    other = make_conversation()
    assert "No items yet" in text(client.get(url("", other), **HTMX))

    # Change a quantity, remove a line.
    changed = text(
        client.post(url("_cart", conversation), {f"qty-{shop.m.pk}": 3, "remove_line": shop.lamp.pk}, **HTMX)
    )
    assert re.search(r'data-sku="GRL-M".*?value="3"', changed)
    assert "LAMP-1" not in changed
    assert f'data-testid="order-total">{money(29970)}' in changed


def test_a_role_without_orders_or_inbox_gets_no_composer(conversation: Conversation) -> None:
    clerk = login(make_user(Role.CLERK))

    assert clerk.get(url("", conversation), **HTMX).status_code == 403
    assert clerk.post(url("_place", conversation), **HTMX).status_code == 403


# --- placing ---------------------------------------------------------------------------------------------


def test_placing_a_pickup_order_reserves_stock_and_sends_the_summary_in_the_chat(
    client: Client, operator: User, conversation: Conversation, shop: Shop
) -> None:
    add(client, conversation, shop.m, 2)
    add(client, conversation, shop.lamp, 1)
    cart = text(client.post(url("_cart", conversation), {"fulfillment": "pickup", "location": shop.dostyk.pk}, **HTMX))
    assert "Dostyk Plaza · Алматы — all here now" in cart  # which pick-up point has everything
    assert "MEGA Alma-Ata · Алматы — 0 of 2 lines here now" in cart

    response = place(client, conversation, payment="kaspi_pay", comment="Позвонить перед выдачей")

    order = Order.objects.get()
    page = text(response)
    assert f'href="{reverse("console:order_detail", args=[order.pk])}"' in page
    assert order.number in page
    assert "The summary was sent to the customer in this chat." in page
    assert order.source == "whatsapp"
    assert order.conversation == conversation
    assert order.placed_by == operator
    assert order.customer_id == conversation.customer_id
    assert order.fulfillment == "pickup"
    assert order.location == shop.dostyk
    assert order.comment == "Позвонить перед выдачей"
    assert order.total == Decimal("2") * Decimal("9990") + Decimal("7500")
    assert {(line.variant.sku, line.quantity, line.location) for line in order.lines.all()} == {
        ("GRL-M", 2, shop.dostyk),
        ("LAMP-1", 1, shop.dostyk),
    }
    assert available(shop.m, shop.dostyk) == 1
    assert available(shop.lamp, shop.dostyk) == 4
    payment = order.payments.get()
    assert (payment.method, payment.amount, payment.status) == ("kaspi_pay", order.total, Payment.Status.PENDING)

    # The summary goes out through the conversation's channel, in the outbox.
    summary = Message.objects.get(conversation=conversation, direction=Message.Direction.OUT)
    assert summary.channel == conversation.channel
    assert summary.status == Message.Status.QUEUED
    assert f"Your order {order.number} is placed." in summary.text
    assert "Гирлянда «Нить», 10 м × 2" in summary.text
    assert "Лампа настольная × 1" in summary.text
    assert f"Total: {money(27480)}" in summary.text
    assert "Pick-up: Dostyk Plaza" in summary.text
    # The thread and the card's recent orders are refreshed in the same answer; the cart is empty again.
    assert 'id="thread-messages"' in page
    assert "Your order" in page
    assert 'id="inbox-card" hx-swap-oob="innerHTML"' in page
    assert re.search(rf"<strong>{order.number}</strong>", page)
    assert "No items yet" in page


def test_a_double_click_places_one_order(client: Client, conversation: Conversation, shop: Shop) -> None:
    add(client, conversation, shop.lamp, 1)
    client.post(url("_cart", conversation), {"fulfillment": "pickup", "location": shop.dostyk.pk}, **HTMX)
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', text(client.get(url("", conversation), **HTMX)))
    assert key is not None

    first = text(client.post(url("_place", conversation), {"idempotency_key": key.group(1)}, **HTMX))
    second = text(client.post(url("_place", conversation), {"idempotency_key": key.group(1)}, **HTMX))

    order = Order.objects.get()
    assert order.number in first
    assert order.number in second
    assert available(shop.lamp, shop.dostyk) == 4
    assert Message.objects.filter(direction=Message.Direction.OUT).count() == 1


def test_out_of_stock_names_the_line_and_changes_nothing(
    client: Client, conversation: Conversation, shop: Shop
) -> None:
    add(client, conversation, shop.lamp, 1)
    add(client, conversation, shop.l, 5)  # two exist, at MEGA
    client.post(url("_cart", conversation), {"fulfillment": "pickup", "location": shop.mega.pk}, **HTMX)

    page = text(place(client, conversation))

    assert "Not enough of GRL-L available (5 asked)." in page
    assert re.search(r'data-sku="GRL-L" class="has-error">.*?data-testid="line-error"', page)
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()
    assert available(shop.lamp, shop.dostyk) == 5
    assert not Message.objects.filter(direction=Message.Direction.OUT).exists()
    assert "LAMP-1" in page  # the cart stays as it was


def test_pickup_where_it_is_not_offered_is_refused(client: Client, conversation: Conversation, shop: Shop) -> None:
    add(client, conversation, shop.m, 1)
    client.post(url("_cart", conversation), {"fulfillment": "pickup", "location": shop.warehouse.pk}, **HTMX)

    page = text(place(client, conversation))

    assert "Pick-up is not offered there" in page
    assert not Order.objects.exists()


def test_delivery_is_prefilled_from_the_saved_address_and_needs_city_and_street(
    client: Client, conversation: Conversation, shop: Shop
) -> None:
    Address.objects.create(
        customer=conversation.customer, city="Алматы", line="пр. Абая 10", apartment="5", is_default=True,
        created_at=clock.now(),
    )  # fmt: skip
    add(client, conversation, shop.m, 1)
    panel = text(client.get(url("", conversation), **HTMX))
    assert re.search(r'value="delivery"[^>]*checked', panel)
    assert 'name="line1" value="пр. Абая 10"' in panel

    refused = text(place(client, conversation, city="Алматы", line1=""))
    assert "give the city and the street and building" in refused
    assert not Order.objects.exists()

    # Another saved address, picked with one click.
    Address.objects.create(
        customer=conversation.customer, city="Алматы", line="ул. Сатпаева 90", label="Работа", created_at=clock.now()
    )
    office = conversation.customer.addresses.get(line="ул. Сатпаева 90")
    picked = text(client.post(url("_cart", conversation), {"use_address": office.pk}, **HTMX))
    assert 'name="line1" value="ул. Сатпаева 90"' in picked

    place(client, conversation, city="Алматы", line1="пр. Абая 12", apartment="7")
    order = Order.objects.get()
    assert order.fulfillment == "delivery"
    assert order.delivery_address == {"city": "Алматы", "line1": "пр. Абая 12", "apartment": "7"}
    assert order.lines.get().location == shop.warehouse  # the one that ships
    summary = Message.objects.get(direction=Message.Direction.OUT)
    assert "Delivery to: Алматы, пр. Абая 12, 7" in summary.text


def test_delivery_options_for_the_city_are_offered_and_the_chosen_one_goes_with_the_order(
    client: Client, conversation: Conversation, shop: Shop
) -> None:
    own = fulfillment_actions.check_create_carrier(actor=None, code="own", name="Own couriers").carrier
    zone = fulfillment_actions.check_create_zone(
        actor=None, carrier=own, name="Almaty", cities=["Алматы"], days_min=1, days_max=1
    )
    fulfillment_actions.check_create_tariff(actor=None, zone=zone, price=Decimal(1500))
    post = fulfillment_actions.check_create_carrier(actor=None, code="kazpost", name="Kazpost").carrier
    slow = fulfillment_actions.check_create_zone(
        actor=None, carrier=post, name="KZ", cities=["Алматы", "Астана"], days_min=3, days_max=5
    )
    fulfillment_actions.check_create_tariff(actor=None, zone=slow, price=Decimal(900))
    add(client, conversation, shop.m, 1, fulfillment="delivery", city="Алматы", line1="пр. Абая 10")

    panel = text(client.get(url("", conversation), **HTMX))
    offered = re.findall(r'data-testid="delivery-option" data-key="([^"]+)"', panel)
    assert offered == [f"courier:{slow.pk}", f"courier:{zone.pk}"]  # cheapest first
    assert re.search(rf'value="courier:{slow.pk}"[^>]*checked', panel)  # the cheapest until one is chosen
    assert money(900) in panel

    client.post(url("_cart", conversation), {"delivery_option": f"courier:{zone.pk}"}, **HTMX)
    place(client, conversation, city="Алматы", line1="пр. Абая 10")

    order = Order.objects.get()
    assert (order.delivery_price, order.total) == (Decimal(1500), Decimal(9990 + 1500))
    assert order.delivery_choice.carrier == own
    summary = Message.objects.get(direction=Message.Direction.OUT).text
    assert f"Total: {money(9990 + 1500)}" in summary
    assert f"Own couriers, {money(1500)}, expected" in summary


def test_a_city_no_carrier_serves_says_so_and_the_order_can_still_be_placed(
    client: Client, conversation: Conversation, shop: Shop
) -> None:
    own = fulfillment_actions.check_create_carrier(actor=None, code="own", name="Own couriers").carrier
    fulfillment_actions.check_create_zone(actor=None, carrier=own, name="Almaty", cities=["Алматы"])
    add(client, conversation, shop.m, 1, fulfillment="delivery", city="Актау", line1="мкр 5")

    panel = text(client.get(url("", conversation), **HTMX))

    assert 'data-testid="delivery-reason"' in panel
    assert "Актау" in panel.split('data-testid="delivery-reason"')[1][:200]
    place(client, conversation, city="Актау", line1="мкр 5")
    order = Order.objects.get()
    assert order.delivery_price == Decimal(0)
    assert not DeliveryChoice.objects.filter(order=order).exists()  # chosen later on the order page


def test_outside_the_whatsapp_window_the_order_is_placed_and_the_operator_told_the_summary_did_not_go(
    client: Client, shop: Shop
) -> None:
    conversation = make_conversation("whatsapp", wrote=NOW - dt.timedelta(hours=30))
    add(client, conversation, shop.lamp, 1)
    client.post(url("_cart", conversation), {"fulfillment": "pickup", "location": shop.dostyk.pk}, **HTMX)

    page = text(place(client, conversation))

    order = Order.objects.get()
    assert order.number in page
    assert "The summary was not sent: the customer last wrote more than 24 hours ago" in page
    assert not Message.objects.filter(direction=Message.Direction.OUT).exists()


@pytest.mark.parametrize(
    ("provider", "source"), [("telegram", "telegram"), ("instagram", "instagram"), ("webchat", "webchat")]
)
def test_the_order_source_is_the_conversation_channel(client: Client, shop: Shop, provider: str, source: str) -> None:
    conversation = make_conversation(provider)
    add(client, conversation, shop.lamp, 1)
    client.post(url("_cart", conversation), {"fulfillment": "takeaway", "location": shop.dostyk.pk}, **HTMX)

    place(client, conversation)

    order = Order.objects.get()
    assert order.source == source
    assert order.fulfillment == "takeaway"


def test_the_summary_is_written_in_the_customer_language(client: Client, shop: Shop) -> None:
    conversation = make_conversation("telegram", language="ru")
    add(client, conversation, shop.lamp, 1)
    client.post(url("_cart", conversation), {"fulfillment": "pickup", "location": shop.dostyk.pk}, **HTMX)

    place(client, conversation)

    order = Order.objects.get()
    summary = Message.objects.get(direction=Message.Direction.OUT)
    assert f"Ваш заказ {order.number} оформлен." in summary.text  # in Russian, as the customer reads
    assert "Самовывоз: Dostyk Plaza" in summary.text


@pytest.mark.django_db(transaction=True)
def test_clicks_arriving_at_once_place_one_order_one_payment_one_summary(operator: User) -> None:
    shop = Shop()
    conversation = make_conversation()
    first = login(operator)
    add(first, conversation, shop.lamp, 1)
    first.post(url("_cart", conversation), {"fulfillment": "pickup", "location": shop.dostyk.pk}, **HTMX)
    first.post(url("_cart", conversation), {"payment": "cash_on_delivery"}, **HTMX)
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', text(first.get(url("", conversation), **HTMX)))
    assert key is not None
    barrier = threading.Barrier(4)
    pages: list[str] = []
    lock = threading.Lock()

    def click() -> None:
        tab = Client()
        tab.cookies = first.cookies  # the same browser session
        try:
            barrier.wait()
            page = text(tab.post(url("_place", conversation), {"idempotency_key": key.group(1)}, **HTMX))
            with lock:
                pages.append(page)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    order = Order.objects.get()
    assert len(pages) == 4
    assert all(order.number in page for page in pages)
    assert order.payments.count() == 1
    assert Message.objects.filter(direction=Message.Direction.OUT).count() == 1
    assert available(shop.lamp, shop.dostyk) == 4
