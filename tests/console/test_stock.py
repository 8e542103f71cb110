"""Stock in the console: the endless-aisle search, holds for customers, transfers, receipts, supplies,
corrections, location lists and product pages — what each role sees and may do."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from omnia.accounts.models import User
from omnia.catalog.models import Barcode, ChannelPrice, Product, ProductImage, Variant
from omnia.core import clock
from omnia.core.money import format_money
from omnia.core.permissions import Role
from omnia.customers import actions as customers_actions
from omnia.customers.models import Customer, TimelineEntry
from omnia.inventory import actions
from omnia.inventory.actions import Line
from omnia.inventory.models import (
    Location,
    Reservation,
    StockLevel,
    StockMove,
    StockSubscription,
    Supply,
    Transfer,
)
from tests.factories import make_location, make_user

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PHONE = "+77011234567"


# --- the shop ------------------------------------------------------------------------------------


class Shop:
    """Three places, one garland in two sizes: size M is out at the clerk's store."""

    def __init__(self) -> None:
        self.dostyk = make_location(code="dostyk", name="Dostyk Plaza", city="Алматы", offers_pickup=True)
        self.mega = make_location(code="mega", name="MEGA Alma-Ata", city="Алматы", offers_pickup=True)
        self.warehouse = make_location(
            code="wh-ast", name="Склад Астана", kind=Location.Kind.WAREHOUSE, city="Астана", ships=True,
            ships_to=["Астана", "Караганда"],
        )  # fmt: skip
        self.product = Product.objects.create(
            name="Гирлянда «Нить» тёплая",
            brand="Luma",
            description="Тёплый белый свет.",
            translations={"kk": {"name": "Жылы «Жіп» шамы", "description": "Жылы ақ жарық."}},
            created_at=clock.now(),
        )
        ProductImage.objects.create(product=self.product, url="https://img.example/garland.jpg", alt="Гирлянда")
        self.m = Variant.objects.create(
            product=self.product, sku="GRL-10M-M", name="10 м, M", attributes={"size": "M", "colour": "тёплый"},
            price=Decimal("12990"), currency="KZT",
        )  # fmt: skip
        self.l = Variant.objects.create(
            product=self.product, sku="GRL-10M-L", name="10 м, L", attributes={"size": "L"},
            price=Decimal("14990"), currency="KZT",
        )  # fmt: skip
        Barcode.objects.create(variant=self.m, code="4870001234567")
        receive(self.mega, self.m, 3)
        receive(self.warehouse, self.m, 10)
        receive(self.dostyk, self.l, 2)
        self.clerk = make_user(Role.CLERK, store=self.dostyk)


def receive(location: Location, variant: Variant, quantity: int) -> None:
    actions.do_receive(actor=None, location=location, lines=[Line(variant, quantity)], reference="opening")


@pytest.fixture
def shop() -> Shop:
    return Shop()


def client_for(user: User) -> Client:
    """A console user reading English (the texts asserted here are the English source texts)."""
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def logged_in(role: str, shop: Shop | None = None) -> Client:
    if role == Role.CLERK and shop is not None:
        return client_for(shop.clerk)
    return client_for(make_user(role))


def html(response: Any) -> str:
    return response.content.decode()


def level(variant: Variant, location: Location) -> tuple[int, int, int]:
    row = StockLevel.objects.filter(variant=variant, location=location).first()
    return (row.on_hand, row.reserved, row.in_transit) if row else (0, 0, 0)


def variant_block(page: str, sku: str) -> str:
    """The HTML of one variant's block in the search results."""
    start = page.index(f'data-sku="{sku}"')
    end = page.find('data-testid="variant"', start + 1)
    return page[start : end if end != -1 else len(page)]


def place_row(block: str, code: str) -> str:
    start = block.index(f'data-location="{code}"')
    return block[start : block.index("</tr>", start)]


def available_in(block: str, code: str) -> int:
    match = re.search(r'data-testid="available">(\d+)', place_row(block, code))
    assert match is not None
    return int(match.group(1))


def search(client: Client, q: str, **params: Any) -> str:
    return html(client.get(reverse("console:stock"), {"q": q, **params}))


# --- the endless aisle ----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["4870001234567", "grl-10m-m", "GRL-10M-M", " 4870001234567 "])
def test_a_scanned_barcode_or_a_whole_sku_finds_that_variant_first(shop: Shop, typed: str) -> None:
    client = logged_in(Role.CLERK, shop)

    response = client.get(reverse("console:stock"), {"q": typed})

    page = html(response)
    assert response.context["page"].paginator.count == 1
    assert 'class="stock-variant out-here matched"' in page
    assert page.index('data-sku="GRL-10M-M"') < page.index('data-sku="GRL-10M-L"')


