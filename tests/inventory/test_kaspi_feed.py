"""The Kaspi.kz XML feed (channels.md §8.6): its structure, per pick-up point stock, the price, the
secret URL, and a rebuild after stock changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.test import Client

from omnia.catalog.models import ChannelPrice
from omnia.core import schedule
from omnia.inventory import actions, feeds
from omnia.inventory.actions import Line
from omnia.inventory.models import Feed, Location
from tests.factories import make_location, make_variant

pytestmark = pytest.mark.django_db

NS = {"k": "kaspiShopping"}
NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def feed(time_machine: Any) -> Feed:
    time_machine.move_to(NOW, tick=False)
    return feeds.check_create_feed(actor=None, kind="kaspi", name="Kaspi", company="ТОО Омния", merchant_id="30012345")


@pytest.fixture
def points() -> tuple[Location, Location]:
    return make_location(code="mega", kaspi_point_id="PP1"), make_location(code="khan", kaspi_point_id="PP2")


def parse(content: str | bytes) -> ET.Element:
    root = ET.fromstring(content.encode() if isinstance(content, str) else content)  # noqa: S314 - our own output
    assert root.tag == "{kaspiShopping}kaspi_catalog"
    assert root.get("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation") == feeds.KASPI_SCHEMA_LOCATION
    assert [child.tag.split("}")[1] for child in root] == ["company", "merchantid", "offers"]
    for offer in root.find("k:offers", NS) or []:
        assert [child.tag.split("}")[1] for child in offer] == ["model", "brand", "availabilities", "price"]
        assert offer.get("sku")
        for availability in offer.find("k:availabilities", NS) or []:
            assert availability.get("available") in ("yes", "no")
            assert availability.get("storeId")
            assert (availability.get("stockCount") is not None) == (availability.get("available") == "yes")
        assert (offer.findtext("k:price", namespaces=NS) or "").isdigit()
    return root


def test_each_variant_is_an_offer_with_stock_per_pickup_point(feed: Feed, points: tuple[Location, Location]) -> None:
    mega, _ = points
    variant = make_variant(sku="GIR-10", price="4990.50")
    actions.do_receive(actor=None, location=mega, lines=[Line(variant, 5)])
    actions.check_reserve(actor=None, variant=variant, location=mega, quantity=2)
    make_location(code="no-kaspi")  # a store Kaspi does not know: not in the feed

    root = parse(feeds.do_build(feed).content)

    assert root.get("date") == "2025-03-01 14:00"  # Almaty time
    assert (root.findtext("k:company", namespaces=NS), root.findtext("k:merchantid", namespaces=NS)) == (
        "ТОО Омния",
        "30012345",
    )
    (offer,) = root.find("k:offers", NS) or []
    assert offer.get("sku") == "GIR-10"
    assert [a.attrib for a in offer.find("k:availabilities", NS) or []] == [
        {"available": "yes", "storeId": "PP1", "stockCount": "3"},
        {"available": "no", "storeId": "PP2"},
    ]
    assert offer.findtext("k:price", namespaces=NS) == "4991"


def test_a_price_set_for_kaspi_wins_over_the_one_price(feed: Feed, points: Any) -> None:
    variant = make_variant(sku="GIR-20", price="4990")
    ChannelPrice.objects.create(variant=variant, channel="kaspi", price=Decimal("5290"))

    root = parse(feeds.do_build(feed).content)

    assert root.findtext("k:offers/k:offer/k:price", namespaces=NS) == "5290"


def test_the_feed_is_served_at_its_secret_url_only(client: Client, feed: Feed, points: Any) -> None:
    make_variant(sku="GIR-30")

    response = client.get(f"/feeds/kaspi/{feed.token}.xml")
    wrong = client.get("/feeds/kaspi/guessed-token.xml")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert parse(response.content).find("k:offers/k:offer", NS) is not None
    assert wrong.status_code == 404


def test_a_stock_change_makes_the_feed_stale_and_the_periodic_job_rebuilds_it(
    feed: Feed, points: tuple[Location, Location], django_capture_on_commit_callbacks: Any
) -> None:
    variant = make_variant(sku="GIR-40")
    feeds.do_build(feed)
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_receive(actor=None, location=points[1], lines=[Line(variant, 7)])

    feed.refresh_from_db()
    assert feed.stale_since is not None
    assert "build_stale_feeds" in " ".join(schedule.PERIODIC)
    assert feeds.do_build_stale() == 1

    feed.refresh_from_db()
    assert feed.stale_since is None
    assert 'stockCount="7"' in feed.content
    assert feeds.do_build_stale() == 0
