"""The Shipments pages: the list with its filters (carrier, status, location, late), the shipment page with its
lines, printable label and tracking history, creating the parcel, setting its tracking number and moving it
(only allowed moves, refusals shown on the form), and the order page's parcel line."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from omnia.core.permissions import Role
from omnia.fulfillment.models import Parcel
from omnia.orders.models import Order, Shipment
from tests.factories import make_user
from tests.fulfillment.test_parcels import Shop, create, make_carrier, move

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Shop:
    return Shop()


def login(role: str = Role.OPERATOR) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the assertions read the English texts
    return client


def text(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def test_the_list_shows_each_shipment_with_its_parcel_and_filters(shop: Shop) -> None:
    cdek = make_carrier("cdek", name="CDEK", tracking_url="https://cdek.example/track?n={tracking_number}")
    kazpost = make_carrier("kazpost", name="Kazpost")
    late = create(shop, shop.order(), cdek, tracking_number="1106207236", estimated_on=dt.date(2020, 1, 2))
    other = create(shop, shop.order(), kazpost, tracking_number="KZ-55")
    waiting = shop.order()
    client = english(login())

    page = client.get(reverse("console:shipments"))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="https://cdek.example/track?n=1106207236"' in html
    assert html.count('data-testid="late"') == 1
    body = text(page.content)
    assert late.shipment.order.number in body
    assert "Айгерим" in body
    assert "No parcel yet" in body
    assert waiting.number in body
    nav = re.search(r'<nav class="nav".*?</nav>', html, re.S)
    assert nav is not None
    assert "Shipments" in nav.group(0)

    by_carrier = client.get(reverse("console:shipments"), {"carrier": "kazpost"}).content.decode()
    assert "KZ-55" in by_carrier
    assert "1106207236" not in by_carrier
    only_late = client.get(reverse("console:shipments"), {"late": "on"}).content.decode()
    assert "1106207236" in only_late
    assert "KZ-55" not in only_late
    searched = client.get(reverse("console:shipments"), {"q": "KZ-55"}).content.decode()
    assert f'data-shipment="{other.shipment_id}"' in searched
    assert searched.count("data-shipment=") == 1
    none_yet = client.get(reverse("console:shipments"), {"status": "none"}).content.decode()
    assert none_yet.count("data-shipment=") == 1


def test_create_a_parcel_set_its_number_and_move_it_from_the_shipment_page(shop: Shop) -> None:
    make_carrier("cdek", name="CDEK")
    order = shop.order()
    shipment = Shipment.objects.get(order=order)
    client = english(login())
    url = reverse("console:shipments_detail", args=[shipment.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert 'data-testid="parcel-form"' in page.content.decode()
    assert "Айгерим Садыкова" in text(page.content)  # the label preview, from the order

    created = client.post(
        reverse("console:shipments_parcel_create", args=[shipment.pk]), {"carrier": "cdek", "weight_grams": "1200"}
    )
    assert created.status_code == 302
    parcel = Parcel.objects.get(shipment=shipment)
    assert parcel.weight_grams == 1200

    saved = client.post(
        reverse("console:shipments_parcel_update", args=[shipment.pk]),
        {"tracking_number": "1106207236", "estimated_on": "2026-11-25", "weight_grams": "1200"},
    )
    assert saved.status_code == 302
    parcel.refresh_from_db()
    assert (parcel.tracking_number, parcel.estimated_on) == ("1106207236", dt.date(2026, 11, 25))

    html = client.get(url).content.decode()
    moves = re.findall(r'data-parcel-move="([a-z_]+)"', html)
    assert moves == ["handed_over"]  # only what the machine allows

    moved = client.post(
        reverse("console:shipments_parcel_move", args=[shipment.pk]), {"to": "handed_over", "description": "courier"}
    )
    assert moved.status_code == 302
    parcel.refresh_from_db()
    order.refresh_from_db()
    assert parcel.status == "handed_over"
    assert order.status == "shipped"
    page = client.get(url)
    history = text(page.content)
    assert "Handed to the carrier" in history
    assert "courier" in history
    assert re.findall(r'data-parcel-move="([a-z_]+)"', page.content.decode()) == ["in_transit", "delivered", "failed"]


def test_refusals_are_shown_on_the_form_and_change_nothing(shop: Shop) -> None:
    cdek = make_carrier("cdek", name="CDEK")
    taken = create(shop, shop.order(), cdek, tracking_number="CD-1")
    unconfirmed = shop.order(confirm=False)
    parcel = create(shop, unconfirmed, cdek)
    shipment = parcel.shipment
    client = english(login())

    same_number = client.post(
        reverse("console:shipments_parcel_update", args=[shipment.pk]), {"tracking_number": "CD-1"}
    )
    assert same_number.status_code == 422
    assert "Another parcel of this carrier has this tracking number." in text(same_number.content)

    not_allowed = client.post(reverse("console:shipments_parcel_move", args=[shipment.pk]), {"to": "delivered"})
    assert not_allowed.status_code == 422
    assert "The parcel cannot move there from its current status." in text(not_allowed.content)

    not_confirmed = client.post(reverse("console:shipments_parcel_move", args=[shipment.pk]), {"to": "handed_over"})
    assert not_confirmed.status_code == 422
    assert f"Confirm order {unconfirmed.number}" in text(not_confirmed.content)

    no_carrier = client.post(reverse("console:shipments_parcel_create", args=[taken.shipment_id]), {"carrier": "cdek"})
    assert no_carrier.status_code == 422  # it has a parcel already
    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == ("created", "")
    assert Order.objects.get(pk=unconfirmed.pk).status == "new"


def test_the_order_page_shows_each_shipments_parcel(shop: Shop) -> None:
    cdek = make_carrier("cdek", name="CDEK")
    order = shop.order()
    parcel = create(shop, order, cdek, tracking_number="1106207236")
    move(parcel, "handed_over")
    client = english(login())

    page = client.get(reverse("console:order_detail", args=[order.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    block = re.search(r'data-testid="order-parcels".*?</section>', html, re.S)
    assert block is not None
    assert "CDEK · 1106207236" in text(block.group(0).encode())
    assert "Handed to the carrier" in block.group(0)
    assert reverse("console:shipments_detail", args=[parcel.shipment_id]) in block.group(0)


def test_the_tracking_history_marks_events_that_were_not_applied_and_rejections_are_listed(shop: Shop) -> None:
    from omnia.fulfillment import actions_parcels
    from omnia.fulfillment.tracking.base import TrackingUpdate

    carrier = make_carrier("cdek", name="CDEK", tracking="cdek")
    parcel = create(shop, shop.order(), carrier, tracking_number="1106207236")
    move(parcel, "handed_over")
    at = parcel.created_at - dt.timedelta(days=1)
    actions_parcels.do_apply_tracking(
        carrier=carrier,
        updates=[
            TrackingUpdate("1106207236", "created", "CREATED", "old news", "Астана", at, "e-1"),
            TrackingUpdate("404", "delivered", "DELIVERED", "", "", at, "e-2"),
        ],
    )

    page = english(login()).get(reverse("console:shipments_detail", args=[parcel.shipment_id]))
    assert "not applied" in text(page.content)
    assert "old news" in text(page.content)

    with translation.override("en"):
        owner = english(login(Role.OWNER))
        listed = owner.get(reverse("console:shipments_rejections"))
    assert listed.status_code == 200
    assert "Unknown tracking number" in text(listed.content)
    assert login(Role.OPERATOR).get(reverse("console:shipments_rejections")).status_code == 403


def test_the_pages_need_the_orders_section(shop: Shop) -> None:
    client = Client()
    assert client.get(reverse("console:shipments")).status_code == 302  # to the login page
    assert login(Role.CLERK).get(reverse("console:shipments")).status_code == 200


def test_the_parcel_form_starts_from_the_delivery_the_customer_chose(shop: Shop) -> None:
    from decimal import Decimal

    from omnia.fulfillment.models import DeliveryChoice

    cdek = make_carrier("cdek", name="CDEK")
    make_carrier("kazpost", name="Kazpost")
    order = shop.order()
    DeliveryChoice.objects.create(
        order=order, kind="pickup_point", carrier=cdek, city="Астана", price=Decimal(1100), currency="KZT",
        pickup_point={"code": "AST12", "name": "CDEK Мангилик Ел"}, ready_on=dt.date(2026, 11, 21),
        estimated_from=dt.date(2026, 11, 23), estimated_to=dt.date(2026, 11, 25), chosen_at=parcel_time(),
    )  # fmt: skip

    page = english(login()).get(reverse("console:shipments_detail", args=[Shipment.objects.get(order=order).pk]))

    html = page.content.decode()
    assert re.search(r'<option value="cdek" selected>', html)
    assert 'value="2026-11-25"' in html
    assert "CDEK Мангилик Ел" in text(page.content)


def parcel_time() -> dt.datetime:
    return dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