@pytest.mark.parametrize("typed", ["нить гирлянда", "ГИРЛЯНДА", "жіп", "GRL-10"])
def test_name_words_in_any_order_a_translated_name_or_a_sku_start_find_the_product(shop: Shop, typed: str) -> None:
    Product.objects.create(name="Свеча ароматическая", created_at=clock.now())
    client = logged_in(Role.OPERATOR)

    response = client.get(reverse("console:stock"), {"q": typed})

    assert [r["product"] for r in response.context["results"]] == [shop.product]


def test_nothing_found_says_so_and_an_empty_box_explains_what_to_type(shop: Shop) -> None:
    client = logged_in(Role.OPERATOR)

    assert "Nothing in the catalog matches" in search(client, "самовар")
    assert "Scan a barcode" in html(client.get(reverse("console:stock")))


def test_live_search_answers_with_the_results_only(shop: Shop) -> None:
    client = logged_in(Role.OPERATOR)

    response = client.get(reverse("console:stock"), {"q": "гирлянда"}, **HTMX)

    assert "<html" not in html(response)
    assert 'data-sku="GRL-10M-M"' in html(response)


def test_the_search_reads_a_page_of_products_in_a_fixed_number_of_queries(
    shop: Shop, django_assert_max_num_queries: Any
) -> None:
    for n in range(12):
        product = Product.objects.create(name=f"Гирлянда «Шар» {n}", created_at=clock.now())
        for size in ("S", "M", "L"):
            variant = Variant.objects.create(
                product=product, sku=f"BALL-{n}-{size}", price=Decimal("990"), currency="KZT"
            )
            receive(shop.mega, variant, 2)
    client = logged_in(Role.CLERK, shop)
    client.get(reverse("console:stock"), {"q": "гирлянда"})  # warm: session, user

    with django_assert_max_num_queries(22):  # the same for 12 products as for 1000: none per product
        response = client.get(reverse("console:stock"), {"q": "гирлянда"}, **HTMX)

    assert len(response.context["results"]) == 10


def test_out_in_the_clerks_store_shows_where_else_it_is_available(shop: Shop) -> None:
    client = logged_in(Role.CLERK, shop)

    block = variant_block(search(client, "GRL-10M-M"), "GRL-10M-M")

    where_else = block[block.index('data-testid="where-else"') : block.index("</div>", block.index("where-else"))]
    assert "None available at Dostyk Plaza" in where_else
    assert "MEGA Alma-Ata" in where_else
    assert "Склад Астана" in where_else
    # The clerk's own store comes first and is marked, then the most available.
    places = re.findall(r'class="stock-place([^"]*)" data-location="([^"]+)"', block)
    assert [code for _, code in places] == ["dostyk", "wh-ast", "mega"]
    assert "mine" in places[0][0]
    assert available_in(block, "dostyk") == 0
    assert available_in(block, "mega") == 3


def test_in_stock_here_shows_no_where_else_banner(shop: Shop) -> None:
    client = logged_in(Role.CLERK, shop)

    block = variant_block(search(client, "GRL-10M-L"), "GRL-10M-L")

    assert "where-else" not in block
    assert available_in(block, "dostyk") == 2
    assert "Nothing at 2 other locations" in block


def test_every_variant_shows_attributes_price_reserved_in_transit_and_next_arrival(shop: Shop) -> None:
    actions.check_reserve(actor=None, variant=shop.m, location=shop.mega, quantity=1)
    transfer = actions.check_request_transfer(
        actor=None, source=shop.warehouse, destination=shop.dostyk, lines=[Line(shop.m, 2)],
        expected_on=clock.today() + dt.timedelta(days=2),
    )  # fmt: skip
    actions.check_ship_transfer(actor=None, transfer=transfer)
    actions.check_create_supply(
        actor=None, location=shop.mega, expected_on=dt.date(2031, 3, 5), lines=[Line(shop.m, 7)], supplier="Luma"
    )
    client = logged_in(Role.CLERK, shop)

    block = variant_block(search(client, "GRL-10M-M"), "GRL-10M-M")

    assert "Size" in block
    assert ">M<" not in block
    assert "M</span>" in block
    assert format_money(Decimal("12990"), "KZT") in block
    mega = place_row(block, "mega")
    assert re.search(r'data-testid="reserved">1<', mega)
    assert "03/05/2031 · 7 pcs" in mega
    dostyk = place_row(block, "dostyk")
    assert re.search(r'data-testid="in-transit">2<', dostyk)
    assert "2 pcs" in dostyk  # the transfer's expected date is the next arrival here
    assert available_in(block, "mega") == 2


