"""The demo shop: reproducible for a seed, and shaped like a real omnichannel home-goods retailer."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
import time_machine
from django.db.models import Count, F, Max, Q, Sum

from omnia.catalog.models import Category, Product, Variant
from omnia.channels.models import Channel, InboundEvent
from omnia.conversations.models import Conversation, ConversationEvent, Message
from omnia.core.text import name_search_keys, name_tokens
from omnia.customers import queries as customers_queries
from omnia.customers.actions.timeline import CONTACT_KINDS
from omnia.customers.models import (
    Address,
    Consent,
    Customer,
    Identity,
    SearchToken,
    Tag,
    TimelineEntry,
)
from omnia.demo import data as demo_data
from omnia.demo.generator import DUPLICATE_SHARE, build_demo, load_demo
from omnia.fulfillment.models import Carrier, DeliverySettings, TrackingRejection, Zone
from omnia.inventory import availability
from omnia.inventory import queries as inventory_queries
from omnia.inventory.models import (
    Feed,
    Location,
    Reservation,
    StockLevel,
    StockMove,
    Supply,
    Transfer,
    TransferLine,
)
from omnia.notifications.models import Notification
from omnia.notifications.models import Settings as NotificationSettings
from omnia.notifications.models import Template as NotificationTemplate
from omnia.orders.models import KaspiAccount, KaspiOrder, Order, OrderLine, Payment, Return, StatusChange

ALMATY = ZoneInfo("Asia/Almaty")
FROZEN = dt.datetime(2025, 6, 15, 15, 30, tzinfo=ALMATY)
SEED = 1


def fingerprint() -> dict[str, list[tuple[Any, ...]]]:
    """Everything a user would notice, without database ids."""

    def rows(qs: Any, *fields: str) -> list[tuple[Any, ...]]:
        return sorted(qs.values_list(*fields), key=repr)

    return {
        "locations": rows(Location.objects, "code", "name", "kind", "city", "address", "phone"),
        "customers": rows(
            Customer.objects,
            "first_name",
            "last_name",
            "city",
            "language",
            "created_at",
            "created_source",
            "loyalty_card",
            "updated_at",
            "preferred_channel",
            "do_not_call",
            "quiet_hours_start",
            "orders_count",
            "lifetime_value",
            "last_order_at",
            "last_contact_at",
        ),
        "identities": rows(
            Identity.objects,
            "customer__first_name",
            "customer__last_name",
            "customer__created_at",
            "kind",
            "value",
            "raw_value",
            "display_name",
            "channel",
        ),
        "tags": rows(Customer.tags.through.objects, "customer__last_name", "customer__created_at", "tag__name"),
        "search_tokens": rows(SearchToken.objects, "customer__last_name", "customer__created_at", "token"),
        "addresses": rows(Address.objects, "customer__created_at", "label", "city", "line", "apartment", "is_default"),
        "consents": rows(
            Consent.objects, "customer__created_at", "channel", "purpose", "granted", "at", "source", "method"
        ),
        "timeline": sorted(
            (
                (*row[:-1], {k: v for k, v in row[-1].items() if k != "conversation_id"})  # a database id
                for row in TimelineEntry.objects.values_list(
                    "customer__last_name",
                    "customer__created_at",
                    "at",
                    "kind",
                    "channel",
                    "summary",
                    "ref_type",
                    "data",
                )
            ),
            key=repr,
        ),
        "channels": sorted(
            (
                c.provider,
                c.name,
                c.key,
                sorted(c.credentials.items()),
                sorted(c.config.items()),
                c.team,
                c.first_response_minutes,
                c.created_at,
            )
            for c in Channel.objects.all()
        ),
        "conversations": rows(
            Conversation.objects,
            "channel__key",
            "customer__last_name",
            "customer__created_at",
            "status",
            "priority",
            "labels",
            "created_at",
            "last_message_at",
            "waiting_since",
            "first_response_at",
            "resolved_at",
            "unread_count",
            "external_thread_id",
        ),
        "messages": rows(
            Message.objects,
            "channel__key",
            "conversation__created_at",
            "direction",
            "status",
            "text",
            "provider_message_id",
            "reply_to",
            "created_at",
            "sent_at",
        ),
        "variants": rows(
            Variant.objects,
            "sku",
            "barcode",
            "price",
            "name",
            "product__name",
            "product__brand",
            "product__category__slug",
        ),
        "stock": rows(StockLevel.objects, "variant__sku", "location__code", "on_hand", "reserved"),
        "orders": rows(
            Order.objects,
            "number",
            "total",
            "placed_at",
            "source",
            "status",
            "location__code",
            "customer__first_name",
            "customer__last_name",
            "customer__created_at",
        ),
        "lines": rows(
            OrderLine.objects, "order__number", "variant__sku", "quantity", "unit_price", "discount", "location__code"
        ),
    }


def flush_demo() -> None:
    """Delete the demo shop in foreign-key order, leaving an empty shop database."""
    Return.objects.all().delete()  # with their lines
    KaspiAccount.objects.all().delete()  # with its orders' records
    Reservation.objects.all().delete()
    Notification.objects.all().delete()  # with their tries (which hold channels)
    NotificationTemplate.objects.all().delete()
    NotificationSettings.objects.all().delete()
    Message.objects.all().delete()
    Conversation.objects.all().delete()
    InboundEvent.objects.all().delete()
    Channel.objects.all().delete()
    OrderLine.objects.all().delete()
    Order.objects.all().delete()  # with their shipments, parcels and delivery choices
    TrackingRejection.objects.all().delete()
    Zone.objects.all().delete()  # with their tariffs
    Carrier.objects.all().delete()
    DeliverySettings.objects.all().delete()
    Customer.objects.all().delete()  # with their identities, tokens, tags, addresses, consents, timeline
    Tag.objects.all().delete()
    Feed.objects.all().delete()
    TransferLine.objects.all().delete()
    Transfer.objects.all().delete()
    Supply.objects.all().delete()  # with its lines
    Reservation.objects.all().delete()
    StockMove.objects.all().delete()
    StockLevel.objects.all().delete()
    Variant.objects.all().delete()
    Product.objects.all().delete()
    Category.objects.exclude(parent=None).delete()
    Category.objects.all().delete()
    Location.objects.all().delete()


def load_frozen(seed: int) -> None:
    with time_machine.travel(FROZEN, tick=False):
        load_demo(size="small", seed=seed)


@pytest.fixture(scope="module")
def demo_shop(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """The small shop for seed 1, loaded once for the module; yields its fingerprint."""
    with django_db_blocker.unblock():
        load_frozen(SEED)
        loaded = fingerprint()
    yield loaded
    with django_db_blocker.unblock():
        flush_demo()


@pytest.mark.django_db
def test_same_seed_and_date_give_the_same_shop(demo_shop: dict[str, list[tuple[Any, ...]]]) -> None:
    # given the shop loaded for seed 1 (fixture), when the database is emptied and loaded again
    flush_demo()
    assert not Order.objects.exists()
    load_frozen(SEED)

    # then every name, phone, SKU, price, stock figure, order and line is the same
    again = fingerprint()
    for table, rows in demo_shop.items():
        assert rows, table
        assert again[table] == rows, f"{table} differs between two loads with the same seed"


def plan_fingerprint(seed: int) -> dict[str, list[Any]]:
    plan = build_demo(size="small", seed=seed, now=FROZEN)
    return {
        "customers": [(c["first_name"], c["last_name"], c["created_at"]) for c in plan.customers],
        "identities": [(i["kind"], i["value"]) for i in plan.identities],
        "variants": [(v["sku"], v["price"]) for v in plan.variants],
        "stock": plan.stock,
        "orders": [(o["number"], o["total"], o["placed_at"], o["customer"]) for o in plan.orders],
        "timeline": [(e["customer"], e["at"], e["kind"], e["summary"]) for e in plan.timeline],
        "consents": [(c["customer"], c["at"], c["channel"], c["granted"]) for c in plan.consents],
        "duplicates": plan.duplicates,
        "channels": [(c["key"], sorted(c["credentials"].items()), sorted(c["config"].items())) for c in plan.channels],
        "conversations": [(c["customer"], c["channel"], c["created_at"], c["status"]) for c in plan.conversations],
        "messages": [(m["text"], m["provider_message_id"], m["status"]) for m in plan.messages],
    }


def test_a_different_seed_gives_a_different_shop() -> None:
    first, same, other = plan_fingerprint(SEED), plan_fingerprint(SEED), plan_fingerprint(SEED + 1)

    assert same == first
    for table in first:
        assert other[table] != first[table], f"{table} did not change with the seed"


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="medium"):
        build_demo(size="medium", seed=SEED, now=FROZEN)


@pytest.mark.django_db
def test_the_shop_has_stores_a_warehouse_and_realistic_volumes(demo_shop: Any) -> None:
    stores = Location.objects.filter(kind=Location.Kind.STORE)
    assert {"Алматы", "Астана"} <= set(stores.values_list("city", flat=True))
    first_store = stores.order_by("id").first()
    assert first_store is not None
    assert first_store.city == "Алматы"  # the demo clerk works there
    assert all(store.sells for store in stores)
    assert all(store.offers_pickup for store in stores)
    assert {store.opening_hours for store in stores} == {"10:00–22:00"}
    warehouse = Location.objects.get(kind=Location.Kind.WAREHOUSE)
    assert warehouse.ships
    assert not warehouse.sells
    assert warehouse.city == "Алматы"

    assert 270 <= Product.objects.count() <= 330
    assert 900 <= Variant.objects.count() <= 1100
    assert Customer.objects.count() == 2000 + round(2000 * DUPLICATE_SHARE)  # people, then second cards
    assert 13_000 <= Order.objects.count() <= 17_000
    assert Category.objects.filter(parent=None).count() >= 5
    assert not Category.objects.exclude(parent=None).filter(products=None).exists()


@pytest.mark.django_db
def test_catalog_has_valid_barcodes_and_shop_prices(demo_shop: Any) -> None:
    for barcode, price, currency in Variant.objects.values_list("barcode", "price", "currency"):
        assert re.fullmatch(r"\d{13}", barcode)
        digits = [int(d) for d in barcode]
        assert sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:12])) % 10 == (10 - digits[12]) % 10
        assert price > 0
        assert price % 10 == 0
        assert currency == "KZT"
    assert Variant.objects.filter(sku__regex=r"^GRL-\d{4}-").exists()


@pytest.mark.django_db
def test_every_customer_is_reachable_by_a_valid_kazakh_mobile(demo_shop: Any) -> None:
    phones = list(Identity.objects.filter(kind=Identity.Kind.PHONE).values_list("customer_id", "value"))
    without_phone = Customer.objects.exclude(pk__in=[customer for customer, _ in phones])
    # Only the second cards made from a WhatsApp chat or typed with an e-mail lack a phone.
    assert without_phone.count() == round(2000 * DUPLICATE_SHARE) * 4 // 5
    assert not without_phone.exclude(identities__kind__in=["whatsapp", "email"]).exists()
    for _, value in phones:
        assert re.fullmatch(r"\+77\d{9}", value)
        number = phonenumbers.parse(value, None)
        assert phonenumbers.is_valid_number(number)
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    kinds = Counter(Identity.objects.values_list("kind", flat=True))
    assert {"email", "telegram", "whatsapp", "instagram"} <= set(kinds)
    for value in Identity.objects.filter(kind=Identity.Kind.EMAIL).values_list("value", flat=True):
        assert value == value.lower()
        assert "@" in value
    # A WhatsApp handle is the E.164 number (as normalize_identity stores it): the card's own phone, or,
    # on a second card, the phone of the person's first card.
    phone_owner = dict(Identity.objects.filter(kind="phone").values_list("value", "customer_id"))
    whatsapp = list(
        Identity.objects.filter(kind=Identity.Kind.WHATSAPP).values_list("customer_id", "value", "raw_value")
    )
    assert whatsapp
    for _, value, raw in whatsapp:
        assert raw == value.removeprefix("+")
        assert value in phone_owner
    assert sum(phone_owner[value] != customer_id for customer_id, value, _ in whatsapp) == 16


@pytest.mark.django_db
def test_stock_matches_the_ledger_and_differs_between_stores(demo_shop: Any) -> None:
    assert StockMove.objects.filter(reason="Demo opening stock", kind="receipt").count() > 1000
    assert inventory_queries.list_stock_drift() == []
    assert StockLevel.objects.filter(on_hand=0).exists()

    in_stock_at: dict[int, set[int]] = defaultdict(set)
    out_of_stock_at: dict[int, set[int]] = defaultdict(set)
    for variant, location, on_hand in StockLevel.objects.filter(location__kind="store").values_list(
        "variant_id", "location_id", "on_hand"
    ):
        (in_stock_at if on_hand > 0 else out_of_stock_at)[variant].add(location)
    elsewhere = [v for v in out_of_stock_at if in_stock_at[v]]
    assert len(elsewhere) > 100  # "this size is in the other store"


@pytest.mark.django_db
def test_order_history_has_weekends_december_and_recent_open_orders(demo_shop: Any) -> None:
    orders = list(Order.objects.values_list("placed_at", "total", "status", "source", "customer_id"))
    local = [
        (placed.astimezone(ALMATY), total, status, source, customer)
        for placed, total, status, source, customer in orders
    ]

    # Every order is in the past 18 months, within opening hours.
    assert all(FROZEN - dt.timedelta(days=550) < placed <= FROZEN for placed, *_ in local)
    assert all(10 <= placed.hour < 22 for placed, *_ in local)

    # Weekends are busier than weekdays (per calendar day).
    per_day = Counter(placed.date() for placed, *_ in local)
    first_day = min(per_day)
    days = [first_day + dt.timedelta(days=i) for i in range((FROZEN.date() - first_day).days)]
    weekend = [per_day[d] for d in days if d.weekday() >= 5]
    weekdays = [per_day[d] for d in days if d.weekday() < 5]
    assert sum(weekend) / len(weekend) > 1.2 * sum(weekdays) / len(weekdays)

    # December sells more than an average full month.
    revenue: defaultdict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for placed, total, status, *_ in local:
        if status != Order.Status.CANCELLED:
            revenue[(placed.year, placed.month)] += total
    full_months = [m for m in revenue if m not in ((first_day.year, first_day.month), (FROZEN.year, FROZEN.month))]
    average = sum((revenue[m] for m in full_months), Decimal(0)) / len(full_months)
    assert revenue[(2024, 12)] > Decimal("1.5") * average

    # Garlands take a far bigger share of December sales than of summer sales.
    def garland_share(months: tuple[int, ...]) -> float:
        lines = OrderLine.objects.filter(order__placed_at__month__in=months)
        garlands = lines.filter(variant__product__category__parent__slug="girlyandy")
        return garlands.aggregate(n=Sum("quantity"))["n"] / lines.aggregate(n=Sum("quantity"))["n"]

    assert garland_share((12,)) > 2 * garland_share((6, 7, 8))

    # Old orders are settled; the last days still have open ones.
    open_statuses = {"new", "confirmed", "ready", "shipped"}
    week_ago = FROZEN - dt.timedelta(days=7)
    assert not [s for placed, _, s, *_ in local if placed < week_ago and s in open_statuses]
    recent = Counter(s for placed, _, s, *_ in local if placed > FROZEN - dt.timedelta(days=3))
    assert recent["new"] > 0
    assert recent["confirmed"] > 0

    # Many channels, store sales partly anonymous, most orders tied to a customer.
    sources = Counter(source for *_, source, _ in local)
    assert {"store", "web", "instagram", "whatsapp", "telegram", "phone", "kaspi"} <= set(sources)
    assert sources.most_common(1)[0][0] == "store"
    assert any(customer is None for *_, source, customer in local if source == "store")
    assert sum(customer is not None for *_, customer in local) > 0.8 * len(local)


@pytest.mark.django_db
def test_order_totals_are_the_sum_of_their_lines(demo_shop: Any) -> None:
    line_sums: defaultdict[int, Decimal] = defaultdict(Decimal)
    line_counts: Counter[int] = Counter()
    for order_id, quantity, unit_price, discount in OrderLine.objects.values_list(
        "order_id", "quantity", "unit_price", "discount"
    ):
        line_sums[order_id] += unit_price * quantity - discount
        line_counts[order_id] += 1
    prices = dict(Variant.objects.values_list("id", "price"))
    lines = OrderLine.objects.values_list("variant_id", "unit_price")
    assert all(unit_price == prices[variant] for variant, unit_price in lines)
    totals = dict(Order.objects.values_list("id", "total"))
    assert totals == {order_id: line_sums[order_id] for order_id in totals}
    assert set(line_counts.values()) <= {1, 2, 3, 4}
    numbers = list(Order.objects.values_list("number", flat=True))
    assert all(re.fullmatch(r"A-\d{6,}", n) for n in numbers)


@pytest.mark.django_db
def test_card_counters_match_the_orders_and_the_timeline(demo_shop: Any) -> None:
    # orders_count: every order not cancelled; lifetime_value: neither cancelled nor returned;
    # last_order_at: the latest counted one
    expected = Customer.objects.annotate(
        n=Count("orders", filter=~Q(orders__status=Order.Status.CANCELLED)),
        value=Sum(
            "orders__total",
            filter=~Q(orders__status__in=[Order.Status.CANCELLED, Order.Status.RETURNED]),
        ),
        last=Max("orders__placed_at", filter=~Q(orders__status=Order.Status.CANCELLED)),
    ).values_list("n", "value", "last", "orders_count", "lifetime_value", "last_order_at")
    for n, value, last, orders_count, lifetime_value, last_order_at in expected:
        assert (orders_count, lifetime_value, last_order_at) == (n, value or Decimal(0), last)
    assert Customer.objects.filter(orders_count__gt=0).count() > 1500
    assert Order.objects.filter(status=Order.Status.CANCELLED).exclude(customer=None).count() > 100
    assert Order.objects.filter(status=Order.Status.RETURNED).exclude(customer=None).exists()

    contacts = dict(
        Customer.objects.annotate(last=Max("timeline__at", filter=Q(timeline__kind__in=CONTACT_KINDS))).values_list(
            "pk", "last"
        )
    )
    assert dict(Customer.objects.values_list("pk", "last_contact_at")) == contacts
    assert sum(last is not None for last in contacts.values()) > 0.9 * len(contacts)


@pytest.mark.django_db
def test_every_order_of_a_customer_is_on_their_timeline(demo_shop: Any) -> None:
    orders = {str(pk): row for pk, *row in Order.objects.exclude(customer=None).values_list(
        "pk", "customer_id", "number", "total", "currency", "source", "placed_at"
    )}  # fmt: skip
    entries = TimelineEntry.objects.filter(kind="order").values_list(
        "ref_type", "ref_id", "customer_id", "summary", "data", "channel", "at"
    )
    assert len(entries) == len(orders)
    for ref_type, ref_id, customer, summary, data, channel, at in entries:
        assert ref_type == "orders.order"
        owner, number, total, currency, source, placed = orders[ref_id]
        assert (customer, channel, at) == (owner, source, placed)
        assert summary == f"{number}: {int(total):,} {currency}".replace(",", " ")
        assert data == {"number": number, "total": str(total), "currency": currency}
    assert re.fullmatch(r"A-\d{6}: [\d ]+ KZT", entries[0][3])


@pytest.mark.django_db
def test_the_timeline_is_newest_first_with_orders_and_other_contacts(demo_shop: Any) -> None:
    kinds = Counter(TimelineEntry.objects.values_list("kind", flat=True))
    assert {"order", "return", "consultation", "call", "visit", "note", "consent"} <= set(kinds)
    extra = kinds["consultation"] + kinds["call"] + kinds["visit"] + kinds["note"]
    assert 0.5 * Customer.objects.count() <= extra <= 1.2 * Customer.objects.count()
    consultation = TimelineEntry.objects.filter(kind="consultation").values_list("channel", "summary")
    assert {channel for channel, _ in consultation} == {"instagram", "whatsapp", "telegram", "phone"}
    assert any(" — есть в " in summary for _, summary in consultation)
    assert set(TimelineEntry.objects.filter(kind="visit").values_list("ref_type", flat=True)) == {"inventory.location"}

    regular = Customer.objects.order_by("-orders_count", "pk").first()
    assert regular is not None
    entries = list(customers_queries.timeline(regular))
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    assert sum(e.kind == "order" for e in entries) >= regular.orders_count
    newest_order = Order.objects.filter(customer=regular).order_by("-placed_at").first()
    assert newest_order is not None
    assert next(e for e in entries if e.kind == "order").ref_id == str(newest_order.pk)


@pytest.mark.django_db
def test_every_customer_is_found_by_name(demo_shop: Any) -> None:
    tokens: defaultdict[int, set[str]] = defaultdict(set)
    for customer, token in SearchToken.objects.values_list("customer_id", "token"):
        tokens[customer].add(token)
    for pk, first, last in Customer.objects.values_list("pk", "first_name", "last_name"):
        assert tokens[pk] == set(name_search_keys(first, last)), pk  # as the customers actions write them
        assert tokens[pk]

    for customer in Customer.objects.exclude(last_name="").order_by("pk")[::97]:
        assert customer in customers_queries.search_customers(customer.last_name)
        latin = name_tokens(customer.last_name)[-1]
        assert customer in customers_queries.search_customers(f"{latin} {customer.first_name[:3]}")
        assert customer in customers_queries.search_customers(f"{customer.first_name[:4]} {customer.last_name[:3]}")


def planted_pairs() -> list[tuple[int, int, str]]:
    """The second cards of the plan as database ids (rows are inserted in plan order)."""
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    plan = build_demo(size="small", seed=SEED, now=FROZEN)
    return [(ids[first], ids[second], how) for first, second, how in plan.duplicates]


@pytest.mark.django_db
def test_second_cards_of_one_person_are_suggested_as_duplicates(demo_shop: Any) -> None:
    planted = planted_pairs()
    assert Counter(how for *_, how in planted) == {"whatsapp": 16, "email": 16, "phone": 8}
    for first, second, how in planted:
        card = Customer.objects.get(pk=second)
        kinds = set(card.identities.values_list("kind", flat=True))
        if how == "whatsapp":
            phone = Identity.objects.get(customer_id=first, kind="phone").value
            assert card.identities.get(kind="whatsapp").value == phone
            assert kinds == {"whatsapp"}
        elif how == "email":
            assert kinds == {"email"}
        else:
            assert "phone" in kinds
        if how != "whatsapp":
            original = Customer.objects.get(pk=first)
            assert (card.first_name, card.last_name, card.city) == (
                original.first_name,
                original.last_name,
                original.city,
            )
    assert Order.objects.filter(customer_id__in=[second for _, second, _ in planted]).count() >= 10

    assert len(customers_queries.suggested_duplicates()) >= 20
    suggested = {(s.first.pk, s.second.pk): s.reason for s in customers_queries.suggested_duplicates(limit=1000)}
    for first, second, how in planted:
        reason = suggested[(min(first, second), max(first, second))]
        assert reason.startswith("same phone" if how == "whatsapp" else "same name"), (how, reason)


@pytest.mark.django_db
def test_consents_preferences_addresses_and_tags(demo_shop: Any) -> None:
    customers = Customer.objects.count()
    signup = Consent.objects.filter(channel="any", purpose="transactional", granted=True)
    assert 0.6 * customers < signup.count() < 0.8 * customers
    assert {"verbal", "checkbox"} <= set(signup.values_list("method", flat=True))
    assert signup.filter(source="store:alm-dostyk").exists()
    assert signup.filter(source="web checkout").exists()
    marketing = Consent.objects.filter(purpose="marketing")
    assert set(marketing.filter(granted=True).values_list("channel", flat=True)) == {"whatsapp", "email"}
    withdrawn = marketing.filter(granted=False)
    assert set(withdrawn.values_list("method", flat=True)) == {"STOP reply", "unsubscribe link"}
    stopped = withdrawn.filter(method="STOP reply").first()
    assert stopped is not None
    assert not customers_queries.may_contact(stopped.customer, channel="whatsapp", purpose="marketing")
    consents = {
        str(pk): {"purpose": purpose, "channel": channel, "granted": granted, "method": method}
        for pk, purpose, channel, granted, method in Consent.objects.values_list(
            "pk", "purpose", "channel", "granted", "method"
        )
    }
    described = {
        ref_id: data for ref_id, data in TimelineEntry.objects.filter(kind="consent").values_list("ref_id", "data")
    }
    assert described == consents  # one entry per consent, described as check_record_consent describes it

    preferred = Counter(Customer.objects.exclude(preferred_channel="").values_list("preferred_channel", flat=True))
    assert preferred.most_common(1)[0][0] == "whatsapp"
    assert Customer.objects.filter(do_not_call=True).exists()
    quiet = Customer.objects.exclude(quiet_hours_start=None)
    assert quiet.exists()
    assert set(quiet.values_list("quiet_hours_start", "quiet_hours_end")) == {(dt.time(22), dt.time(9))}

    delivered = set(
        Order.objects.filter(fulfillment="delivery").exclude(customer=None).values_list("customer_id", flat=True)
    )
    with_address = Address.objects.values("customer_id").annotate(
        n=Count("id"), defaults=Count("id", filter=Q(is_default=True))
    )
    assert {row["customer_id"] for row in with_address} == delivered
    assert {(row["n"], row["defaults"]) for row in with_address} == {(1, 1), (2, 1)}
    assert not Address.objects.exclude(city__in=[city for city, *_ in demo_data.CITIES]).exists()

    assert set(Tag.objects.values_list("name", flat=True)) >= {"vip", "опт"}
    vip = customers_queries.list_customers(filters=customers_queries.CustomerFilters(tag="vip"))
    assert 10 <= vip.count() < 0.05 * customers


# --- Inbox ----------------------------------------------------------------------------------------

PROVIDERS = {"webchat", "email", "telegram", "whatsapp", "instagram"}
MESSAGE_IDS = {
    "telegram": r"\d+:\d+",
    "whatsapp": r"wamid\.HBgL[A-Za-z0-9+/=]+",
    "instagram": r"m_[A-Za-z0-9_-]{86}",
    "email": r"<[0-9a-f]{24}@[a-z0-9.-]+>",
    "webchat": r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
}


@pytest.mark.django_db
def test_the_shop_has_one_channel_of_each_kind_with_well_formed_secrets(demo_shop: Any) -> None:
    channels = {c.provider: c for c in Channel.objects.all()}
    assert set(channels) == PROVIDERS | {"sms"}  # SMS carries no demo conversations: notifications use it
    assert Channel.objects.count() == len(PROVIDERS) + 1
    for provider, channel in channels.items():
        assert re.fullmatch(r"[a-z]+-[0-9a-f]{10}", channel.key)
        assert channel.is_active
        assert channel.config["demo"] is True
        assert channel.first_response_minutes == (60 if provider == "email" else 1)
        assert channel.created_at < FROZEN - dt.timedelta(days=548)
    assert channels["webchat"].name == "Чат на сайте"
    assert channels["email"].name == "shop@demo.omnia.kz"
    assert channels["email"].config["imap_host"] == channels["email"].config["smtp_host"] == "127.0.0.1"
    telegram = channels["telegram"].credentials
    assert channels["telegram"].name == "@omnia_demo_bot"
    assert re.fullmatch(r"\d{10}:AA[A-Za-z0-9_-]{33}", telegram["bot_token"])
    assert re.fullmatch(r"[0-9a-f]{32}", telegram["secret_token"])
    for provider in ("whatsapp", "instagram"):
        credentials = channels[provider].credentials
        assert set(credentials) == {"access_token", "app_secret", "verify_token"}
        assert re.fullmatch(r"[0-9a-f]{32}", credentials["app_secret"])
        assert credentials["verify_token"]
    whatsapp = channels["whatsapp"].config
    assert re.fullmatch(r"\d{15}", whatsapp["phone_number_id"])
    assert re.fullmatch(r"\d{15}", whatsapp["waba_id"])
    assert whatsapp["display_phone_number"].startswith("+7 727 ")
    assert re.fullmatch(r"1784\d{13}", channels["instagram"].config["ig_user_id"])


@pytest.mark.django_db
def test_conversations_are_with_customers_who_have_a_handle_in_that_channel(demo_shop: Any) -> None:
    conversations = list(Conversation.objects.select_related("channel", "customer"))
    assert 280 <= len(conversations) <= 300
    assert {c.channel.provider for c in conversations} == PROVIDERS
    handles: defaultdict[int, dict[str, str]] = defaultdict(dict)
    for customer, kind, value, raw in Identity.objects.values_list("customer_id", "kind", "value", "raw_value"):
        handles[customer][kind] = raw if kind == "whatsapp" else value
    for conversation in conversations:
        provider = conversation.channel.provider
        assert provider in handles[conversation.customer_id], conversation  # a webchat visitor id included
        if provider != "instagram":  # Instagram replies to a page-scoped id, not to the public handle
            assert conversation.external_thread_id == handles[conversation.customer_id][provider]
        assert conversation.created_at > conversation.customer.created_at
        assert conversation.team == conversation.channel.team == "Контакт-центр"

    # Spread over the 18 months, busier in December.
    started = [c.created_at.astimezone(ALMATY) for c in conversations]
    assert min(started) < FROZEN - dt.timedelta(days=450)
    assert max(started) <= FROZEN
    december = sum(s.month == 12 for s in started)
    assert december > 1.5 * len(started) / 12


@pytest.mark.django_db
def test_messages_read_like_real_chats_with_provider_ids(demo_shop: Any) -> None:
    messages = list(Message.objects.select_related("channel", "conversation").order_by("created_at", "id"))
    by_conversation: defaultdict[int, list[Message]] = defaultdict(list)
    for message in messages:
        by_conversation[message.conversation_id].append(message)
        assert re.fullmatch(MESSAGE_IDS[message.channel.provider], message.provider_message_id), message
        assert message.channel_id == message.conversation.channel_id
        assert message.text.strip()
        assert message.created_at <= FROZEN
        if message.direction == "in":
            assert message.status == "received"
            assert message.reply_to == ""
        else:
            expected = {"sent"} if message.channel.provider in ("telegram", "email") else {"read", "delivered"}
            assert message.status in expected
            assert message.reply_to == message.conversation.external_thread_id
            assert message.author is None  # the demo users are created after the shop (see runner)
    assert len({(m.channel_id, m.provider_message_id) for m in messages}) == len(messages)
    for thread in by_conversation.values():
        assert 2 <= len(thread) <= 8
        assert thread[0].direction == "in"
        if thread[0].conversation.status == "resolved":  # customer and operator take turns
            assert [m.direction for m in thread] == ["in", "out"] * (len(thread) // 2) + ["in"] * (len(thread) % 2)

    texts = [m.text for m in messages]
    russian = sum("Здравствуйте" in t or "Добрый день" in t for t in texts)
    kazakh = sum("Сәлеметсіз бе" in t for t in texts)
    english = sum(t.startswith(("Hi", "Hello")) for t in texts)
    assert russian > kazakh > 0
    assert russian > english > 0
    assert any(re.search(r"A-\d{6}", t) for t in texts)  # an order number the customer really has
    assert any("Kaspi Red" in t for t in texts)
    assert any("₸" in t for t in texts)
    labels = Counter(label for c in Conversation.objects.values_list("labels", flat=True) for label in c)
    assert set(labels) == {"наличие", "доставка", "цена", "статус заказа", "возврат", "рассрочка"}


@pytest.mark.django_db
def test_the_latest_conversations_wait_for_an_answer(demo_shop: Any) -> None:
    conversations = list(Conversation.objects.select_related("channel").prefetch_related("messages"))
    live = [c for c in conversations if c.status != "resolved"]
    assert 15 <= len(live) <= 20
    oldest_live = min(c.created_at for c in live)
    assert oldest_live > FROZEN - dt.timedelta(days=2)
    assert all(c.resolved_at is not None and c.resolved_at < oldest_live for c in conversations if c not in live)
    waiting = [c for c in live if c.status == "open"]
    assert len(waiting) >= 8
    assert any(c.status == "pending" for c in live)
    assert any(c.first_response_at is None for c in waiting)  # nobody has answered these yet
    for conversation in conversations:
        thread = sorted(conversation.messages.all(), key=lambda m: (m.created_at, m.pk))
        replies = [m for m in thread if m.direction == "out"]
        unanswered = [
            m for m in thread if m.direction == "in" and (not replies or m.created_at > replies[-1].created_at)
        ]
        assert conversation.created_at == thread[0].created_at
        assert conversation.last_message_at == thread[-1].created_at
        assert conversation.first_response_at == (replies[0].created_at if replies else None)
        minutes = conversation.channel.first_response_minutes
        assert conversation.first_response_due == conversation.created_at + dt.timedelta(minutes=minutes)
        assert conversation.assignee_id is None
        if conversation.status == "open":
            assert unanswered
            assert conversation.waiting_since == unanswered[0].created_at
            assert conversation.unread_count == len(unanswered)
        else:
            assert conversation.waiting_since is None
            assert conversation.unread_count == 0
        if conversation.status == "pending":
            assert thread[-1].direction == "out"
        if conversation.status == "resolved":
            assert conversation.resolved_at is not None
            assert conversation.last_message_at <= conversation.resolved_at <= FROZEN


@pytest.mark.django_db
def test_the_inbox_reporting_events_match_the_conversations(demo_shop: Any) -> None:
    events: defaultdict[int, dict[str, dt.datetime]] = defaultdict(dict)
    for conversation_id, kind, at in ConversationEvent.objects.values_list("conversation_id", "kind", "at"):
        assert kind not in events[conversation_id]  # once each
        events[conversation_id][kind] = at
    conversations = list(Conversation.objects.all())
    breached = 0
    for c in conversations:
        mine = events[c.pk]
        assert mine["opened"] == c.created_at
        assert mine.get("first_response") == c.first_response_at
        assert mine.get("resolved") == c.resolved_at
        late = c.first_response_at > c.first_response_due if c.first_response_at else c.first_response_due < FROZEN
        assert ("sla_breached" in mine) == late
        breached += late
    assert 0 < breached < len(conversations)


@pytest.mark.django_db
def test_demo_letters_form_threads_with_a_subject(demo_shop: Any) -> None:
    letters = Message.objects.filter(channel__provider="email").order_by("conversation_id", "created_at", "id")
    threads: defaultdict[int, list[Message]] = defaultdict(list)
    for letter in letters:
        threads[letter.conversation_id].append(letter)
    assert threads
    for thread in threads.values():
        subject = thread[0].meta["subject"]
        assert subject
        assert thread[0].meta["references"] == []
        for position, letter in enumerate(thread[1:], start=1):
            assert letter.meta["subject"] == f"Re: {subject}"
            assert letter.meta["references"] == [m.provider_message_id for m in thread[:position]]


@pytest.mark.django_db
def test_every_inbound_message_is_on_the_customers_timeline(demo_shop: Any) -> None:
    inbound: dict[str, list[Any]] = {
        str(pk): row
        for pk, *row in Message.objects.filter(direction="in").values_list(
            "pk", "conversation_id", "conversation__customer_id", "channel__provider", "text", "sent_at"
        )
    }
    entries = TimelineEntry.objects.filter(kind="message").values_list(
        "ref_type", "ref_id", "customer_id", "channel", "summary", "at", "data"
    )
    assert len(entries) == len(inbound)
    for ref_type, ref_id, customer, channel, summary, at, data in entries:
        assert ref_type == "conversations.message"
        conversation, owner, provider, text, sent_at = inbound[ref_id]
        assert (customer, channel, summary, at) == (owner, provider, text[:200], sent_at)
        assert data == {"conversation_id": conversation, "direction": "in"}

    # The live conversations are their customers' latest contact.
    latest_in = Message.objects.filter(direction="in", conversation__status="open").values_list(
        "conversation__customer__last_contact_at", "sent_at"
    )
    assert latest_in
    for last_contact, sent_at in latest_in:
        assert last_contact is not None
        assert sent_at is not None
        assert last_contact >= sent_at
    assert any(last_contact == sent_at for last_contact, sent_at in latest_in)


@pytest.mark.django_db
def test_the_shop_has_stock_in_motion(demo_shop: Any) -> None:
    today = FROZEN.astimezone(ALMATY).date()
    supplies = list(Supply.objects.select_related("location").prefetch_related("lines"))
    assert len(supplies) == 6
    assert all(s.status == "expected" and s.expected_on > today for s in supplies)
    # Some popular variants are out everywhere, and their next arrival is next week at the warehouse.
    (due,) = [s for s in supplies if s.expected_on == today + dt.timedelta(days=7) and s.location.kind == "warehouse"]
    waited = {line.variant_id: line.quantity for line in due.lines.all()}
    assert len(waited) >= 3
    for variant_id, rows in availability.availability(waited).items():
        assert all(r.available == 0 for r in rows)
        arrival = next(r.next_arrival for r in rows if r.location.pk == due.location_id)
        assert arrival == availability.Arrival(date=due.expected_on, quantity=waited[variant_id])
    transfers = Counter(Transfer.objects.values_list("status", flat=True))
    assert transfers == {"requested": 3, "shipped": 2}
    assert StockLevel.objects.filter(in_transit__gt=0).exists()
    holds = Reservation.objects.filter(owner_kind="hold", status="active")
    assert holds.count() == 4
    assert all(h.customer_id and h.expires_at for h in holds)
    assert StockLevel.objects.filter(location__kind="store", low_stock_threshold=2).exists()
    assert set(Location.objects.exclude(kind="pickup").values_list("kaspi_point_id", flat=True)) >= {"PP1", "PP2"}
    assert Feed.objects.filter(kind="kaspi", is_active=True).count() == 1
    assert TransferLine.objects.count() == 15
    assert inventory_queries.list_stock_drift() == []


# --- Orders: their whole life, consistent with the stock and the customers --------------------------------------

SETTLED = FROZEN - dt.timedelta(days=14)
CHAT_SOURCES = {"webchat", "telegram", "whatsapp", "instagram", "email"}


@pytest.mark.django_db
def test_every_source_sells_through_the_18_months_and_people_buy_in_several(demo_shop: Any) -> None:
    months: defaultdict[str, set[tuple[int, int]]] = defaultdict(set)
    for source, placed in Order.objects.values_list("source", "placed_at"):
        local = placed.astimezone(ALMATY)
        months[source].add((local.year, local.month))
    assert set(months) == {source for source, _ in demo_data.ORDER_SOURCES}
    for source, seen in months.items():
        assert len(seen) >= 18, source  # every month of the history (19 calendar months are touched)

    channels_of = defaultdict(set)
    for customer, source in Order.objects.exclude(customer=None).values_list("customer_id", "source"):
        channels_of[customer].add(source)
    several = [c for c, sources in channels_of.items() if len(sources) >= 2]
    assert len(several) > 0.5 * len(channels_of)
    assert sum("store" in s and len(s - {"store"}) >= 2 for s in channels_of.values()) > 200


@pytest.mark.django_db
def test_orders_are_handed_over_as_their_channel_does_it(demo_shop: Any) -> None:
    kinds = Counter(Order.objects.values_list("source", "fulfillment"))
    assert {f for _, f in kinds} == {"takeaway", "pickup", "delivery"}
    store = {f: n for (s, f), n in kinds.items() if s == "store"}
    assert set(store) == {"takeaway", "delivery"}  # sold at the till, or ordered there and delivered home
    assert store["takeaway"] > 5 * store["delivery"]
    for source in ("web", "instagram", "whatsapp", "phone", "kaspi"):
        assert kinds[(source, "pickup")] > 0, source
        assert kinds[(source, "delivery")] > 0, source
        assert kinds[(source, "takeaway")] == 0, source

    lines = OrderLine.objects.select_related("order", "location")
    # A take-away is sold at its store, from its shelf.
    takeaway = lines.filter(order__fulfillment="takeaway")
    assert not takeaway.exclude(location_id=F("order__location_id")).exists()
    assert not Order.objects.filter(fulfillment="takeaway").exclude(location__kind="store").exists()
    # A pick-up is handed out where pick-up is offered, from its own shelf or a warehouse.
    pickups = Order.objects.filter(fulfillment="pickup")
    assert not pickups.exclude(location__offers_pickup=True).exists()
    picked = lines.filter(order__fulfillment="pickup").exclude(order__source="kaspi")
    assert picked.filter(location_id=F("order__location_id")).exists()
    assert picked.exclude(location_id=F("order__location_id")).exists()
    assert not picked.exclude(location_id=F("order__location_id")).exclude(location__kind="warehouse").exists()
    # A Kaspi order is taken from the stock of its Kaspi point.
    kaspi = lines.filter(order__source="kaspi")
    assert not kaspi.exclude(location_id=F("order__location_id")).exists()
    assert not kaspi.filter(location__kaspi_point_id="").exists()
    # A delivery goes to one of the customer's saved addresses, in their city.
    saved = defaultdict(set)
    for customer, city, line in Address.objects.values_list("customer_id", "city", "line"):
        saved[customer].add((city, line))
    deliveries = Order.objects.filter(fulfillment="delivery").exclude(customer=None)
    assert deliveries.count() > 3000
    for customer, address in deliveries.values_list("customer_id", "delivery_address"):
        assert (address["city"], address["line1"]) in saved[customer]


@pytest.mark.django_db
def test_each_order_has_its_history_and_old_ones_are_settled(demo_shop: Any) -> None:
    history: defaultdict[int, list[tuple[str, str, dt.datetime, str]]] = defaultdict(list)
    for order, old, new, at, reason in StatusChange.objects.order_by("at", "id").values_list(
        "order_id", "old", "new", "at", "reason"
    ):
        history[order].append((old, new, at, reason))
    orders = list(Order.objects.values_list("pk", "status", "placed_at", "source", "fulfillment"))
    assert len(history) == len(orders)
    for pk, status, placed, _source, fulfillment in orders:
        steps = history[pk]
        assert steps[0][:3] == ("", "new", placed)
        assert steps[-1][1] == status
        assert all(a[1] == b[0] for a, b in itertools.pairwise(steps))  # one chain
        assert all(step[2] <= FROZEN for step in steps)
        if fulfillment == "takeaway" and status != "cancelled":
            assert [s[1] for s in steps][:2] == ["new", "completed"]
        elif status in ("completed", "returned"):
            handed = "delivered" if fulfillment == "delivery" else "picked_up"
            assert [s[1] for s in steps][:2] == ["new", "confirmed"]
            assert handed in [s[1] for s in steps]
        if status == "cancelled":
            assert steps[-1][3]  # why
    settled = [status for _, status, placed, *_ in orders if placed < SETTLED]
    assert set(settled) == {"completed", "cancelled", "returned"}
    share = Counter(settled)["cancelled"] / len(settled)
    assert 0.03 < share < 0.07
    reasons = Counter(StatusChange.objects.filter(new="cancelled").values_list("reason", flat=True))
    assert len(reasons) >= 5
    recent = Counter(status for _, status, placed, *_ in orders if placed > FROZEN - dt.timedelta(days=5))
    assert {"new", "confirmed", "paid", "picking", "ready", "shipped"} <= set(recent)
    # Confirmed within minutes or hours, shipped after picking.
    confirmed = [s[2] - history[pk][0][2] for pk, *_ in orders for s in history[pk] if s[1] == "confirmed"]
    assert all(delta >= dt.timedelta(0) for delta in confirmed)
    assert sorted(confirmed)[len(confirmed) // 2] < dt.timedelta(hours=3)


@pytest.mark.django_db
def test_payments_match_the_channel_and_paid_orders_are_paid_in_full(demo_shop: Any) -> None:
    methods = defaultdict(set)
    for source, method in Payment.objects.values_list("order__source", "method").distinct():
        methods[source].add(method)
    assert methods["store"] == {"cash_in_store", "card_terminal", "kaspi_pay"}
    assert methods["kaspi"] == {"kaspi_pay", "kaspi_red"}
    assert {"card_online", "cash_on_delivery"} <= methods["web"]
    assert {"kaspi_pay", "card_online", "cash_on_delivery"} <= methods["phone"] | methods["whatsapp"]
    assert "bank_transfer" in set().union(*methods.values())

    paid = defaultdict(Decimal)
    pending = defaultdict(Decimal)
    for order, status, amount in Payment.objects.values_list("order_id", "status", "amount"):
        if status == "paid":
            paid[order] += amount
        elif status == "pending":
            pending[order] += amount
    went_paid = set(StatusChange.objects.filter(new="paid").values_list("order_id", flat=True))
    for pk, status, total in Order.objects.values_list("pk", "status", "total"):
        if status in ("completed", "returned", "delivered", "picked_up") or (pk in went_paid and status != "cancelled"):
            assert paid[pk] == total, pk
            assert not pending[pk]
        elif status in ("new", "confirmed", "picking", "ready", "shipped"):
            assert pending[pk] == total, pk
    assert Payment.objects.filter(status="pending").exists()
    assert Payment.objects.filter(status="refunded", order__status="cancelled").exists()


@pytest.mark.django_db
def test_open_orders_hold_the_stock_they_need(demo_shop: Any) -> None:
    # The shop's reserved figures are exactly what active reservations hold (orders, holds, transfers).
    held: Counter[tuple[int, int]] = Counter()
    for variant, location, quantity in Reservation.objects.filter(status="active").values_list(
        "variant_id", "location_id", "quantity"
    ):
        held[(variant, location)] += quantity
    levels = {
        (variant, location): reserved
        for variant, location, reserved in StockLevel.objects.values_list("variant_id", "location_id", "reserved")
    }
    assert {key: n for key, n in levels.items() if n} == dict(held)

    lines = OrderLine.objects.select_related("order", "reservation")
    waiting = lines.filter(order__status__in=["new", "confirmed", "paid", "picking", "ready"])
    assert waiting.count() >= 20
    for line in waiting:
        reservation = line.reservation
        assert reservation is not None
        assert (reservation.status, reservation.owner_kind, reservation.owner_ref) == (
            "active",
            "order_line",
            str(line.pk),
        )
        assert (reservation.variant_id, reservation.location_id, reservation.quantity) == (
            line.variant_id,
            line.location_id,
            line.quantity,
        )
        assert StockMove.objects.filter(kind="reservation", reference=f"hold:{reservation.pk}").exists()
    handed = lines.filter(order__status__in=["shipped", "delivered", "picked_up"])
    assert handed.exists()
    assert not handed.exclude(reservation__status="consumed").exists()
    # A cancelled order gave back what it held.
    cancelled = lines.filter(order__status="cancelled")
    assert cancelled.exists()
    assert not cancelled.exclude(reservation__status="released").exists()
    for line in cancelled[:50]:
        assert line.reservation is not None
        assert StockMove.objects.filter(
            kind="release", reference=f"hold:{line.reservation.pk}", reserved_change=-line.quantity
        ).exists()


@pytest.mark.django_db
def test_check_integrity_finds_no_drift_and_sales_are_in_the_ledger(
    demo_shop: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from omnia.cli import main

    main(["check-integrity"])
    assert "on hand equals the ledger everywhere" in capsys.readouterr().out

    # Every unit handed over left the shelf it was sourced from, as a sale of its order.
    sold = Counter()
    for variant, location, quantity, number in OrderLine.objects.filter(
        order__status__in=["completed", "returned", "shipped", "delivered", "picked_up"]
    ).values_list("variant_id", "location_id", "quantity", "order__number"):
        sold[(variant, location, f"order:{number}")] += quantity
    ledger = Counter()
    for variant, location, quantity, reference in StockMove.objects.filter(kind="sale").values_list(
        "variant_id", "location_id", "quantity", "reference"
    ):
        ledger[(variant, location, reference)] -= quantity
    assert ledger == sold
    # What was sold came in first: an opening balance and deliveries along the way.
    assert StockMove.objects.filter(kind="receipt").exclude(reason="Demo opening stock").count() > 500
    assert not StockLevel.objects.filter(on_hand__lt=F("reserved")).exists()


@pytest.mark.django_db
def test_returns_are_restocked_where_brought_and_refunded_or_exchanged(demo_shop: Any) -> None:
    returns = list(Return.objects.select_related("order", "location", "refund", "replacement"))
    assert len(returns) > 100
    assert all(r.location.accepts_returns and r.location.kind == "store" for r in returns)
    assert any(r.location_id != r.order.location_id for r in returns)  # brought back elsewhere
    assert any(r.order.source != "store" for r in returns)
    for record in returns:
        assert record.reason
        assert record.at > record.order.placed_at
        for line in record.lines.select_related("order_line"):
            assert StockMove.objects.filter(
                kind="return",
                variant_id=line.order_line.variant_id,
                location_id=record.location_id,
                quantity=line.quantity,
                reference=f"order:{record.order.number}",
            ).exists()
        if record.refund is not None:
            assert record.refund.status == "refunded"
            assert record.refund.order_id == record.order_id
            assert 0 < record.refund.amount <= record.order.total
        else:
            replacement = record.replacement
            assert replacement is not None
            assert replacement.customer_id == record.order.customer_id
            assert replacement.comment == f"Exchange for order {record.order.number}"
            assert replacement.location_id == record.location_id
    assert sum(r.replacement_id is not None for r in returns) >= 10
    full = Order.objects.filter(status="returned")
    assert full.exists()
    for order in full:
        assert StatusChange.objects.filter(order=order, new="returned").exists()


@pytest.mark.django_db
def test_an_order_repeated_in_another_channel_waits_for_an_operator(demo_shop: Any) -> None:
    repeats = list(Order.objects.exclude(possible_duplicate_of=None).select_related("possible_duplicate_of"))
    assert 1 <= len(repeats) <= 12
    for order in repeats:
        first = order.possible_duplicate_of
        assert first is not None
        assert order.customer_id == first.customer_id is not None
        assert order.source != first.source
        assert dt.timedelta(0) < order.placed_at - first.placed_at <= dt.timedelta(hours=1)
        assert sorted(order.lines.values_list("variant_id", "quantity")) == sorted(
            first.lines.values_list("variant_id", "quantity")
        )
        assert order.status == "new"
        assert first.status != "cancelled"


@pytest.mark.django_db
def test_kaspi_orders_have_their_kaspi_record_and_chat_orders_their_conversation(demo_shop: Any) -> None:
    kaspi = Order.objects.filter(source="kaspi")
    records = {k.order_id: k for k in KaspiOrder.objects.all()}
    assert len(records) == kaspi.count() > 500
    expected = {"completed": "COMPLETED", "returned": "RETURNED", "cancelled": "CANCELLED"}
    expected |= {"delivered": "COMPLETED", "picked_up": "COMPLETED"}  # handed over with the buyer's code
    for order in kaspi:
        record = records[order.pk]
        assert record.kaspi_id == order.external_id
        assert re.fullmatch(r"\d{9}", record.code)
        assert record.outcome == "accepted"
        assert record.status == expected.get(order.status, "ACCEPTED_BY_MERCHANT")
        assert (record.state == "ARCHIVE") == (order.status in expected)
        assert record.kaspi_delivery == (order.fulfillment == "delivery")
        assert record.created_on_kaspi < order.placed_at
    assert {p.method for o in kaspi[:50] for p in o.payments.all()} <= {"kaspi_pay", "kaspi_red"}

    linked = Order.objects.exclude(conversation=None).select_related("conversation__channel")
    assert linked.count() >= 5
    for order in linked:
        assert order.source in CHAT_SOURCES
        assert order.conversation is not None
        assert order.conversation.customer_id == order.customer_id
        assert order.conversation.channel.provider == order.source
        assert order.conversation.created_at <= order.placed_at


@pytest.mark.django_db
def test_each_order_has_a_shipment_per_sourcing_location_in_step_with_it(demo_shop: Any) -> None:
    from omnia.orders.models import Shipment

    pairs = set(OrderLine.objects.exclude(location=None).values_list("order_id", "location_id").distinct())
    shipments = set(Shipment.objects.values_list("order_id", "location_id"))
    assert shipments == pairs
    settled = Shipment.objects.filter(order__status="completed").values_list("status", flat=True).distinct()
    assert set(settled) <= {"delivered", "picked_up"}
    assert not Shipment.objects.filter(order__status="cancelled").exclude(status="cancelled").exists()


@pytest.mark.django_db
def test_the_whatsapp_number_has_approved_templates_and_an_sms_number_is_connected(demo_shop: Any) -> None:
    from omnia.channels import message_templates
    from omnia.channels.models import MessageTemplate

    templates = MessageTemplate.objects.filter(channel__provider="whatsapp", is_active=True)
    assert {(t.name, t.language) for t in templates} >= {("order_ready", "ru"), ("order_ready", "kk")}
    for template in templates:
        assert message_templates.placeholders(template.body) >= 1  # numbered {{1}}… without gaps
    sms = Channel.objects.get(provider="sms")
    assert sms.credentials["auth_token"]
    assert re.fullmatch(r"AC[0-9a-f]{32}", sms.config["account_sid"])
    assert phonenumbers.is_valid_number(phonenumbers.parse(sms.config["phone_number"]))
