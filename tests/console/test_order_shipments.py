"""The order page of a split order: a Shipments block with each location's part (its lines, its status and
the moves it allows), the header saying "partially shipped (1 of 2)", and each part moved by its own button
through the shipment action — a refused move is a message and changes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from omnia.core.permissions import Role
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location, StockLevel
from omnia.orders import actions
from omnia.orders.models import Order, Shipment
from tests.factories import make_location, make_user, make_variant

pytestmark = pytest.mark.django_db


class Split:
    def __init__(self) -> None:
        self.almaty = make_location(
            code="wh-ala", name="Almaty-1", kind=Location.Kind.WAREHOUSE, city="Алматы", ships=True, sells=False
        )
        self.astana = make_location(
            code="wh-ast", name="Astana-1", kind=Location.Kind.WAREHOUSE, city="Астана", ships=True, sells=False
        )
        self.garland = make_variant(sku="GIR-10", price="4990")
        self.lamp = make_variant(sku="LAMP-1", price="1500")
        inventory_actions.do_receive(actor=None, location=self.almaty, lines=[Line(self.garland, 5)])
        inventory_actions.do_receive(actor=None, location=self.astana, lines=[Line(self.lamp, 4)])
        order = actions.check_place_order(
            actor=None,
            customer=actions.CustomerIn(phone="+7 701 555 12 34", name="Айгерим"),
            source="web",
            lines=[actions.LineIn(self.garland, 2), actions.LineIn(self.lamp, 1)],
            fulfillment=actions.FulfillmentIn(type="delivery", address={"city": "Астана", "line1": "Мангилик Ел, 1"}),
        ).order
        self.order = actions.check_transition(actor=None, order=order, to="confirmed")

    def part(self, location: Location) -> Shipment:
        return Shipment.objects.get(order=self.order, location=location)

    def level(self, location: Location) -> tuple[int, int]:
        row = StockLevel.objects.get(location=location)
        return row.on_hand, row.reserved


@pytest.fixture
def shop() -> Split:
    return Split()


def login(role: str = Role.OPERATOR) -> Client:
    client = Client()
    client.force_login(make_user(role))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the assertions read the English texts
    return client


def part_html(html: str, code: str) -> str:
    match = re.search(rf'<li class="order-shipment"[^>]*data-location="{code}".*?</li>', html, re.S)
    assert match, f"no part from {code}"
    return match.group(0)


def buttons(html: str) -> list[str]:
    return re.findall(r'data-shipment-move="(\w+)"', html)


def test_the_page_lists_each_locations_part_with_its_lines_status_and_allowed_buttons(shop: Split) -> None:
    client = login()

    html = client.get(reverse("console:order_detail", args=[shop.order.pk])).content.decode()

    assert 'data-testid="order-shipments"' in html
    almaty, astana = part_html(html, "wh-ala"), part_html(html, "wh-ast")
    assert "Almaty-1" in almaty
    assert "GIR-10 × 2" in almaty
    assert "LAMP-1" not in almaty
    assert "Astana-1" in astana
    assert "LAMP-1 × 1" in astana
    assert ">Pending<" in almaty
    assert buttons(almaty) == ["picking"]
    assert 'data-testid="order-fulfilment"' not in html


def test_a_button_moves_one_part_and_the_header_shows_partially_shipped(shop: Split) -> None:
    client = login()
    almaty = shop.part(shop.almaty)
    url = reverse("console:order_shipment_move", args=[shop.order.pk, almaty.pk])

    assert client.post(url, {"to": "picking"}).status_code == 302
    page = client.get(reverse("console:order_detail", args=[shop.order.pk])).content.decode()
    assert buttons(part_html(page, "wh-ala")) == ["ready", "shipped"]
    response = client.post(url, {"to": "shipped"}, follow=True)

    html = response.content.decode()
    assert "The part from Almaty-1 is now Shipped." in html
    assert re.search(r'data-testid="order-fulfilment">partially shipped \(1 of 2\)<', html)
    assert re.search(r'data-testid="order-status">Picking<', html)
    assert buttons(part_html(html, "wh-ala")) == ["delivered"]
    assert buttons(part_html(html, "wh-ast")) == ["picking"]
    assert 'data-testid="cancel-order"' not in html  # a part has left: a return, not a cancellation
    assert shop.level(shop.almaty) == (3, 0)
    assert shop.level(shop.astana) == (4, 1)
    assert "Almaty-1: Picking → <strong>Shipped</strong>" in html  # the part's move in the history


def test_a_refused_move_is_a_message_and_changes_nothing(shop: Split) -> None:
    client = login()
    astana = shop.part(shop.astana)

    response = client.post(
        reverse("console:order_shipment_move", args=[shop.order.pk, astana.pk]), {"to": "shipped"}, follow=True
    )

    assert "The part from Astana-1 cannot move there from its current status." in response.content.decode()
    astana.refresh_from_db()
    shop.order.refresh_from_db()
    assert (astana.status, shop.order.status, shop.level(shop.astana)) == ("pending", "confirmed", (4, 1))


def test_the_order_level_move_takes_its_parts_and_cancelling_releases_them(shop: Split) -> None:
    client = login()

    response = client.post(
        reverse("console:order_transition", args=[shop.order.pk]), {"to": "cancelled", "reason": "changed her mind"}
    )

    assert response.status_code == 302
    assert set(Shipment.objects.filter(order=shop.order).values_list("status", flat=True)) == {"cancelled"}
    assert (shop.level(shop.almaty), shop.level(shop.astana)) == ((5, 0), (4, 0))
    html = client.get(reverse("console:order_detail", args=[shop.order.pk])).content.decode()
    assert buttons(html) == []


def test_an_unknown_part_is_404_and_a_single_location_order_shows_no_block(shop: Split) -> None:
    client = login()
    other: Any = make_location(code="mega", name="MEGA", offers_pickup=True)
    inventory_actions.do_receive(actor=None, location=other, lines=[Line(shop.lamp, 2)])
    single = actions.check_place_order(
        actor=None,
        customer=actions.CustomerIn(phone="+7 702 000 00 01"),
        source="store",
        lines=[actions.LineIn(shop.lamp, 1)],
        fulfillment=actions.FulfillmentIn(type="pickup", location=other),
    ).order
    assert Order.objects.get(pk=single.pk).shipments.count() == 1

    html = client.get(reverse("console:order_detail", args=[single.pk])).content.decode()
    missing = client.post(reverse("console:order_shipment_move", args=[single.pk, 999999]), {"to": "picking"})

    assert 'data-testid="order-shipments"' not in html
    assert missing.status_code == 404