def test_a_running_promotion_shows_the_promo_price_the_regular_one_struck_and_its_end(shop: Shop) -> None:
    now = clock.now()
    Variant.objects.filter(pk=shop.m.pk).update(
        promo_price=Decimal("9990"),
        promo_starts_at=now - dt.timedelta(days=1),
        promo_ends_at=now + dt.timedelta(days=3),
    )
    Variant.objects.filter(pk=shop.l.pk).update(
        promo_price=Decimal("1000"),
        promo_starts_at=now + dt.timedelta(days=1),  # not started yet
    )
    client = logged_in(Role.OPERATOR)

    page = search(client, "гирлянда")

    m, big = variant_block(page, "GRL-10M-M"), variant_block(page, "GRL-10M-L")
    assert f'<b class="promo-price">{format_money(Decimal("9990"), "KZT")}</b>' in m
    assert f'<s class="muted">{format_money(Decimal("12990"), "KZT")}</s>' in m
    assert "promotion until" in m
    assert format_money(Decimal("1000"), "KZT") not in big
    assert "<s " not in big


def test_the_customers_city_decides_the_delivery_and_pick_up_marks(shop: Shop) -> None:
    client = logged_in(Role.OPERATOR)

    in_almaty = variant_block(search(client, "GRL-10M-M", city="Алматы"), "GRL-10M-M")
    in_astana = variant_block(search(client, "GRL-10M-M", city="Астана"), "GRL-10M-M")

    assert "Delivers to Алматы" in in_almaty
    assert "✓" not in place_row(in_almaty, "wh-ast")  # ships only to Astana and Karaganda, no pick-up
    assert "✓" in place_row(in_almaty, "mega")  # pick-up in Almaty
    assert place_row(in_astana, "wh-ast").count("✓") == 1  # delivers to Astana
    assert "✓" not in place_row(in_astana, "mega")  # no pick-up in Astana


def test_what_each_role_may_do_from_a_location_row(shop: Shop) -> None:
    clerk = variant_block(search(logged_in(Role.CLERK, shop), "GRL-10M-M"), "GRL-10M-M")
    operator = variant_block(search(logged_in(Role.OPERATOR), "GRL-10M-M"), "GRL-10M-M")
    manager = variant_block(search(logged_in(Role.MANAGER), "GRL-10M-M"), "GRL-10M-M")

    assert 'data-testid="hold"' in place_row(clerk, "mega")
    assert 'data-testid="transfer-here"' in place_row(clerk, "mega")
    assert 'data-testid="hold"' not in place_row(clerk, "dostyk")  # nothing available there
    assert 'data-testid="correct"' not in clerk
    assert "data-testid=" not in "".join(re.findall(r'<td class="actions-cell">(.*?)</td>', operator, re.S)).strip()
    assert 'data-testid="correct"' in manager
    assert 'data-testid="transfer"' in manager


# --- holds ----------------------------------------------------------------------------------------


def hold_url(shop: Shop, location: Location, variant: Variant | None = None) -> str:
    return f"{reverse('console:stock_hold_new')}?variant={(variant or shop.m).pk}&location={location.pk}"


def hold_form(shop: Shop, location: Location, **data: Any) -> dict[str, Any]:
    return {"variant": shop.m.pk, "location": location.pk, "quantity": 1, **data}


def test_the_hold_form_shows_the_variant_the_place_and_what_is_available_there(shop: Shop) -> None:
    client = logged_in(Role.CLERK, shop)

    response = client.get(hold_url(shop, shop.mega))

    page = html(response)
    assert response.status_code == 200
    assert "Hold GRL-10M-M at MEGA Alma-Ata" in page
    assert re.search(r'data-testid="available-there"><b>3</b>', page)
    expiry = response.context["form"]["expires_at"].value()  # naive, in the shop's time as the input shows it
    assert dt.timedelta(hours=47) < expiry - clock.local_now().replace(tzinfo=None) <= dt.timedelta(hours=48)


