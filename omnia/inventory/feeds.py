"""Marketplace feeds: the Kaspi.kz XML price and stock feed (channels.md §8.6).

One <offer> per active variant: its SKU, title, brand, one <availability> per location that has a Kaspi
pick-up point id (available="yes" with stockCount = on hand − reserved, else "no"), and the price —
a price set for Kaspi explicitly, else the one price of every channel (the promotional one while it runs).
Stock changes mark the feeds stale and a task rebuilds them; the view serves the last build.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from xml.etree import ElementTree as ET

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from omnia.catalog.models import ChannelPrice, Variant
from omnia.core import clock
from omnia.core.audit import do_record_audit
from omnia.core.errors import ValidationFailed
from omnia.inventory.models import Feed, Location, StockLevel

KASPI_NAMESPACE = "kaspiShopping"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
KASPI_SCHEMA_LOCATION = "kaspiShopping http://kaspi.kz/kaspishopping.xsd"
KASPI_PRICE_CHANNEL = "kaspi"


def new_token() -> str:
    return secrets.token_urlsafe(24)


@transaction.atomic
def check_create_feed(*, actor: Any, kind: str, name: str, company: str, merchant_id: str) -> Feed:
    if kind not in Feed.Kind.values:
        raise ValidationFailed(f"Unknown marketplace {kind!r}.", field="kind", code="FEED_KIND_INVALID")
    for field, value in (("name", name), ("company", company), ("merchant_id", merchant_id)):
        if not (value or "").strip():
            raise ValidationFailed("Required.", field=field)
    feed = Feed.objects.create(
        kind=kind,
        name=name.strip()[:100],
        company=company.strip()[:200],
        merchant_id=merchant_id.strip()[:60],
        token=new_token(),
        created_at=clock.now(),
        stale_since=clock.now(),
    )
    do_record_audit(actor=actor, action="feed.create", target=feed, changes={"kind": kind, "name": feed.name})
    return feed


@transaction.atomic
def do_rotate_token(*, actor: Any, feed: Feed) -> Feed:
    """A new secret URL; the old one stops working at once (give the new one to the marketplace)."""
    feed.token = new_token()
    feed.save(update_fields=["token"])
    do_record_audit(actor=actor, action="feed.rotate_token", target=feed)
    return feed


def do_mark_stale(*, at: dt.datetime | None = None) -> int:
    """Stock or prices changed: every active feed needs a rebuild (the first change since the last build counts)."""
    return Feed.objects.filter(is_active=True, stale_since__isnull=True).update(stale_since=at or clock.now())


def _money(amount: Decimal) -> str:
    """Kaspi prices are whole tenge."""
    return str(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def build_kaspi_xml(feed: Feed, *, at: dt.datetime | None = None) -> bytes:
    at = at or clock.now()
    ET.register_namespace("", KASPI_NAMESPACE)
    ET.register_namespace("xsi", XSI)
    ns = f"{{{KASPI_NAMESPACE}}}"
    root = ET.Element(
        f"{ns}kaspi_catalog",
        {"date": timezone.localtime(at).strftime("%Y-%m-%d %H:%M"), f"{{{XSI}}}schemaLocation": KASPI_SCHEMA_LOCATION},
    )
    ET.SubElement(root, f"{ns}company").text = feed.company
    ET.SubElement(root, f"{ns}merchantid").text = feed.merchant_id
    offers = ET.SubElement(root, f"{ns}offers")
    points = list(Location.objects.filter(is_active=True).exclude(kaspi_point_id="").order_by("kaspi_point_id"))
    point_ids = [p.pk for p in points]
    variants = (
        Variant.objects.filter(is_active=True, product__is_active=True)
        .select_related("product")
        .prefetch_related(
            Prefetch("channel_prices", queryset=ChannelPrice.objects.filter(channel=KASPI_PRICE_CHANNEL)),
        )
        .order_by("sku")
    )
    stock = {
        (row["variant_id"], row["location_id"]): row["on_hand"] - row["reserved"]
        for row in StockLevel.objects.filter(location_id__in=point_ids).values(
            "variant_id", "location_id", "on_hand", "reserved"
        )
    }
    for variant in variants.iterator(chunk_size=500):
        offer = ET.SubElement(offers, f"{ns}offer", {"sku": variant.sku})
        title = f"{variant.product.name} {variant.name}".strip()
        ET.SubElement(offer, f"{ns}model").text = title[:1024]
        ET.SubElement(offer, f"{ns}brand").text = variant.product.brand or ""
        availabilities = ET.SubElement(offer, f"{ns}availabilities")
        for point in points:
            available = max(stock.get((variant.pk, point.pk), 0), 0)
            attributes = {"available": "yes" if available > 0 else "no", "storeId": point.kaspi_point_id}
            if available > 0:
                attributes["stockCount"] = str(available)
            ET.SubElement(availabilities, f"{ns}availability", attributes)
        explicit = next(iter(variant.channel_prices.all()), None)
        price = explicit.price if explicit is not None else variant.price_at(at)
        ET.SubElement(offer, f"{ns}price").text = _money(price)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def do_build(feed: Feed) -> Feed:
    """Rebuild one feed now; changes arriving during the build leave it stale for the next run."""
    started = clock.now()
    content = build_kaspi_xml(feed, at=started).decode()
    Feed.objects.filter(pk=feed.pk).update(content=content, built_at=started)
    Feed.objects.filter(pk=feed.pk, stale_since__lte=started).update(stale_since=None)
    feed.refresh_from_db()
    return feed


def do_build_stale() -> int:
    """Rebuild every active feed that is stale (or never built). Returns how many."""
    built = 0
    for feed in Feed.objects.filter(is_active=True).exclude(stale_since__isnull=True, built_at__isnull=False):
        do_build(feed)
        built += 1
    return built


def feed_by_token(token: str) -> Feed | None:
    return Feed.objects.filter(token=token, is_active=True).first()