def test_holding_for_a_new_phone_makes_the_card_and_sets_the_units_aside(shop: Shop) -> None:
    client = logged_in(Role.CLERK, shop)
    back = f"{reverse('console:stock')}?q=GRL-10M-M"

    response = client.post(
        reverse("console:stock_hold_new"),
        hold_form(shop, shop.mega, phone="8 701 123 45 67", name="Айгерим Сейткали", note="After 18:00", next=back),
    )

    assert response.status_code == 302
    assert response["Location"] == back
    hold = Reservation.objects.get()
    assert (hold.owner_kind, hold.quantity, hold.location, hold.note) == ("hold", 1, shop.mega, "After 18:00")
    assert hold.customer.first_name == "Айгерим"
    assert hold.customer.identities.get().value == PHONE
    assert dt.timedelta(hours=47) < hold.expires_at - clock.now() <= dt.timedelta(hours=48)
    assert level(shop.m, shop.mega) == (3, 1, 0)
    page = html(client.get(back))
    assert "Held 1 × GRL-10M-M at MEGA Alma-Ata for Айгерим Сейткали." in page
    assert available_in(variant_block(page, "GRL-10M-M"), "mega") == 2


def test_holding_for_a_picked_card_uses_that_card(shop: Shop) -> None:
    customer = customers_actions.check_create_customer(
        actor=None, identities=[("phone", PHONE)], first_name="Ольга", last_name="Ким"
    )
    client = logged_in(Role.CLERK, shop)

    picker = html(client.get(reverse("console:stock_customer_choices"), {"customer_q": "+7 (701) 123-45-67"}, **HTMX))
    response = client.post(
        reverse("console:stock_hold_new"), hold_form(shop, shop.warehouse, customer=customer.pk, quantity=4)
    )

    assert f'name="customer" value="{customer.pk}" checked' in picker
    assert response.status_code == 302
    assert response["Location"] == reverse("console:stock_holds")
    assert Reservation.objects.get().customer == customer
    assert level(shop.m, shop.warehouse) == (10, 4, 0)


def test_holding_more_than_is_available_is_a_form_error_and_changes_nothing(shop: Shop) -> None:
    client = logged_in(Role.CLERK, shop)
    cards = Customer.objects.count()

    response = client.post(reverse("console:stock_hold_new"), hold_form(shop, shop.mega, quantity=4, phone=PHONE))

    assert response.status_code == 422
    assert "Not enough available at this location. Nothing was changed." in html(response)
    assert not Reservation.objects.exists()
    assert Customer.objects.count() == cards  # the card for the phone is not kept either
    assert level(shop.m, shop.mega) == (3, 0, 0)


def test_a_refused_hold_keeps_the_picked_card_and_a_foreign_next_is_ignored(shop: Shop) -> None:
    customer = customers_actions.check_create_customer(actor=None, identities=[("phone", PHONE)], first_name="Ольга")
    client = logged_in(Role.CLERK, shop)

    refused = client.post(
        reverse("console:stock_hold_new"), hold_form(shop, shop.mega, customer=customer.pk, quantity=9)
    )
    made = client.post(
        reverse("console:stock_hold_new"),
        hold_form(shop, shop.mega, customer=customer.pk, next="https://evil.example/stock/"),
    )

    assert refused.status_code == 422
    assert f'name="customer" value="{customer.pk}" checked' in html(refused)
    assert made["Location"] == reverse("console:stock_holds")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "Choose a customer card or give the customer&#x27;s phone."),
        ({"phone": "12"}, "This is not a valid phone number."),
        ({"phone": PHONE, "quantity": 0}, "Ensure this value is greater than or equal to 1."),
        ({"phone": PHONE, "expires_at": "2001-01-01T10:00"}, "A hold expires in the future."),
    ],
)
def test_a_hold_needs_a_customer_a_quantity_and_a_future_expiry(shop: Shop, data: dict[str, Any], error: str) -> None:
    client = logged_in(Role.CLERK, shop)

    response = client.post(reverse("console:stock_hold_new"), hold_form(shop, shop.mega, **data))

    assert response.status_code == 422
    assert error in html(response)
    assert not Reservation.objects.exists()


def test_holds_are_listed_per_location_and_released_or_sold(shop: Shop) -> None:
    customer = customers_actions.check_create_customer(actor=None, identities=[("phone", PHONE)], first_name="Ольга")
    sold = actions.check_reserve(actor=None, variant=shop.m, location=shop.mega, quantity=2, customer=customer)
    released = actions.check_reserve(actor=None, variant=shop.m, location=shop.warehouse, quantity=3)
    client = logged_in(Role.CLERK, shop)

    page = html(client.get(reverse("console:stock_holds")))
    assert page.count('data-testid="holds-at"') == 2
    assert "Ольга" in page
    client.post(reverse("console:stock_hold_consume", args=[sold.pk]))
    client.post(reverse("console:stock_hold_release", args=[released.pk]))

    assert level(shop.m, shop.mega) == (1, 0, 0)
    assert level(shop.m, shop.warehouse) == (10, 0, 0)
    assert 'data-testid="hold-row"' not in html(client.get(reverse("console:stock_holds")))
    closed = html(client.get(reverse("console:stock_holds"), {"status": "closed"}))
    assert "Sold or shipped" in closed
    assert "Released" in closed
    again = client.post(reverse("console:stock_hold_consume", args=[sold.pk]), follow=True)
    assert "already done or cancelled" in html(again)


def test_the_holds_list_filters_by_location(shop: Shop) -> None:
    actions.check_reserve(actor=None, variant=shop.m, location=shop.mega, quantity=1)
    actions.check_reserve(actor=None, variant=shop.m, location=shop.warehouse, quantity=1)
    client = logged_in(Role.OPERATOR)

    page = html(client.get(reverse("console:stock_holds"), {"location": shop.mega.pk}))

    assert 'data-location="mega"' in page
    assert 'data-location="wh-ast"' not in page
    assert 'data-testid="hold-release"' not in page  # operators only look


def test_only_holds_are_listed_not_order_or_transfer_reservations(shop: Shop) -> None:
    actions.check_reserve(actor=None, variant=shop.m, location=shop.mega, quantity=1, owner_kind="order_line")
    client = logged_in(Role.MANAGER)

    page = html(client.get(reverse("console:stock_holds")))

    assert 'data-testid="hold-row"' not in page
    order_line = Reservation.objects.get()
    assert client.post(reverse("console:stock_hold_release", args=[order_line.pk])).status_code == 404


# --- transfers ------------------------------------------------------------------------------------


def test_a_clerk_requests_a_transfer_to_the_own_store_ships_and_receives_it(shop: Shop) -> None:
    client = logged_in(Role.CLERK, shop)

    form = client.get(
        reverse("console:stock_transfer_new"), {"variant": shop.m.pk, "source": shop.warehouse.pk}
    ).context["form"]
    assert form["lines"].value() == "GRL-10M-M 1"
    assert form["destination"].value() == shop.dostyk.pk
    response = client.post(
        reverse("console:stock_transfer_new"),
        {"source": shop.warehouse.pk, "destination": shop.dostyk.pk, "lines": "GRL-10M-M 2\n4870001234567",
         "expected_on": "2031-03-05", "note": "for Ольга"},
    )  # fmt: skip

    assert response.status_code == 302
    transfer = Transfer.objects.get()
    assert [(line.variant, line.quantity) for line in transfer.lines.all()] == [(shop.m, 3)]
    assert level(shop.m, shop.warehouse) == (10, 3, 0)
    listed = html(client.get(reverse("console:stock_transfers")))
    assert "Склад Астана → <b>Dostyk Plaza</b>" in listed
    assert 'data-testid="transfer-ship"' in listed

    client.post(reverse("console:stock_transfer_ship", args=[transfer.pk]))
    assert level(shop.m, shop.dostyk) == (0, 0, 3)
    block = variant_block(search(client, "GRL-10M-M"), "GRL-10M-M")
    assert re.search(r'data-testid="in-transit">3<', place_row(block, "dostyk"))
    assert "In transit" in html(client.get(reverse("console:stock_transfers")))

    client.post(reverse("console:stock_transfer_receive", args=[transfer.pk]))
    assert level(shop.m, shop.dostyk) == (3, 0, 0)
    assert level(shop.m, shop.warehouse) == (7, 0, 0)
    assert 'data-testid="transfer-row"' not in html(client.get(reverse("console:stock_transfers")))
    assert "Received" in html(client.get(reverse("console:stock_transfers"), {"status": "received"}))


def test_cancelling_a_requested_transfer_frees_the_units(shop: Shop) -> None:
    transfer = actions.check_request_transfer(
        actor=None, source=shop.mega, destination=shop.dostyk, lines=[Line(shop.m, 2)]
    )
    client = logged_in(Role.MANAGER)

    client.post(reverse("console:stock_transfer_cancel", args=[transfer.pk]))
    again = client.post(reverse("console:stock_transfer_receive", args=[transfer.pk]), follow=True)

    assert level(shop.m, shop.mega) == (3, 0, 0)
    assert "already done or cancelled" in html(again)


@pytest.mark.parametrize(
    ("lines", "destination", "error"),
    [
        ("GRL-10M-M 4", "dostyk", "Line 1: Not enough available at this location. Nothing was changed."),
        ("NOPE-1 2", "dostyk", "Line 1: no SKU or barcode “NOPE-1”."),
        ("GRL-10M-M two", "dostyk", "Line 1: the quantity is a whole number above zero."),
        ("GRL-10M-M 1", "mega", "A transfer goes between two different locations."),
        ("", "dostyk", "This field is required."),
    ],
)
def test_a_transfer_that_cannot_be_made_is_a_form_error_and_changes_nothing(
    shop: Shop, lines: str, destination: str, error: str
) -> None:
    client = logged_in(Role.CLERK, shop)
    to = {"dostyk": shop.dostyk, "mega": shop.mega}[destination]

    response = client.post(
        reverse("console:stock_transfer_new"), {"source": shop.mega.pk, "destination": to.pk, "lines": lines}
    )

    assert response.status_code == 422
    assert error in html(response)
    assert not Transfer.objects.exists()
    assert level(shop.m, shop.mega) == (3, 0, 0)


# --- receipts and supplies ------------------------------------------------------------------------


def test_a_receipt_of_scanned_barcodes_and_typed_skus_puts_units_on_hand(shop: Shop) -> None:
    client = logged_in(Role.CLERK, shop)

    assert client.get(reverse("console:stock_receipt_new")).context["form"]["location"].value() == shop.dostyk.pk
    response = client.post(
        reverse("console:stock_receipt_new"),
        {"location": shop.dostyk.pk, "lines": "4870001234567\n4870001234567\ngrl-10m-l x 5\n", "reference": "ТН-77"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("console:stock_location", args=[shop.dostyk.pk])
    assert level(shop.m, shop.dostyk) == (2, 0, 0)
    assert level(shop.l, shop.dostyk) == (7, 0, 0)
    assert set(StockMove.objects.filter(reference="ТН-77").values_list("quantity", flat=True)) == {2, 5}


def test_a_receipt_with_an_unknown_code_names_the_line_and_changes_nothing(shop: Shop) -> None:
    client = logged_in(Role.MANAGER)

    response = client.post(
        reverse("console:stock_receipt_new"), {"location": shop.mega.pk, "lines": "GRL-10M-M 2\n999999"}
    )

    assert response.status_code == 422
    assert "Line 2: no SKU or barcode “999999”." in html(response)
    assert level(shop.m, shop.mega) == (3, 0, 0)


def test_an_expected_supply_is_the_next_arrival_until_it_is_received(shop: Shop) -> None:
    client = logged_in(Role.MANAGER)

    response = client.post(
        reverse("console:stock_supply_new"),
        {"location": shop.dostyk.pk, "expected_on": "2031-03-05", "supplier": "Luma", "lines": "GRL-10M-M 6"},
    )

    assert response.status_code == 302
    supply = Supply.objects.get()
    listed = html(client.get(reverse("console:stock_supplies")))
    assert 'data-testid="supply-row"' in listed
    assert "Luma" in listed
    block = variant_block(search(logged_in(Role.CLERK, shop), "GRL-10M-M"), "GRL-10M-M")
    assert "Expected here on 03/05/2031: 6." in block
    client.post(reverse("console:stock_supply_receive", args=[supply.pk]))
    assert level(shop.m, shop.dostyk) == (6, 0, 0)
    assert 'data-testid="supply-row"' not in html(client.get(reverse("console:stock_supplies")))
    assert "GRL-10M-M" in html(client.get(reverse("console:stock_supplies"), {"status": "received"}))


def test_a_supply_needs_a_date_and_can_be_cancelled(shop: Shop) -> None:
    client = logged_in(Role.MANAGER)

    refused = client.post(reverse("console:stock_supply_new"), {"location": shop.dostyk.pk, "lines": "GRL-10M-M 6"})
    supply = actions.check_create_supply(
        actor=None, location=shop.dostyk, expected_on=dt.date(2031, 3, 5), lines=[Line(shop.m, 1)]
    )
    client.post(reverse("console:stock_supply_cancel", args=[supply.pk]))

    assert refused.status_code == 422
    assert "This field is required." in html(refused)
    supply.refresh_from_db()
    assert supply.status == Supply.Status.CANCELLED


# --- corrections ----------------------------------------------------------------------------------


def test_a_manager_corrects_to_the_counted_quantity_with_a_reason(shop: Shop) -> None:
    client = logged_in(Role.MANAGER)
    url = f"{reverse('console:stock_correction_new')}?variant={shop.m.pk}&location={shop.mega.pk}"

    shown = client.get(url)
    response = client.post(
        url, {"code": "GRL-10M-M", "location": shop.mega.pk, "counted": 1, "reason": "recount", "next": "/stock/"}
    )

    assert re.search(r'data-testid="on-hand">3<', html(shown))
    assert response.status_code == 302
    assert response["Location"] == "/stock/"
    assert level(shop.m, shop.mega) == (1, 0, 0)
    move = StockMove.objects.get(kind="correction")
    assert (move.quantity, move.reason) == (-2, "recount")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"counted": 1}, "This field is required."),  # no reason
        ({"counted": 1, "delta": 2, "reason": "x"}, "Give either the counted quantity or the change."),
        ({"reason": "x"}, "Give either the counted quantity or the change."),
        ({"counted": 0, "reason": "broken"}, "On hand cannot drop below what is reserved"),
        ({"code": "NOPE", "delta": 1, "reason": "x"}, "No variant has this SKU or barcode."),
    ],
)
def test_a_correction_refused_changes_nothing(shop: Shop, data: dict[str, Any], error: str) -> None:
    actions.check_reserve(actor=None, variant=shop.m, location=shop.mega, quantity=1)
    client = logged_in(Role.OWNER)

    response = client.post(
        reverse("console:stock_correction_new"), {"code": "GRL-10M-M", "location": shop.mega.pk, **data}
    )

    assert response.status_code == 422
    assert error in html(response)
    assert level(shop.m, shop.mega) == (3, 1, 0)


@pytest.mark.parametrize("role", [Role.CLERK, Role.OPERATOR])
def test_only_managers_and_owners_see_or_use_corrections(shop: Shop, role: str) -> None:
    client = logged_in(role, shop)

    shown = client.get(reverse("console:stock_correction_new"))
    posted = client.post(
        reverse("console:stock_correction_new"),
        {"code": "GRL-10M-M", "location": shop.mega.pk, "counted": 0, "reason": "x"},
    )

    assert shown.status_code == posted.status_code == 403
    assert level(shop.m, shop.mega) == (3, 0, 0)
    assert reverse("console:stock_correction_new") not in html(
        client.get(reverse("console:stock_location", args=[shop.mega.pk]))
    )
    assert reverse("console:stock_correction_new") not in search(client, "GRL-10M-M")


# --- locations ------------------------------------------------------------------------------------


def test_a_location_list_flags_low_stock_and_filters_to_low_only(shop: Shop) -> None:
    receive(shop.mega, shop.l, 8)
    StockLevel.objects.filter(variant=shop.m, location=shop.mega).update(low_stock_threshold=5)
    StockLevel.objects.filter(variant=shop.l, location=shop.mega).update(low_stock_threshold=5)
    client = logged_in(Role.CLERK, shop)

    everything = html(client.get(reverse("console:stock_location", args=[shop.mega.pk])))
    low = html(client.get(reverse("console:stock_location", args=[shop.mega.pk]), {"low": "on"}, **HTMX))

    assert everything.count('data-testid="level-row"') == 2
    m_row = everything[everything.index('data-sku="GRL-10M-M"') :]
    assert 'data-testid="low"' in m_row[: m_row.index("</tr>")]
    assert low.count('data-testid="level-row"') == 1
    assert 'data-sku="GRL-10M-M"' in low
    assert "<html" not in low
    summary = html(client.get(reverse("console:stock_locations")))
    assert "1 low" in summary


def test_the_locations_page_puts_the_clerks_store_first(shop: Shop) -> None:
    client = logged_in(Role.CLERK, shop)

    page = html(client.get(reverse("console:stock_locations")))

    codes = re.findall(r'data-location="([^"]+)"', page)
    assert codes[0] == "dostyk"
    assert set(codes) == {"dostyk", "mega", "wh-ast"}


# --- the product page -----------------------------------------------------------------------------


def test_the_product_page_in_the_users_language_with_images_barcodes_and_stock(shop: Shop) -> None:
    ChannelPrice.objects.create(variant=shop.m, channel="kaspi", price=Decimal("13490"))
    client = logged_in(Role.OPERATOR)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "kk"

    page = html(client.get(reverse("console:stock_product", args=[shop.product.pk])))

    assert "Жылы «Жіп» шамы" in page
    assert "Жылы ақ жарық." in page
    assert "https://img.example/garland.jpg" in page
    assert "4870001234567" in page
    assert page.count('data-testid="variant"') == 2
    assert format_money(Decimal("13490"), "KZT", locale="kk") in page


def test_a_customer_asks_to_be_told_when_a_variant_is_back(shop: Shop) -> None:
    client = logged_in(Role.OPERATOR)
    url = reverse("console:stock_product", args=[shop.product.pk])

    form = client_for(shop.clerk).get(url).context["notify_form"]
    response = client.post(
        reverse("console:stock_product_notify", args=[shop.product.pk]),
        {"variant": shop.m.pk, "location": shop.dostyk.pk, "phone": PHONE, "name": "Ольга"},
    )

    assert form["variant"].value() == shop.m.pk  # out at the clerk's store, so it is offered first
    assert response.status_code == 302
    assert response["Location"] == url
    request = StockSubscription.objects.get()
    assert (request.variant, request.location, request.customer.first_name) == (shop.m, shop.dostyk, "Ольга")
    assert TimelineEntry.objects.filter(customer=request.customer, kind="stock_request").exists()


def test_a_back_in_stock_request_needs_a_customer(shop: Shop) -> None:
    client = logged_in(Role.CLERK, shop)

    response = client.post(reverse("console:stock_product_notify", args=[shop.product.pk]), {"variant": shop.m.pk})

    assert response.status_code == 422
    assert not StockSubscription.objects.exists()


def test_an_unknown_product_variant_or_location_is_not_found(shop: Shop) -> None:
    client = logged_in(Role.MANAGER)

    assert client.get(reverse("console:stock_product", args=[999999])).status_code == 404
    assert client.get(f"{reverse('console:stock_hold_new')}?variant=999999&location={shop.mega.pk}").status_code == 404
    assert client.get(f"{reverse('console:stock_hold_new')}?variant={shop.m.pk}&location=x").status_code == 404
    assert client.get(reverse("console:stock_location", args=[999999])).status_code == 404


# --- who may do what ------------------------------------------------------------------------------

LOOKING = [
    ("stock", {}),
    ("stock_holds", {}),
    ("stock_transfers", {}),
    ("stock_supplies", {}),
    ("stock_locations", {}),
]
CHANGING = ["stock_transfer_new", "stock_receipt_new", "stock_supply_new"]


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.OPERATOR, Role.CLERK])
def test_every_role_with_stock_looks_only_clerks_managers_and_owners_change(shop: Shop, role: str) -> None:
    client = logged_in(role, shop)
    changes = role != Role.OPERATOR

    looked = {name: client.get(reverse(f"console:{name}"), params).status_code for name, params in LOOKING}
    looked["product"] = client.get(reverse("console:stock_product", args=[shop.product.pk])).status_code
    looked["location"] = client.get(reverse("console:stock_location", args=[shop.mega.pk])).status_code
    opened = {name: client.get(reverse(f"console:{name}")).status_code for name in CHANGING}
    opened["hold"] = client.get(hold_url(shop, shop.mega)).status_code
    opened["correction"] = client.get(reverse("console:stock_correction_new")).status_code

    assert set(looked.values()) == {200}
    expected = dict.fromkeys([*CHANGING, "hold"], 200 if changes else 403)
    expected["correction"] = 200 if role in (Role.OWNER, Role.MANAGER) else 403
    assert opened == expected
    tabs = html(client.get(reverse("console:stock_supplies")))
    assert ('data-testid="new-receipt"' in tabs) == changes


def test_an_operator_cannot_change_stock_by_posting_directly(shop: Shop) -> None:
    hold = actions.check_reserve(actor=None, variant=shop.m, location=shop.mega, quantity=1)
    transfer = actions.check_request_transfer(
        actor=None, source=shop.warehouse, destination=shop.mega, lines=[Line(shop.m, 1)]
    )
    supply = actions.check_create_supply(
        actor=None, location=shop.mega, expected_on=dt.date(2031, 1, 1), lines=[Line(shop.m, 1)]
    )
    client = logged_in(Role.OPERATOR)

    posts = [
        client.post(reverse("console:stock_hold_new"), hold_form(shop, shop.mega, phone=PHONE)),
        client.post(reverse("console:stock_hold_release", args=[hold.pk])),
        client.post(reverse("console:stock_hold_consume", args=[hold.pk])),
        client.post(reverse("console:stock_transfer_ship", args=[transfer.pk])),
        client.post(reverse("console:stock_transfer_cancel", args=[transfer.pk])),
        client.post(reverse("console:stock_receipt_new"), {"location": shop.mega.pk, "lines": "GRL-10M-M 5"}),
        client.post(reverse("console:stock_supply_receive", args=[supply.pk])),
    ]

    assert {p.status_code for p in posts} == {403}
    assert level(shop.m, shop.mega) == (3, 1, 0)
    assert level(shop.m, shop.warehouse) == (10, 1, 0)
    assert Reservation.objects.filter(status="active").count() == 2


def test_anonymous_visitors_are_sent_to_log_in() -> None:
    response = Client().get(reverse("console:stock_holds"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_the_stock_section_stays_highlighted_on_every_stock_page(shop: Shop) -> None:
    client = logged_in(Role.CLERK, shop)

    page = html(client.get(reverse("console:stock_holds")))

    assert re.search(r'data-section="stock"\s+class="nav-item active"', page)
