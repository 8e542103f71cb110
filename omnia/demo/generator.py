"""Deterministic demo-shop generator: a home-goods retailer in Kazakhstan.

`load_demo(size=..., seed=...)` fills an empty, migrated database with stores and warehouses, a
catalog with variants and stock, customers with their channel identities and 18 months of orders
ending today, one connected channel of each kind (web chat, e-mail, Telegram, WhatsApp, Instagram)
and a few hundred conversations through them in Russian, Kazakh and English, the latest still
waiting for an answer.

Every order lives its whole life as the orders app would have recorded it: take-away at a store's
till, pick-up or delivery to one of the customer's saved addresses as its channel does it, lines
sourced where the stock is, a status history with plausible times, payments by the channel's
methods, ~5% cancelled with a reason, a few returned (restocked where brought back, refunded or
exchanged), a Kaspi.kz record for marketplace orders, chat orders linked to their conversation and
a handful repeated by phone within the hour (flagged as possible duplicates). Orders not handed
over yet hold reservations of stock that is there; every sale, return and supplier delivery is in
the ledger, which adds up to the stock counted now (`omnia check-integrity` is clean).

Each card also gets what the customers app keeps: name search tokens, tags, consents, preferences,
delivery addresses, a timeline (orders, returns, consultations, calls, visits, notes, consents) and
the counters derived from it; ~2% of people have a second card (a WhatsApp
chat, a clerk's duplicate) for the duplicate suggestions and merges. The same seed and the same date
always give the same rows.

It runs in two steps: `build_demo` computes every row in memory from one `random.Random(seed)`
(pure: no database, no clock), and `_write_demo` bulk-inserts the rows in one transaction.
Rows refer to each other by their index in the plan; the writer maps indexes to primary keys.
The logins are created afterwards (see runner.py): `assign_demo_inbox` and `assign_demo_staff` then
credit them with the conversations and the orders' history.
"""

from __future__ import annotations

import base64
import datetime as dt
import heapq
import itertools
import math
import operator
import random
import re
import uuid
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

from omnia.catalog.models import Barcode, Category, Product, Variant
from omnia.channels.models import Channel, MessageTemplate
from omnia.conversations.models import Conversation, ConversationEvent, Message
from omnia.core import clock
from omnia.core.phones import normalize_phone
from omnia.core.text import name_search_keys, search_key, transliterate
from omnia.customers.actions.profile import contact_day
from omnia.customers.actions.timeline import CONTACT_KINDS
from omnia.customers.models import (
    Address,
    ChannelKind,
    Consent,
    Customer,
    Identity,
    SearchToken,
    Tag,
    TimelineEntry,
)
from omnia.demo import data, delivery, parcels
from omnia.inventory import actions as inventory_actions
from omnia.inventory.models import Feed, Location, Reservation, StockLevel, StockMove
from omnia.orders import actions_shipments
from omnia.orders.models import KaspiAccount, KaspiOrder, Order, OrderLine, Payment, Return, ReturnLine, StatusChange

BATCH_SIZE = 2000
HISTORY_DAYS = 548  # 18 months
OPENING_STOCK_REASON = "Demo opening stock"
REPLENISHMENT_REASON = data.REPLENISHMENT_REASON
VIBER_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
DUPLICATE_SHARE = 0.02  # people who also have a second card (the merge and suggestion demos)
SECOND_CARD_KINDS = ("whatsapp", "email", "whatsapp", "email", "phone")
# Contacts besides orders, and the channels a consultation comes through (weights).
EXTRA_CONTACTS = (("consultation", 45), ("call", 25), ("visit", 15), ("note", 15))
CONSULTATION_CHANNELS = (("whatsapp", 40), ("instagram", 30), ("telegram", 15), ("phone", 15))
PREFERRED_CHANNELS = (("whatsapp", 50), ("telegram", 12), ("phone", 12), ("email", 10), ("instagram", 8), ("sms", 8))
QUIET_HOURS = (dt.time(22), dt.time(9))
ANY_CITY = "*"
INBOX_TEAM = "Контакт-центр"
SHOP_DOMAIN = "demo.omnia.kz"
ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
URL_SAFE = ALPHANUMERIC + "-_"
# The inbox's last conversations are live work: (state, weight). "new": nobody answered yet (unassigned);
# "waiting": answered, then the customer wrote again; "pending": answered, waiting for the customer.
OPEN_STATES = (("new", 30), ("waiting", 50), ("pending", 20))
# Paid before the goods are handed over (else paid on delivery or at the pick-up counter).
PREPAID_METHODS = frozenset({"card_online", "kaspi_pay", "kaspi_red", "bank_transfer"})
HANDOVER_METHODS = ("cash_in_store", "card_terminal")  # paying for a pick-up at the counter
# An order in these statuses holds its stock reserved where its lines are sourced.
RESERVING = frozenset({"new", "confirmed", "paid", "picking", "ready"})
# Handed over, not completed yet: the reservation was consumed (sold) when the goods left.
HANDED_OVER = frozenset({"shipped", "delivered", "picked_up"})
# A chat order the customer then repeats by phone: the possible duplicates an operator confirms or merges.
REPEATED_FROM = frozenset({"instagram", "telegram", "webchat"})
CHAT_SOURCES = frozenset({"webchat", "telegram", "whatsapp", "instagram", "email"})


@dataclass(frozen=True)
class DemoSize:
    large_network: bool
    products: int
    skus: int
    customers: int
    orders: int
    conversations: int
    open_conversations: int  # of them, the latest ones, still open or pending


SIZES = {
    "small": DemoSize(
        large_network=False,
        products=300,
        skus=1_000,
        customers=2_000,
        orders=15_000,
        conversations=300,
        open_conversations=20,
    ),
    # Orders are bounded so that "large" still loads in a few minutes on SQLite.
    "large": DemoSize(
        large_network=True,
        products=6_000,
        skus=20_000,
        customers=100_000,
        orders=150_000,
        conversations=3_000,
        open_conversations=40,
    ),
}


@dataclass
class DemoPlan:
    """Every row of the demo shop. Foreign keys are indexes into the other lists (None = no row)."""

    now: dt.datetime  # when the shop was generated: opening stock is counted at this moment
    locations: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)  # "parent": index or None
    products: list[dict[str, Any]] = field(default_factory=list)  # "category": index
    variants: list[dict[str, Any]] = field(default_factory=list)  # "product": index
    stock: list[tuple[int, int, int]] = field(default_factory=list)  # (variant, location, on_hand)
    sold_out: list[int] = field(default_factory=list)  # variants out everywhere, with a supply due
    customers: list[dict[str, Any]] = field(default_factory=list)
    identities: list[dict[str, Any]] = field(default_factory=list)  # "customer": index
    # "customer", "location", "conversation", "possible_duplicate_of": index or None; "history": [(status, at,
    # why)]; "handover": when its goods left the shelf; "payments": indexes; "kaspi": the KaspiOrder or None
    orders: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)  # "order", "variant", "location": index
    tags: list[str] = field(default_factory=list)
    customer_tags: list[tuple[int, int]] = field(default_factory=list)  # (customer, tag)
    addresses: list[dict[str, Any]] = field(default_factory=list)  # "customer": index
    consents: list[dict[str, Any]] = field(default_factory=list)  # "customer": index
    # "customer": index; "ref": ("order" | "consent" | "location" | "message", index) or None
    timeline: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[tuple[int, int, str]] = field(default_factory=list)  # (first card, second card, how)
    channels: list[dict[str, Any]] = field(default_factory=list)  # "credentials": the secrets, in clear
    conversations: list[dict[str, Any]] = field(default_factory=list)  # "customer", "channel": index
    messages: list[dict[str, Any]] = field(default_factory=list)  # "conversation": index
    payments: list[dict[str, Any]] = field(default_factory=list)  # "order": index
    # "order", "location", "replacement": index; "lines": [(line, quantity)]; "refund": a payment or None
    returns: list[dict[str, Any]] = field(default_factory=list)
    reservations: list[dict[str, Any]] = field(default_factory=list)  # "line", "variant", "location": index
    moves: list[dict[str, Any]] = field(default_factory=list)  # the stock ledger; "reservation": index or None


def load_demo(*, size: str, seed: int) -> None:
    """Fill an empty, migrated database with the demo shop of `size` ("small" or "large")."""
    plan = build_demo(size=size, seed=seed, now=clock.now())
    _write_demo(plan)
    actions_shipments.do_create_missing_shipments()  # each order's parts, per sourcing location
    _stock_in_motion(plan, seed=seed)
    delivery.load_delivery()  # carriers, zones and tariffs: the orders' delivery options
    parcels.load_parcels()  # the latest shipped and delivered parts handed to the carriers, with tracking
    if connection.vendor == "postgresql":
        # The tables went from empty to full in one transaction, before autovacuum could look: without
        # statistics the planner takes them for a few rows each (nested loops over the whole history).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


KASPI_MERCHANT_ID = "30045871"


@transaction.atomic
def _stock_in_motion(plan: DemoPlan, *, seed: int) -> None:
    """What a living shop has in flight, made through the real stock actions so the ledger holds:
    supplies due (one next week for every sold-out variant), transfers requested and on their way,
    clerks' holds for customers, low-stock thresholds in the stores, and the Kaspi.kz feed."""
    rng = random.Random(f"{seed}-stock-in-motion")
    today = timezone.localdate(plan.now)
    variants = list(Variant.objects.order_by("pk"))
    locations = list(Location.objects.order_by("pk"))
    warehouse = next(loc for loc in locations if loc.kind == Location.Kind.WAREHOUSE)
    stores = [loc for loc in locations if loc.kind == Location.Kind.STORE]
    sold_out = [variants[i] for i in plan.sold_out]
    inventory_actions.check_create_supply(
        actor=None,
        location=warehouse,
        expected_on=today + dt.timedelta(days=7),
        lines=[inventory_actions.Line(v, rng.randint(12, 40)) for v in sold_out],
        supplier=data.SUPPLIERS[0],
        reference=f"ПН-{rng.randint(1000, 9999)}",
    )
    for n in range(5):
        inventory_actions.check_create_supply(
            actor=None,
            location=rng.choice([warehouse, *stores]),
            expected_on=today + dt.timedelta(days=rng.randint(2, 21)),
            lines=[inventory_actions.Line(v, rng.randint(3, 30)) for v in rng.sample(variants, k=rng.randint(3, 8))],
            supplier=data.SUPPLIERS[(n + 1) % len(data.SUPPLIERS)],
            reference=f"ПН-{rng.randint(1000, 9999)}",
        )
    at_warehouse = list(
        StockLevel.objects.filter(location=warehouse, on_hand__gte=F("reserved") + 10)
        .order_by("variant_id")
        .values_list("variant_id", flat=True)
    )
    by_id = {v.pk: v for v in variants}
    for n in range(5):
        lines = [inventory_actions.Line(by_id[i], rng.randint(2, 5)) for i in rng.sample(at_warehouse, k=3)]
        transfer = inventory_actions.check_request_transfer(
            actor=None,
            source=warehouse,
            destination=stores[n % len(stores)],
            lines=lines,
            expected_on=today + dt.timedelta(days=rng.randint(1, 4)),
            note="Пополнение витрины",
        )
        if n < 2:
            inventory_actions.check_ship_transfer(actor=None, transfer=transfer)
    customers = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:200])
    in_stores = list(
        StockLevel.objects.filter(location__in=stores, on_hand__gte=F("reserved") + 2)
        .order_by("pk")
        .values_list("variant_id", "location_id")[:500]
    )
    places = {loc.pk: loc for loc in locations}
    for variant_id, location_id in rng.sample(in_stores, k=min(4, len(in_stores))):
        inventory_actions.check_reserve(
            actor=None,
            variant=by_id[variant_id],
            location=places[location_id],
            quantity=1,
            customer=Customer.objects.get(pk=rng.choice(customers)),
            expires_at=plan.now + dt.timedelta(hours=rng.randint(24, 48)),
            note="Отложено по звонку",
        )
    StockLevel.objects.filter(location__in=stores).update(low_stock_threshold=2)
    Feed.objects.create(
        kind=Feed.Kind.KASPI,
        name="Kaspi.kz",
        token=f"{rng.getrandbits(128):032x}",
        company=data.SHOP_LEGAL_NAME,
        merchant_id=KASPI_MERCHANT_ID,
        created_at=plan.now,
        stale_since=plan.now,
    )


@transaction.atomic
def assign_demo_inbox(*, operator_id: int) -> None:
    """Credit the demo operator with the history's replies and the conversations they answered.

    The logins are created after the shop is loaded; conversations nobody has answered stay unassigned.
    """
    replies = Message.objects.filter(direction=Message.Direction.OUT, kind=Message.Kind.TEXT)
    replies.filter(author__isnull=True).update(author_id=operator_id)
    Conversation.objects.filter(assignee__isnull=True, pk__in=replies.values("conversation_id")).update(
        assignee_id=operator_id
    )


@transaction.atomic
def assign_demo_staff(*, operator_id: int, clerk_id: int, manager_id: int, clerk_store_id: int | None) -> None:
    """Credit the demo logins with the orders' history (created after the shop is loaded, like the inbox's).

    The operator places the phone and chat orders and confirms, charges or cancels the orders that come in
    remotely; the clerk sells at their store's till and hands out, takes back and completes there; the
    manager has the warehouse pick and ship. What the customer, Kaspi.kz or the system did has no actor.
    """
    remote = ["phone", *sorted(CHAT_SOURCES)]
    S = Order.Status
    orders = Order.objects.all()

    def history(**where: Any) -> Any:
        """Status changes nobody is credited with yet, of the orders matching `where` (no self-join)."""
        return StatusChange.objects.filter(actor__isnull=True, order_id__in=orders.filter(**where).values("pk"))

    orders.filter(placed_by__isnull=True, source__in=remote).update(placed_by_id=operator_id)
    history(source__in=remote).filter(new=S.NEW).update(actor_id=operator_id)
    if clerk_store_id is not None:
        orders.filter(placed_by__isnull=True, source="store", location_id=clerk_store_id).update(placed_by_id=clerk_id)
        history(source="store", location_id=clerk_store_id).update(actor_id=clerk_id)
        history(fulfillment=Order.Fulfillment.PICKUP, location_id=clerk_store_id).filter(
            new__in=[S.PICKING, S.READY, S.PICKED_UP, S.COMPLETED]
        ).update(actor_id=clerk_id)
        Return.objects.filter(actor__isnull=True, location_id=clerk_store_id).update(actor_id=clerk_id)
        returned_here = Return.objects.filter(location_id=clerk_store_id).values("order_id")
        history(pk__in=returned_here).filter(new=S.RETURNED).update(actor_id=clerk_id)
    history(source__in=[*remote, "web"]).filter(new__in=[S.CONFIRMED, S.PAID, S.CANCELLED]).update(actor_id=operator_id)
    history(source__in=["kaspi", "satu", "api"]).filter(new=S.CANCELLED).update(actor_id=operator_id)
    StatusChange.objects.filter(actor__isnull=True, new__in=[S.PICKING, S.SHIPPED]).update(actor_id=manager_id)
    Return.objects.filter(actor__isnull=True).update(actor_id=manager_id)
    StatusChange.objects.filter(actor__isnull=True, new=S.RETURNED).update(actor_id=manager_id)


def build_demo(*, size: str, seed: int, now: dt.datetime) -> DemoPlan:
    """Compute the demo shop's rows for `size` and `seed` as of `now`, without touching the database."""
    if size not in SIZES:
        raise ValueError(f"Unknown demo size {size!r}; choose one of: {', '.join(SIZES)}.")
    return _Builder(size=SIZES[size], seed=seed, now=now).build()


# --- Building -------------------------------------------------------------------------------------


def ean13(first12: str) -> str:
    """Append the EAN-13 check digit to 12 digits."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def feminine_surname(surname: str) -> str:
    """The feminine form of a masculine Russian/Kazakh surname (Иванов → Иванова, Вишневский → Вишневская)."""
    if surname.endswith(("ский", "цкий")):
        return surname[:-2] + "ая"
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


def shop_price(raw: float) -> int:
    """A shelf price in whole tenge with a '…90' ending: 4 990, 12 490, 790."""
    if raw < 1_000:
        return max(90, round(raw / 100.0) * 100 - 10)
    step = 500 if raw >= 5_000 else 100
    return round(raw / step) * step - 10


def _cumulative(weights: list[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", transliterate(text)).strip("-")


def _tenge(amount: int) -> str:
    """Whole tenge with a space between thousands: 12 990."""
    return f"{amount:,}".replace(",", " ")


def _store_name(location: dict[str, Any]) -> str:
    """A store's name without its city: 'Алматы, Dostyk Plaza' → 'Dostyk Plaza'."""
    return str(location["name"]).split(", ", 1)[-1]


def customer_full_name(customer: dict[str, Any]) -> str:
    return " ".join(p for p in (customer["first_name"], customer["last_name"]) if p)


class _Builder:
    def __init__(self, *, size: DemoSize, seed: int, now: dt.datetime) -> None:
        self.size = size
        self.seed = seed
        self.rng = random.Random(seed)
        self.tz = ZoneInfo(str(settings.TIME_ZONE))
        self.now = now
        self.local_now = now.astimezone(self.tz)
        self.today = self.local_now.date()
        self.start = self.today - dt.timedelta(days=HISTORY_DAYS - 1)
        self.plan = DemoPlan(now=now)
        # Filled while building; used by later steps.
        self.variant_weight: list[float] = []
        self.variant_seasonal: list[bool] = []
        self.customer_weight: list[float] = []
        self.female: list[bool] = []
        self.first_card: dict[int, int] = {}  # second card → the person's first card
        self.first_store: dict[int, int] = {}  # customer → location of their first store purchase
        self.phone_of: dict[int, str] = {}  # customer → E.164 phone
        self.kinds: list[set[str]] = []  # customer → kinds of identities
        self.stores_in: dict[str, list[int]] = {}  # city (or ANY_CITY) → store locations
        self.consent_summaries: dict[tuple[str, str, bool, str], str] = {}

    def build(self) -> DemoPlan:
        self._locations()
        self._catalog()
        self._stock()
        self._sold_out()  # before the orders: what open orders reserve is really there
        self._customers()
        self._orders()
        self._second_cards()
        self._customer_history_and_identities()
        self._preferences_and_consents()
        self._addresses()
        self._timeline()
        self._channels()
        self._conversations()
        self._link_conversations()
        self._counters()
        self._stock_history()
        return self.plan

    def _sold_out(self) -> None:
        """A few popular variants are out everywhere (a supply is due next week: see _stock_in_motion).

        Drawn from its own generator so the rest of the shop stays as it was for the same seed.
        """
        rng = random.Random(f"{self.seed}-sold-out")
        held = sorted({variant for variant, _, _ in self.plan.stock})
        gone = set(rng.sample(held, k=max(3, len(held) // 60)))
        self.plan.stock = [row for row in self.plan.stock if row[0] not in gone]
        self.plan.sold_out = sorted(gone)

    # Locations ------------------------------------------------------------------------------------

    def _location(
        self, *, code: str, name: str, kind: str, city: str, address: str, lat: str, lng: str, phone: str
    ) -> None:
        store = kind == "store"
        holders = sum(1 for loc in self.plan.locations if loc["kind"] != "pickup")
        self.plan.locations.append(
            {
                "code": code,
                "name": name,
                "kind": kind,
                "city": city,
                "address": address,
                "latitude": Decimal(lat),
                "longitude": Decimal(lng),
                "opening_hours": data.WAREHOUSE_HOURS if kind == "warehouse" else data.OPENING_HOURS,
                "phone": normalize_phone(phone, region="KZ"),
                "sells": store,
                "ships": kind == "warehouse",
                "offers_pickup": kind != "warehouse",
                "accepts_returns": kind != "pickup",
                # Kaspi.kz knows the stores and warehouses that hold stock as its pick-up points PP1, PP2…
                "kaspi_point_id": "" if kind == "pickup" else f"PP{holders + 1}",
            }
        )

    def _locations(self) -> None:
        rng = self.rng
        for code, name, kind, city, address, latitude, longitude, phone in data.SMALL_LOCATIONS:
            self._location(
                code=code, name=name, kind=kind, city=city, address=address, lat=latitude, lng=longitude, phone=phone
            )
        if not self.size.large_network:
            return
        # 50 locations: 37 stores, 4 warehouses and 9 pick-up points across the country.
        extra_stores = {
            "alm": 7,
            "ast": 5,
            "shy": 4,
            "krg": 3,
            "akt": 2,
            "pvl": 2,
            "ukg": 2,
            "atr": 2,
            "kst": 2,
            "trz": 1,
            "ura": 1,
            "aku": 1,
            "kzo": 1,
            "ppk": 1,
        }
        warehouses = ("ast", "shy", "krg")
        pickups = {"alm": 3, "ast": 2, "shy": 1, "krg": 1, "akt": 1, "pvl": 1}
        used_codes = {loc["code"] for loc in self.plan.locations}
        phone_seq = itertools.count(100)
        for city, _weight, prefix, lat, lng, area in data.CITIES:
            streets = data.STREETS.get(city, data.GENERIC_STREETS)

            def place(
                city: str = city,
                lat: float = lat,
                lng: float = lng,
                area: str = area,
                streets: tuple[str, ...] = streets,
            ) -> tuple[str, str, str, str]:
                street = rng.choice(streets)
                address = f"{street}, {rng.randint(1, 250)}"
                local = f"{next(phone_seq) + 200:03d}{rng.randint(0, 9999):04d}"[: 10 - len(area)]
                return (
                    address,
                    f"{lat + rng.uniform(-0.04, 0.04):.6f}",
                    f"{lng + rng.uniform(-0.04, 0.04):.6f}",
                    f"8 {area} {local}",
                )

            for mall in rng.sample(data.MALLS, extra_stores.get(prefix, 0)):
                code = f"{prefix}-{_slug(mall.removeprefix('ТРЦ '))}"
                if code in used_codes:
                    code = f"{code}-{len(used_codes)}"
                used_codes.add(code)
                address, la, lo, phone = place()
                self._location(
                    code=code,
                    name=f"{city}, {mall}",
                    kind="store",
                    city=city,
                    address=f"{address}, {mall}",
                    lat=la,
                    lng=lo,
                    phone=phone,
                )
            if prefix in warehouses:
                address, la, lo, phone = place()
                self._location(
                    code=f"{prefix}-warehouse",
                    name=f"Склад {city}",
                    kind="warehouse",
                    city=city,
                    address=address,
                    lat=la,
                    lng=lo,
                    phone=phone,
                )
            for number in range(1, pickups.get(prefix, 0) + 1):
                address, la, lo, phone = place()
                self._location(
                    code=f"{prefix}-pickup-{number}",
                    name=f"{city}, пункт выдачи №{number}",
                    kind="pickup",
                    city=city,
                    address=address,
                    lat=la,
                    lng=lo,
                    phone=phone,
                )

    # Catalog --------------------------------------------------------------------------------------

    def _catalog(self) -> None:
        rng, plan = self.rng, self.plan
        top_index: dict[str, int] = {}
        prefix_of: dict[str, str] = {}
        for slug, name, prefix in data.TOP_CATEGORIES:
            top_index[slug] = len(plan.categories)
            prefix_of[slug] = prefix
            plan.categories.append({"name": name, "slug": slug, "parent": None})

        # Products per leaf by share, largest remainders first (ties by leaf order).
        leaves = data.LEAF_CATEGORIES
        total_share = sum(leaf[3] for leaf in leaves)
        exact = [self.size.products * leaf[3] / total_share for leaf in leaves]
        counts = [int(x) for x in exact]
        by_remainder = sorted(range(len(leaves)), key=lambda i: (-(exact[i] - counts[i]), i))
        for i in by_remainder[: self.size.products - sum(counts)]:
            counts[i] += 1

        product_numbers = {prefix: itertools.count(1) for prefix in prefix_of.values()}
        used_names: set[str] = set()
        remaining_products = self.size.products
        remaining_skus = self.size.skus
        product_created_latest = self.start - dt.timedelta(days=1)
        for leaf, count in zip(leaves, counts, strict=True):
            (slug, name, top, _share, seasonal, noun, models, features, axes, (pmin, pmax), (wmin, wmax), brands) = leaf
            category = len(plan.categories)
            plan.categories.append({"name": name, "slug": slug, "parent": top_index[top]})
            prefix = prefix_of[top]
            axis_values = [data.AXES[a][1] for a in axes]
            axis_keys = [data.AXES[a][0] for a in axes]
            for _ in range(count):
                product_name = ""
                for _attempt in range(30):
                    product_name = f"{noun} «{rng.choice(models)}» {rng.choice(features)}"
                    if product_name not in used_names:
                        break
                series = 2
                base_name = product_name
                while product_name in used_names:
                    product_name = f"{base_name}, серия {series}"
                    series += 1
                used_names.add(product_name)
                brand = rng.choice(brands)
                created = dt.datetime.combine(
                    product_created_latest - dt.timedelta(days=rng.randint(0, 400)),
                    dt.time(rng.randint(9, 18), rng.randint(0, 59)),
                    tzinfo=self.tz,
                )
                product = len(plan.products)
                plan.products.append(
                    {
                        "name": product_name,
                        "brand": brand,
                        "category": category,
                        "created_at": created,
                        "description": f"{product_name}. Бренд {brand}. Гарантия 12 месяцев, обмен и возврат "
                        f"в любом магазине сети.",
                    }
                )
                number = next(product_numbers[prefix])
                base_price = math.exp(rng.uniform(math.log(pmin), math.log(pmax)))
                base_weight = rng.uniform(wmin, wmax)
                popularity = min(40.0, rng.paretovariate(1.3))

                combos = list(itertools.product(*axis_values))
                average = remaining_skus / max(1, remaining_products)
                wanted = rng.randint(1, max(1, round(2 * average - 1)))
                chosen = sorted(rng.sample(range(len(combos)), min(wanted, len(combos))))
                remaining_products -= 1
                remaining_skus -= len(chosen)
                for rank, combo_index in enumerate(chosen):
                    combo = combos[combo_index]
                    factor = math.prod(value[2] for value in combo)
                    sku = f"{prefix}-{number:04d}-" + "-".join(value[0] for value in combo)
                    variant = len(plan.variants)
                    plan.variants.append(
                        {
                            "product": product,
                            "sku": sku,
                            "barcode": ean13(f"48700{variant + 1:07d}"),
                            "name": ", ".join(value[1] for value in combo),
                            "attributes": {key: value[1] for key, value in zip(axis_keys, combo, strict=True)},
                            "price": shop_price(base_price * factor),
                            "weight_grams": max(50, int(base_weight * factor)),
                        }
                    )
                    self.variant_weight.append(popularity * rng.uniform(0.3, 1.0) / (1 + 0.3 * rank))
                    self.variant_seasonal.append(seasonal)

    # Stock ----------------------------------------------------------------------------------------

    def _stock(self) -> None:
        rng = self.rng
        holders = [(i, loc) for i, loc in enumerate(self.plan.locations) if loc["kind"] != "pickup"]
        breadth = {i: (0.85 if loc["kind"] == "warehouse" else rng.uniform(0.35, 0.6)) for i, loc in holders}
        for variant, weight in enumerate(self.variant_weight):
            popular = min(weight, 5.0)
            for i, loc in holders:
                if rng.random() >= min(0.95, breadth[i] + 0.04 * popular):
                    continue
                if loc["kind"] == "warehouse":
                    quantity = 5 + int(rng.expovariate(1 / (20 + 10 * popular)))
                else:
                    quantity = 1 + int(rng.expovariate(1 / (2 + 1.5 * popular)))
                self.plan.stock.append((variant, i, min(quantity, 400)))

    # Customers ------------------------------------------------------------------------------------

    def _customers(self) -> None:
        rng = self.rng
        city_names = [c[0] for c in data.CITIES]
        city_cum = _cumulative([c[1] for c in data.CITIES])
        for _ in range(self.size.customers):
            female = rng.random() < 0.58
            roll = rng.random()
            if roll < 0.62:
                first = rng.choice(data.KAZAKH_FEMALE_NAMES if female else data.KAZAKH_MALE_NAMES)
                if rng.random() < 0.8:
                    last = rng.choice(data.KAZAKH_SURNAMES_INFLECTED)
                    last = feminine_surname(last) if female else last
                else:
                    last = rng.choice(data.KAZAKH_SURNAMES_INVARIANT)
                language = "kk" if rng.random() < 0.45 else "ru"
            else:
                first = rng.choice(data.RUSSIAN_FEMALE_NAMES if female else data.RUSSIAN_MALE_NAMES)
                last = rng.choice(data.RUSSIAN_SURNAMES)
                last = feminine_surname(last) if female else last
                language = "ru"
            city = rng.choices(city_names, cum_weights=city_cum)[0]
            birthday = None
            if rng.random() < 0.5:
                birthday = dt.date(rng.randint(1958, 2006), 1, 1) + dt.timedelta(days=rng.randint(0, 364))
            self.plan.customers.append(
                {
                    "first_name": first,
                    "last_name": last,
                    "language": language,
                    "city": city,
                    "birthday": birthday,
                }
            )
            self.female.append(female)
            # Some customers buy much more often than others.
            self.customer_weight.append(min(30.0, rng.paretovariate(1.4)))

    # Orders ---------------------------------------------------------------------------------------

    def _day_intensity(self, day: dt.date, index: int, days: int) -> float:
        trend = 1.0 + 0.35 * index / max(1, days - 1)
        season = 1.0
        month, dom = day.month, day.day
        if month == 12:
            season = 1.7 if dom <= 10 else 2.5 if dom <= 20 else 3.2
        elif month == 11 and dom >= 20:
            season = 1.4
        elif month == 1:
            season = 0.6 if dom <= 2 else 1.1 if dom <= 7 else 0.8
        elif month == 3 and dom <= 8:
            season = 1.4  # gifts for 8 March
        elif month == 3 and 20 <= dom <= 23:
            season = 1.2  # Nauryz
        elif month in (6, 7, 8):
            season = 0.85
        if month == 11 and day.weekday() == 4 and dom >= 22:
            season = 2.2  # Black Friday
        return trend * season * data.WEEKDAY_FACTORS[day.weekday()]

    def _is_holiday_season(self, day: dt.date) -> bool:
        return (day.month == 11 and day.day >= 15) or day.month == 12 or (day.month == 1 and day.day <= 7)

    def _orders(self) -> None:
        """18 months of orders through every channel, each with its whole life: how it is handed over
        (take-away, pick-up, delivery), where every line is sourced, its status history, payments,
        cancellations, returns and exchanges, and the Kaspi.kz record of marketplace orders.

        Orders older than their hand-over are settled; the recent ones are wherever their history has
        got to by now, and those not handed over yet hold a reservation of stock that is really there.
        """
        rng, plan = self.rng, self.plan
        locations = plan.locations
        stores = [i for i, loc in enumerate(locations) if loc["kind"] == "store"]
        self.stores_in[ANY_CITY] = stores
        for i in stores:
            self.stores_in.setdefault(locations[i]["city"], []).append(i)
        store_cum = _cumulative([rng.uniform(0.6, 1.6) for _ in stores])
        warehouses = [i for i, loc in enumerate(locations) if loc["kind"] == "warehouse"]
        self.warehouse_in = {locations[i]["city"]: i for i in reversed(warehouses)}
        self.warehouses = warehouses
        self.pickup_in: dict[str, list[int]] = {}
        self.kaspi_points_in: dict[str, list[int]] = {}
        for i, loc in enumerate(locations):
            if loc["offers_pickup"]:
                self.pickup_in.setdefault(loc["city"], []).append(i)
                if loc["kaspi_point_id"]:
                    self.kaspi_points_in.setdefault(loc["city"], []).append(i)
        self.return_places = [i for i in stores if locations[i]["accepts_returns"]]
        self.held = {(variant, location) for variant, location, quantity in plan.stock if quantity > 0}
        self.free = {(variant, location): quantity for variant, location, quantity in plan.stock}
        self.by_product: dict[int, list[int]] = {}
        for i, variant in enumerate(plan.variants):
            self.by_product.setdefault(variant["product"], []).append(i)

        customers = plan.customers
        all_customers = list(range(len(customers)))
        customer_cum = _cumulative(self.customer_weight)
        by_city: dict[str, list[int]] = {}
        for i, row in enumerate(customers):
            by_city.setdefault(row["city"], []).append(i)
        city_pool = {
            city: (members, _cumulative([self.customer_weight[i] for i in members]))
            for city, members in by_city.items()
        }

        normal_cum = _cumulative(
            [w * (0.5 if s else 1.0) for w, s in zip(self.variant_weight, self.variant_seasonal, strict=True)]
        )
        holiday_cum = _cumulative(
            [w * (3.5 if s else 1.0) for w, s in zip(self.variant_weight, self.variant_seasonal, strict=True)]
        )

        sources = [s for s, _ in data.ORDER_SOURCES]
        source_cum = _cumulative([w for _, w in data.ORDER_SOURCES])
        hours = [h for h, _ in data.HOUR_WEIGHTS]
        hour_cum = _cumulative([w for _, w in data.HOUR_WEIGHTS])

        days = [self.start + dt.timedelta(days=i) for i in range(HISTORY_DAYS)]
        intensity = [self._day_intensity(day, i, len(days)) for i, day in enumerate(days)]
        scale = self.size.orders / sum(intensity)
        self.numbers: dict[int, int] = {}
        self.kaspi_code = 310_000_000
        self.pending: list[tuple[dt.datetime, int, dict[str, Any]]] = []  # exchanges, repeated orders: by time
        self.pending_seq = itertools.count()
        self.twins = 0
        self.twin_of: dict[int, int] = {}  # a repeated order or an exchange → the order it follows

        for day, level in zip(days, intensity, strict=True):
            expected = level * scale
            count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
            times = []
            for _ in range(count):
                hour = rng.choices(hours, cum_weights=hour_cum)[0]
                placed = dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59), rng.randint(0, 59)), tzinfo=self.tz)
                if placed <= self.local_now:
                    times.append(placed)
            times.sort()
            holiday = self._is_holiday_season(day)
            line_cum = holiday_cum if holiday else normal_cum
            discount_chance = 0.22 if holiday or (day.month == 3 and day.day <= 8) else 0.08
            for placed in times:
                self._flush_pending(until=placed)
                source = rng.choices(sources, cum_weights=source_cum)[0]
                customer: int | None
                if source == "store":
                    store = stores[bisect_right(store_cum, rng.random() * store_cum[-1])]
                    pool = city_pool.get(locations[store]["city"])
                    if pool is None or rng.random() < 0.35:
                        customer = None  # a walk-in sale without a customer card
                    else:
                        customer = rng.choices(pool[0], cum_weights=pool[1])[0]
                    city = str(locations[store]["city"])
                    if customer is not None and rng.random() < 0.12:
                        # The endless aisle: sold at the till, delivered home from the warehouse.
                        how: tuple[str, int | None, list[int]] = ("delivery", store, self._warehouses_for(city))
                    else:
                        how = ("takeaway", store, [store])
                else:
                    customer = rng.choices(all_customers, cum_weights=customer_cum)[0]
                    city = str(customers[customer]["city"])
                    how = self._fulfilment(source, city)
                fulfillment, location, sourcing = how
                self._order(
                    placed=placed,
                    source=source,
                    customer=customer,
                    fulfillment=fulfillment,
                    location=location,
                    sourcing=sourcing,
                    city=city,
                    line_cum=line_cum,
                    discount_chance=discount_chance,
                )
        self._flush_pending(until=self.local_now)

    def _warehouses_for(self, city: str) -> list[int]:
        """The warehouses in the order they ship to `city`: the city's own first."""
        near = self.warehouse_in.get(city)
        return ([near] if near is not None else []) + [i for i in self.warehouses if i != near]

    def _fulfilment(self, source: str, city: str) -> tuple[str, int | None, list[int]]:
        """(fulfilment, the location handing it out or None, where to source lines, best first)."""
        rng, locations = self.rng, self.plan.locations
        if source == "kaspi":
            points = self.kaspi_points_in.get(city)
            if points and rng.random() < 0.55:
                point = rng.choice(points)  # Kaspi sold it from the point's stock: taken there
                return "pickup", point, [point]
            point = self._warehouses_for(city)[0]
            return "delivery", point, [point]  # Kaspi's courier collects it from the warehouse
        places = self.pickup_in.get(city)
        if places and rng.random() < 0.4:
            place = rng.choice(places)
            holds = [place] if locations[place]["kind"] == "store" else []
            return "pickup", place, holds + self._warehouses_for(city)
        return "delivery", None, self._warehouses_for(city)

    def _flush_pending(self, *, until: dt.datetime) -> None:
        """Place the orders that were due by `until` (exchanges at a return, an order repeated in another channel)."""
        while self.pending and self.pending[0][0] <= until:
            _at, _seq, order = heapq.heappop(self.pending)
            if self._order(**order) is None and order.get("exchange_for") is not None:
                # Nothing left to exchange for (the stock is held by other orders): the money goes back.
                record = next(r for r in reversed(self.plan.returns) if r["order"] == order["exchange_for"])
                record["refund"] = record["refund_instead"]

    def _number(self, placed: dt.datetime) -> str:
        yy = placed.year % 100
        self.numbers[yy] = self.numbers.get(yy, 0) + 1
        return f"A-{yy:02d}{self.numbers[yy]:04d}"

    def _draw_lines(
        self, *, line_cum: Sequence[float], discount_chance: float, sourcing: list[int], reserve: bool
    ) -> list[dict[str, Any]]:
        """1–4 distinct lines, each sourced at the first location that has it; an order still to hand over
        takes only what is available there now (another item is drawn when it is not)."""
        rng, variants = self.rng, self.plan.variants
        variant_ids = range(len(variants))
        lines: list[dict[str, Any]] = []
        nearest_warehouse = next((loc for loc in sourcing if loc in self.warehouses), sourcing[0])
        n_lines = rng.choices((1, 2, 3, 4), cum_weights=(55, 83, 95, 100))[0]
        picked = rng.choices(variant_ids, cum_weights=line_cum, k=n_lines)
        for variant in dict.fromkeys(picked):  # distinct, in drawn order
            quantity = rng.choices((1, 2, 3, 4), cum_weights=(80, 93, 98, 100))[0]
            source: int | None = None
            for _attempt in range(25):
                if reserve:
                    source = next((loc for loc in sourcing if self.free.get((variant, loc), 0) >= quantity), None)
                else:
                    source = next((loc for loc in sourcing if (variant, loc) in self.held), nearest_warehouse)
                if source is not None and all(line["variant"] != variant for line in lines):
                    break
                source = None
                variant = rng.choices(variant_ids, cum_weights=line_cum)[0]
                quantity = 1
            if source is None:
                continue
            price = variants[variant]["price"]
            discount = 0
            if rng.random() < discount_chance:
                percent = rng.choice((5, 10, 15, 20))
                discount = price * quantity * percent // 1000 * 10
            lines.append(
                {
                    "variant": variant,
                    "quantity": quantity,
                    "unit_price": price,
                    "discount": discount,
                    "location": source,
                }
            )
        return lines

    def _working(self, at: dt.datetime) -> dt.datetime:
        """`at` (shop time), or when the shop is next at work (10:00–21:00) if it falls outside."""
        if 10 <= at.hour < 21:
            return at
        day = at.date() + dt.timedelta(days=1 if at.hour >= 21 else 0)
        second = int(self.rng.random() * 5400)  # within the first hour and a half
        return dt.datetime.combine(day, dt.time(10 + second // 3600, second // 60 % 60, second % 60), self.tz)

    def _later(self, at: dt.datetime, low: float, high: float) -> dt.datetime:
        """Between `low` and `high` minutes after `at`, to the second."""
        return at + dt.timedelta(seconds=int(60 * (low + (high - low) * self.rng.random())))

    def _after(self, at: dt.datetime, low: int, high: int) -> dt.datetime:
        """Between `low` and `high` minutes after `at` (shop time), in working hours."""
        return self._working(at + dt.timedelta(seconds=int(60 * (low + (high - low) * self.rng.random()))))

    def _pick(self, options: Sequence[tuple[str, float]]) -> str:
        """One of the options' names, by their weights (a zero weight is never picked)."""
        left = self.rng.random() * sum(weight for _, weight in options)
        for name, weight in options:
            left -= weight
            if left < 0:
                return name
        return next(name for name, weight in reversed(options) if weight)

    def _method(self, source: str, fulfillment: str, total: int) -> str:
        rng = self.rng
        if source == "store":
            if fulfillment == "takeaway":
                options: tuple[tuple[str, int], ...] = (("cash_in_store", 35), ("card_terminal", 40), ("kaspi_pay", 25))
            else:
                options = (("card_terminal", 55), ("kaspi_pay", 45))  # paid at the till, delivered later
        elif source == "kaspi":
            options = (("kaspi_pay", 70), ("kaspi_red", 30))
        else:
            on_handover = "cash_on_delivery" if fulfillment == "delivery" else rng.choice(HANDOVER_METHODS)
            if source in ("web", "satu", "api"):
                options = (("card_online", 65), (on_handover, 25), ("kaspi_pay", 10))
            else:
                big = 25 if total >= 150_000 else 0
                options = (("kaspi_pay", 40), ("card_online", 20), (on_handover, 30), ("bank_transfer", big))
        return self._pick(options)

    def _life(
        self,
        *,
        placed: dt.datetime,
        source: str,
        fulfillment: str,
        method: str,
        same_city: bool,
        repeated: bool,
        exchange: bool,
    ) -> tuple[list[tuple[str, dt.datetime, str]], dt.datetime | None, dt.datetime | None]:
        """The order's history as it would have happened: [(status, when, why)], when it was paid and when
        its goods left the shelf (None: not yet). Steps still in the future are not there yet; a few orders
        are cancelled on the way."""
        rng = self.rng
        first = ("new", placed, f"placed via {source}")
        if repeated:
            return [first], None, None  # left for an operator to confirm or merge
        if fulfillment == "takeaway":
            done = self._later(placed, 1, 9)
            if not exchange and rng.random() < 0.01:
                steps = [first, ("cancelled", done, "Покупатель передумал на кассе")]
            else:
                steps = [first, ("completed", done, "")]
            steps = [s for s in steps if s[1] <= self.now]
            sold = steps[-1][1] if steps[-1][0] == "completed" else None
            return steps, sold, sold
        kaspi = source == "kaspi"
        at_till = source == "store"  # the endless aisle: paid at the till, delivered later
        prepaid = at_till or method in PREPAID_METHODS
        if kaspi:
            confirmed = self._after(placed, 1, 4)
        elif at_till:
            confirmed = self._later(placed, 1, 3)
        else:  # an operator gets to it within minutes, or hours on a busy day, or the next day
            confirmed = self._after(placed, 3, 20 if rng.random() < 0.4 else rng.choice((120, 600, 1440)))
        planned: list[tuple[str, dt.datetime, str]] = [
            first,
            ("confirmed", confirmed, "accepted at Kaspi.kz" if kaspi else ""),
        ]
        last = confirmed
        if prepaid:
            if method == "bank_transfer":
                last = self._after(confirmed, 1200, 1800)
            else:
                last = self._later(confirmed, 1, 2 if at_till else 20)
            planned.append(("paid", last, ""))
        if last.hour < 16 and rng.random() < 0.6:
            picking = self._after(last, 30, 180)
        else:  # the next morning, or the day after when the stock comes from another location
            picking = self._after(last, 720, rng.choice((900, 2400)))
        planned.append(("picking", picking, ""))
        if fulfillment == "delivery":
            shipped = self._after(picking, 60, 240)
            delivered = self._after(shipped, 240, 1800) if same_city else self._after(shipped, 1440, 4 * 1440)
            planned += [
                ("shipped", shipped, ""),
                ("delivered", delivered, ""),
                ("completed", self._after(delivered, 600, 1500), ""),
            ]
            leaves, cash = "shipped", "delivered"
        else:
            ready = self._after(picking, 30, 180) if same_city else self._after(picking, 1440, 3 * 1440)
            picked = self._after(ready, 60, rng.choice((240, 1440, 3 * 1440, 4 * 1440)))
            completed = self._later(picked, 1, 5)
            planned += [("ready", ready, ""), ("picked_up", picked, ""), ("completed", completed, "")]
            leaves = cash = "picked_up"
        if not exchange and rng.random() < 0.05:
            options = [
                r
                for r in data.CANCEL_REASONS
                if (fulfillment == "pickup" or r[2] != "ready") and (prepaid or r[0] != data.PAYMENT_FAILED)
            ]
            reason, _weight, after = rng.choices(options, weights=[r[1] for r in options])[0]
            position = next(i for i, step in enumerate(planned) if step[0] == after)
            wait = (3 * 1440, 5 * 1440) if after == "ready" else (10, 180)
            planned = [*planned[: position + 1], ("cancelled", self._after(planned[position][1], *wait), reason)]
        steps = [s for s in planned if s[1] <= self.now]
        when = {status: at for status, at, _ in steps}
        return steps, when.get("paid" if prepaid else cash), when.get(leaves)

    def _order(
        self,
        *,
        placed: dt.datetime,
        source: str,
        customer: int | None,
        fulfillment: str,
        location: int | None,
        sourcing: list[int],
        city: str,
        line_cum: Sequence[float] = (),
        discount_chance: float = 0.0,
        lines: list[dict[str, Any]] | None = None,
        comment: str = "",
        repeats: int | None = None,
        exchange_for: int | None = None,
    ) -> int | None:
        """One order with its lines, history, payments, stock, Kaspi record, return; its index (None: no line)."""
        rng, plan = self.rng, self.plan
        age_days = (self.now - placed).total_seconds() / 86400
        if lines is None:
            # Whether it is still to hand over decides if its stock must be there now: settle the life first.
            probe = self._draw_lines(
                line_cum=line_cum, discount_chance=discount_chance, sourcing=sourcing, reserve=False
            )
            method_total = sum(line["unit_price"] * line["quantity"] - line["discount"] for line in probe)
        else:
            probe = lines
            method_total = sum(line["unit_price"] * line["quantity"] - line["discount"] for line in lines)
        method = self._method(source, fulfillment, method_total)
        same_city = city == plan.locations[sourcing[0]]["city"]
        steps, paid_at, handover = self._life(
            placed=placed, source=source, fulfillment=fulfillment, method=method, same_city=same_city,
            repeated=repeats is not None, exchange=exchange_for is not None,
        )  # fmt: skip
        status = steps[-1][0]
        open_ = status in RESERVING
        if open_ and lines is None:
            probe = self._draw_lines(
                line_cum=line_cum, discount_chance=discount_chance, sourcing=sourcing, reserve=True
            )
        elif open_ and lines is not None:
            for line in lines:
                if self.free.get((line["variant"], line["location"]), 0) < line["quantity"]:
                    return None  # the repeat finds no stock left: it never happened
        if not probe:
            return None
        index = len(plan.orders)
        first_line = len(plan.lines)
        total = 0
        for line in probe:
            total += line["unit_price"] * line["quantity"] - line["discount"]
            plan.lines.append({**line, "order": index})
            if open_:
                self.free[(line["variant"], line["location"])] -= line["quantity"]
        external_id = kaspi = ""
        if source == "kaspi":
            self.kaspi_code += rng.randint(1, 97)
            kaspi = str(self.kaspi_code)
            external_id = base64.b64encode(f"{kaspi}:{rng.getrandbits(24):06X}".encode()).decode()
        if not comment and source != "store" and rng.random() < 0.06:
            comment = rng.choice(data.ORDER_COMMENTS)
        if source == "kaspi":
            comment = f"Kaspi.kz {kaspi}"
        plan.orders.append(
            {
                "number": self._number(placed),
                "customer": customer,
                "source": source,
                "external_id": external_id,
                "status": status,
                "location": location,
                "total": total,
                "comment": comment,
                "placed_at": placed,
                "fulfillment": fulfillment,
                "delivery_address": {},  # filled from the customer's addresses (see _addresses)
                "conversation": None,  # linked once the conversations exist (see _link_conversations)
                "possible_duplicate_of": repeats,
                "history": steps,
                "handover": handover,
                "kaspi": None,
                "lines": (first_line, len(plan.lines)),
            }
        )
        order = plan.orders[-1]
        if repeats is not None:
            self.twin_of[index] = repeats
        self._payments(index, method=method, placed=placed, paid_at=paid_at, steps=steps, exchange_for=exchange_for)
        if exchange_for is not None:
            exchanged = next(r for r in reversed(plan.returns) if r["order"] == exchange_for)
            exchanged["replacement"] = index
            self.twin_of[index] = exchange_for
        elif handover is not None and status == "completed" and customer is not None and age_days > 3:
            self._maybe_return(index, handover=handover, city=city)
        if source == "kaspi":
            order["kaspi"] = self._kaspi_record(
                kaspi, external_id, order["status"], placed, fulfillment, order["history"]
            )
        if (
            repeats is None
            and customer is not None
            and source in REPEATED_FROM
            and status not in ("cancelled", "returned")
            and age_days < 5
            and self.twins < (12 if self.size.large_network else 6)
            and rng.random() < 0.5
        ):
            self.twins += 1
            at = self._later(placed, 8, 50)
            if at < self.now and at.hour < 22:
                repeat = {
                    "placed": at,
                    "source": "phone",
                    "customer": customer,
                    "fulfillment": fulfillment,
                    "location": location,
                    "sourcing": sourcing,
                    "city": city,
                    "lines": [{k: v for k, v in line.items() if k != "order"} for line in probe],
                    "repeats": index,
                }
                heapq.heappush(self.pending, (at, next(self.pending_seq), repeat))
        return index

    def _payments(
        self,
        order: int,
        *,
        method: str,
        placed: dt.datetime,
        paid_at: dt.datetime | None,
        steps: list[tuple[str, dt.datetime, str]],
        exchange_for: int | None,
    ) -> None:
        """Paid orders have payments summing to their total; unpaid ones a pending payment; a cancelled
        order paid already is refunded, one not paid by card or Kaspi shows the failed attempt."""
        rng, plan = self.rng, self.plan
        row = plan.orders[order]
        total, status = row["total"], row["status"]
        prepaid = method in PREPAID_METHODS
        created = placed if prepaid or method in ("cash_on_delivery",) else (paid_at or placed)
        if method == "bank_transfer":
            created = steps[1][1] if len(steps) > 1 else placed  # the invoice goes out once confirmed
        reference = ""
        if method in ("card_online",):
            reference = f"pay_{rng.getrandbits(48):012x}"
        elif method in ("kaspi_pay", "kaspi_red"):
            reference = (
                row["comment"].removeprefix("Kaspi.kz ")
                if row["source"] == "kaspi"
                else str(rng.randint(10**9, 10**10 - 1))
            )
        elif method == "bank_transfer":
            reference = f"П/п №{rng.randint(100, 9999)}"
        if exchange_for is not None:
            reference = f"exchange:{plan.orders[exchange_for]['number']}"
        first = len(plan.payments)
        if status == "cancelled":
            if paid_at is not None:
                plan.payments.append(
                    {"order": order, "method": method, "amount": total, "status": "paid", "reference": reference,
                     "created_at": created}
                )  # fmt: skip
                plan.payments.append(
                    {"order": order, "method": method, "amount": total, "status": "refunded", "reference": reference,
                     "created_at": steps[-1][1]}
                )  # fmt: skip
            elif prepaid and method != "bank_transfer":
                plan.payments.append(
                    {"order": order, "method": method, "amount": total, "status": "failed", "reference": reference,
                     "created_at": created}
                )  # fmt: skip
        else:
            plan.payments.append(
                {
                    "order": order,
                    "method": method,
                    "amount": total,
                    "status": "paid" if paid_at is not None else "pending",
                    "reference": reference,
                    "created_at": min(created, paid_at) if paid_at is not None else created,
                }
            )
        row["payments"] = list(range(first, len(plan.payments)))

    def _kaspi_record(
        self, code: str, kaspi_id: str, status: str, placed: dt.datetime, fulfillment: str,
        steps: list[tuple[str, dt.datetime, str]],
    ) -> dict[str, Any]:  # fmt: skip
        """What the Kaspi.kz poll recorded for the order: its state and status there, what it was told."""
        kaspi_delivery = fulfillment == "delivery"
        live = "KASPI_DELIVERY" if kaspi_delivery else "PICKUP"
        state, kaspi_status, pushed = live, "ACCEPTED_BY_MERCHANT", "ACCEPTED_BY_MERCHANT"
        if status in ("completed", "picked_up", "delivered"):
            state, kaspi_status = "ARCHIVE", "COMPLETED"
        elif status == "returned":
            state, kaspi_status = "ARCHIVE", "RETURNED"
        elif status == "cancelled":
            state, kaspi_status, pushed = "ARCHIVE", "CANCELLED", "CANCELLED"
        elif status in ("ready", "shipped") and kaspi_delivery:
            pushed = "ASSEMBLE"
        return {
            "kaspi_id": kaspi_id,
            "code": code,
            "state": state,
            "status": kaspi_status,
            "kaspi_delivery": kaspi_delivery,
            "created_on_kaspi": placed - dt.timedelta(seconds=self.rng.randint(20, 90)),
            "outcome": "accepted",
            "pushed_status": pushed,
            "updated_at": steps[-1][1],
        }

    def _maybe_return(self, order: int, *, handover: dt.datetime, city: str) -> None:
        """~2.5% of handed-over orders come back within two weeks, a third at another store; a single unit
        of the wrong size or colour is often exchanged for another variant of the same product."""
        rng, plan = self.rng, self.plan
        if rng.random() >= 0.025 or not self.return_places:
            return
        row = plan.orders[order]
        at = self._working(handover + dt.timedelta(days=rng.randint(1, 14), minutes=rng.randint(0, 600)))
        completed_at = row["history"][-1][1]
        if at <= completed_at or at >= self.now - dt.timedelta(minutes=30):
            return
        home = self.stores_in.get(city) or self.return_places
        sold_at = row["location"] if row["location"] in self.return_places else None
        if sold_at is not None and rng.random() < 0.7:
            place = sold_at
        else:
            others = [s for s in home if s != sold_at] or self.return_places
            place = rng.choice(others)
        lines = list(range(*row["lines"]))
        reason = rng.choices([r for r, _ in data.RETURN_REASONS], weights=[w for _, w in data.RETURN_REASONS])[0]
        full = (len(lines) == 1 and plan.lines[lines[0]]["quantity"] == 1) or rng.random() < 0.55
        back = [(i, plan.lines[i]["quantity"]) for i in lines] if full else [(lines[-1], 1)]
        value = sum(
            (plan.lines[i]["unit_price"] * plan.lines[i]["quantity"] - plan.lines[i]["discount"])
            * q
            // plan.lines[i]["quantity"]
            for i, q in back
        )
        record: dict[str, Any] = {
            "order": order,
            "location": place,
            "reason": reason,
            "at": at,
            "lines": back,
            "refund": None,
            "replacement": None,
        }
        first_line = plan.lines[back[0][0]]
        siblings = [
            v for v in self.by_product[plan.variants[first_line["variant"]]["product"]] if v != first_line["variant"]
        ]
        one_unit = len(back) == 1 and back[0][1] == 1
        exchange = one_unit and bool(siblings) and reason.startswith("Не подошёл") and rng.random() < 0.6
        if exchange:
            variant = rng.choice(siblings)
            price = plan.variants[variant]["price"]
            placed = self._later(at, 2, 10)
            heapq.heappush(
                self.pending,
                (
                    placed,
                    next(self.pending_seq),
                    {
                        "placed": placed,
                        "source": "store",
                        "customer": row["customer"],
                        "fulfillment": "takeaway",
                        "location": place,
                        "sourcing": [place],
                        "city": city,
                        "lines": [
                            {"variant": variant, "quantity": 1, "unit_price": price, "discount": 0, "location": place}
                        ],
                        "comment": f"Exchange for order {row['number']}",
                        "exchange_for": order,
                    },
                ),
            )
        method = plan.payments[row["payments"][0]]["method"] if row["payments"] else "cash_in_store"
        if method == "cash_on_delivery":
            method = "cash_in_store"  # paid to the courier, paid back at the store's till
        record["refund_instead"] = {"method": method, "amount": value, "created_at": at}
        if not exchange:
            record["refund"] = record["refund_instead"]
        record["index"] = len(plan.returns)
        plan.returns.append(record)
        if full:
            row["status"] = "returned"
            row["history"].append(("returned", at, reason))

    # Second cards -----------------------------------------------------------------------------------

    def _second_cards(self) -> None:
        """Give ~2% of people a second card, as happens in a real shop, for the merge and suggestion demos.

        'whatsapp': a card made from a WhatsApp chat, whose handle is the first card's phone; it took the
        person's WhatsApp orders. 'email': a duplicate a clerk typed with the same name and city and only
        an e-mail; it took some web orders. 'phone': the same name and city with a new number; it took the
        later half of the orders.
        """
        rng, plan = self.rng, self.plan
        people = len(plan.customers)
        orders_of: dict[int, list[int]] = {}
        for i, order in enumerate(plan.orders):
            if order["customer"] is not None:
                orders_of.setdefault(order["customer"], []).append(i)
        for n, first in enumerate(rng.sample(range(people), round(people * DUPLICATE_SHARE))):
            how = SECOND_CARD_KINDS[n % len(SECOND_CARD_KINDS)]
            card = {**plan.customers[first], "birthday": None}
            mine = orders_of.get(first, [])
            if how == "whatsapp":
                # A WhatsApp profile often gives only a first name, and the chat never asked for the city.
                if rng.random() < 0.5:
                    card["last_name"] = ""
                if rng.random() < 0.6:
                    card["city"] = ""
                moved = [i for i in mine if plan.orders[i]["source"] == "whatsapp"]
            elif how == "email":
                moved = [i for i in mine if plan.orders[i]["source"] in ("web", "email") and rng.random() < 0.6]
            else:
                moved = mine[(len(mine) + 1) // 2 :] if len(mine) >= 2 else []
            # An order repeated in another channel, or an exchange, stays with the card of the first order.
            linked = {self.twin_of.get(i, i) for i in moved}
            moved = [i for i in mine if self.twin_of.get(i, i) in linked]
            index = len(plan.customers)
            plan.customers.append(card)
            self.female.append(self.female[first])
            self.first_card[index] = first
            for i in moved:
                plan.orders[i]["customer"] = index
            plan.duplicates.append((first, index, how))

    # Customer history and identities ---------------------------------------------------------------

    def _customer_history_and_identities(self) -> None:
        rng, plan = self.rng, self.plan
        first_at: dict[int, dt.datetime] = {}
        last_at: dict[int, dt.datetime] = {}
        first_source: dict[int, str] = {}
        channel_first: dict[tuple[int, str], dt.datetime] = {}
        channel_last: dict[tuple[int, str], dt.datetime] = {}
        for order in plan.orders:  # chronological
            customer = order["customer"]
            if customer is None:
                continue
            placed, source = order["placed_at"], order["source"]
            first_at.setdefault(customer, placed)
            first_source.setdefault(customer, source)
            last_at[customer] = placed
            channel_first.setdefault((customer, source), placed)
            channel_last[(customer, source)] = placed
            if source == "store":
                self.first_store.setdefault(customer, order["location"])

        signup_sources = ("web", "instagram", "whatsapp", "telegram", "store", "webchat")
        signup_cum = _cumulative([30, 25, 20, 10, 10, 5])
        history_seconds = int((self.now - dt.datetime.combine(self.start, dt.time(10), tzinfo=self.tz)).total_seconds())
        phones_used: set[str] = set()
        taken: set[tuple[str, str]] = set()
        loyalty = itertools.count(10_000_001)
        second_card = {card: how for _first, card, how in plan.duplicates}
        whatsapp_elsewhere = {first for first, _card, how in plan.duplicates if how == "whatsapp"}
        tag_names = [name for name, _ in data.CUSTOMER_TAGS]
        tag_weights = [weight for _, weight in data.CUSTOMER_TAGS]
        plan.tags = list(tag_names)

        def unique(kind: str, make: Any) -> str:
            for _ in range(1000):
                value = make()
                if (kind, value) not in taken:
                    taken.add((kind, value))
                    return str(value)
            raise RuntimeError(f"could not find a free {kind} identity")

        for index, customer in enumerate(plan.customers):
            how = second_card.get(index, "")
            if index in first_at:
                source = first_source[index]
                lead = (
                    rng.randint(1, 30) if source == "store" else rng.randint(5, 180)
                )  # minutes before the first order
                created = first_at[index] - dt.timedelta(minutes=lead)
                last_seen = last_at[index]
            else:
                source = {"whatsapp": "whatsapp", "email": "web"}.get(how) or rng.choices(
                    signup_sources, cum_weights=signup_cum
                )[0]
                created = self.now - dt.timedelta(seconds=rng.randint(3600, history_seconds))
                last_seen = created
            customer["created_at"] = created
            customer["created_source"] = source
            customer["loyalty_card"] = ""
            if not how and (index, "store") in channel_first and rng.random() < 0.6:
                customer["loyalty_card"] = f"OM{next(loyalty)}"
            if rng.random() < 0.04:
                chosen = rng.choices(range(len(tag_names)), weights=tag_weights, k=2 if rng.random() < 0.2 else 1)
                plan.customer_tags.extend((index, tag) for tag in dict.fromkeys(chosen))
            kinds: set[str] = set()
            self.kinds.append(kinds)

            def add(
                kind: str,
                value: str,
                raw: str,
                channel: str,
                *,
                verified: bool = False,
                display_name: str = "",
                index: int = index,
                created: dt.datetime = created,
                kinds: set[str] = kinds,
            ) -> None:
                """An identity first seen with the first order through its channel (else at sign-up)."""
                first = channel_first.get((index, channel), created)
                kinds.add(kind)
                plan.identities.append(
                    {
                        "customer": index,
                        "kind": kind,
                        "value": value,
                        "raw_value": raw,
                        "display_name": display_name,
                        "verified": verified,
                        "first_seen_at": first,
                        "last_seen_at": channel_last.get((index, channel), first),
                        "channel": channel,
                    }
                )

            latin_first = transliterate(customer["first_name"])
            latin_last = transliterate(customer["last_name"]) or latin_first
            if how == "whatsapp":
                # The handle is the first card's number: no phone identity here, the (phone, value) is taken.
                phone = self.phone_of[self.first_card[index]]
                digits = phone.removeprefix("+")
                add("whatsapp", phone, digits, "whatsapp", verified=True, display_name=self._profile_name(customer))
                continue
            if how == "email":
                email = unique("email", partial(self._email, latin_first, latin_last))
                channel = "email" if (index, "email") in channel_first else "web"
                add("email", email, email, channel, verified=rng.random() < 0.5)
                continue

            # Phone: everyone else has one, typed in whatever way the channel delivered it.
            while True:
                national = rng.choice(data.MOBILE_PREFIXES) + f"{rng.randint(0, 9_999_999):07d}"
                if national not in phones_used:
                    phones_used.add(national)
                    break
            raw = self._typed_phone(national)
            phone = normalize_phone(raw, region="KZ")
            self.phone_of[index] = phone
            taken.add(("phone", phone))
            kinds.add("phone")
            plan.identities.append(
                {
                    "customer": index,
                    "kind": "phone",
                    "value": phone,
                    "raw_value": raw,
                    "display_name": "",
                    "channel": source,
                    "verified": source in ("store", "whatsapp", "kaspi", "phone") or rng.random() < 0.3,
                    "first_seen_at": created,
                    "last_seen_at": last_seen,
                }
            )

            used = [
                s
                for s in ("whatsapp", "telegram", "instagram", "web", "email", "viber", "vk", "webchat")
                if (index, s) in channel_first or source == s
            ]
            if ("whatsapp" in used or rng.random() < 0.3) and index not in whatsapp_elsewhere:
                # WhatsApp's wa_id is the number's digits; the stored value is E.164 (normalize_identity).
                taken.add(("whatsapp", phone))
                digits = phone.removeprefix("+")
                add("whatsapp", phone, digits, "whatsapp", verified=True, display_name=self._profile_name(customer))
            if "telegram" in used or rng.random() < 0.12:
                tg = unique("telegram", lambda: str(rng.randint(100_000_000, 7_999_999_999)))
                add("telegram", tg, tg, "telegram", verified=True, display_name=self._profile_name(customer))
            if "instagram" in used or rng.random() < 0.12:
                handle = unique("instagram", partial(self._instagram_handle, latin_first, latin_last))
                add("instagram", handle, "@" + handle, "instagram", display_name=self._profile_name(customer))
            if "web" in used or "email" in used or rng.random() < 0.3:
                email = unique("email", partial(self._email, latin_first, latin_last))
                typed = email if rng.random() < 0.7 else email[:1].upper() + email[1:]
                add("email", email, typed, "email" if "email" in used else "web", verified=rng.random() < 0.5)
            if "viber" in used:
                viber = unique("viber", lambda: "".join(rng.choice(VIBER_ALPHABET) for _ in range(22)) + "==")
                add("viber", viber, viber, "viber", verified=True, display_name=self._profile_name(customer))
            if "vk" in used:
                vk = unique("vk", lambda: str(rng.randint(10_000_000, 899_999_999)))
                add("vk", vk, vk, "vk", verified=True, display_name=customer_full_name(customer))
            if "webchat" in used:
                visitor = unique("webchat", lambda: f"v-{rng.getrandbits(64):016x}")
                add("webchat", visitor, visitor, "webchat")

    def _profile_name(self, customer: dict[str, Any]) -> str:
        """The name a messenger profile shows: a first name, a full name, or the first name in Latin."""
        style = self.rng.choices(range(3), weights=(50, 35, 15))[0]
        if style == 0 or not customer["last_name"]:
            return str(customer["first_name"])
        if style == 1:
            return customer_full_name(customer)
        return transliterate(customer["first_name"]).capitalize()

    # Preferences, consents, addresses ---------------------------------------------------------------

    def _store_for(self, index: int) -> int:
        """The store a customer is known at: the one of their first store purchase, else one in their city."""
        if index in self.first_store:
            return self.first_store[index]
        stores = self.stores_in.get(self._home_city(index)) or self.stores_in[ANY_CITY]
        return stores[index % len(stores)]

    def _home_city(self, index: int) -> str:
        city = self.plan.customers[index]["city"]
        return str(city or self.plan.customers[self.first_card.get(index, index)]["city"])

    def _consent(
        self, *, customer: int, channel: str, purpose: str, granted: bool, at: dt.datetime, source: str, method: str
    ) -> dt.datetime:
        """A consent row and its timeline entry, worded and described as check_record_consent does."""
        plan = self.plan
        plan.consents.append(
            {
                "customer": customer,
                "channel": channel,
                "purpose": purpose,
                "granted": granted,
                "at": at,
                "source": source,
                "method": method,
            }
        )
        key = (channel, purpose, granted, method)
        if key not in self.consent_summaries:
            verb = "granted" if granted else "withdrawn"
            channel_label = "every channel" if channel == Consent.ANY_CHANNEL else ChannelKind(channel).label
            self.consent_summaries[key] = f"{Consent.Purpose(purpose).label} via {channel_label}: {verb} ({method})"
        plan.timeline.append(
            {
                "customer": customer,
                "at": at,
                "kind": TimelineEntry.Kind.CONSENT.value,
                "channel": "" if channel == Consent.ANY_CHANNEL else channel,
                "summary": self.consent_summaries[key],
                "ref": ("consent", len(plan.consents) - 1),
                "data": {"purpose": purpose, "channel": channel, "granted": granted, "method": method},
            }
        )
        return at

    def _preferences_and_consents(self) -> None:
        rng, plan = self.rng, self.plan
        for index, customer in enumerate(plan.customers):
            kinds = self.kinds[index]
            created: dt.datetime = customer["created_at"]
            updated = created

            preferred = ""
            if rng.random() < 0.35:
                options = [(c, w) for c, w in PREFERRED_CHANNELS if ("phone" if c == "sms" else c) in kinds]
                if options:
                    preferred = rng.choices([c for c, _ in options], weights=[w for _, w in options])[0]
            customer["preferred_channel"] = preferred
            customer["do_not_call"] = "phone" in kinds and preferred != "phone" and rng.random() < 0.05
            quiet = rng.random() < 0.08
            customer["quiet_hours_start"] = QUIET_HOURS[0] if quiet else None
            customer["quiet_hours_end"] = QUIET_HOURS[1] if quiet else None

            # Order and service messages: agreed at sign-up by most.
            if rng.random() < 0.7:
                source = customer["created_source"]
                where, how = data.SIGNUP_CONSENT.get(source, (source, "verbal" if source == "phone" else "chat reply"))
                if rng.random() < 0.3 and source == "store":
                    how = "checkbox"
                where = where.format(store=plan.locations[self._store_for(index)]["code"])
                updated = self._consent(
                    customer=index, channel=Consent.ANY_CHANNEL, purpose="transactional", granted=True, at=created,
                    source=where, method=how,
                )  # fmt: skip

            # Marketing: opt-in through WhatsApp or the newsletter form; some withdraw later.
            channels = [c for c in ("whatsapp", "email") if c in kinds]
            if channels and rng.random() < 0.3:
                channel = rng.choice(channels)
                at = self._daytime(min(self.now, created + dt.timedelta(days=rng.randint(0, 60))), after=created)
                where, how = (
                    ("whatsapp", "reply “Да”") if channel == "whatsapp" else ("web: newsletter form", "checkbox")
                )
                updated = self._consent(
                    customer=index, channel=channel, purpose="marketing", granted=True, at=at, source=where, method=how
                )
                withdrawn = at + dt.timedelta(days=rng.randint(7, 300))
                if rng.random() < 0.15 and withdrawn < self.now:
                    withdrawn = self._daytime(withdrawn, after=at)
                    where, how = ("whatsapp", "STOP reply") if channel == "whatsapp" else ("email", "unsubscribe link")
                    updated = self._consent(
                        customer=index, channel=channel, purpose="marketing", granted=False, at=withdrawn,
                        source=where, method=how,
                    )  # fmt: skip
            customer["updated_at"] = updated

    def _addresses(self) -> None:
        """1–2 addresses in their city for customers who had an order delivered; each delivery goes to one
        of the addresses the card had when it was placed (mostly the default)."""
        rng, plan = self.rng, self.plan
        deliveries: dict[int, list[int]] = {}
        for i, order in enumerate(plan.orders):
            if order["customer"] is not None and order["fulfillment"] == "delivery":
                deliveries.setdefault(order["customer"], []).append(i)
        for index in sorted(deliveries):
            city = self._home_city(index)
            streets = data.STREETS.get(city, data.GENERIC_STREETS)
            placed = [plan.orders[i]["placed_at"] for i in deliveries[index]]
            mine: list[dict[str, Any]] = []
            for n in range(2 if rng.random() < 0.25 else 1):
                at = placed[min(n * len(placed) // 2, len(placed) - 1)] - dt.timedelta(minutes=rng.randint(1, 20))
                house = rng.randint(1, 250)
                address = {
                    "customer": index,
                    "label": rng.choice(data.ADDRESS_LABELS) if n == 0 else rng.choice(("Работа", "Мама", "Дача")),
                    "city": city,
                    "line": f"{rng.choice(streets)}, {house}" + (rng.choice("абв") if rng.random() < 0.1 else ""),
                    "apartment": f"кв. {rng.randint(1, 240)}" if rng.random() < 0.7 else "",
                    "comment": rng.choice(data.ADDRESS_COMMENTS) if rng.random() < 0.2 else "",
                    "is_default": n == 0,
                    "created_at": at,
                }
                plan.addresses.append(address)
                mine.append(address)
                plan.customers[index]["updated_at"] = max(plan.customers[index]["updated_at"], at)
            for i in deliveries[index]:
                order = plan.orders[i]
                known = [a for a in mine if a["created_at"] <= order["placed_at"]] or mine[:1]
                address = known[0] if len(known) == 1 or rng.random() < 0.75 else known[-1]
                order["delivery_address"] = {
                    key: value
                    for key, value in (
                        ("city", address["city"]),
                        ("line1", address["line"]),
                        ("apartment", address["apartment"]),
                        ("comment", address["comment"]),
                    )
                    if value
                }

    # Timeline and counters ------------------------------------------------------------------------

    def _daytime(self, moment: dt.datetime, *, after: dt.datetime) -> dt.datetime:
        """A random time between 10:00 and 22:00 on the local day of `moment`, later than `after`, not in the future."""
        rng = self.rng
        day = moment.astimezone(self.tz).date()
        at = dt.datetime.combine(day, dt.time(rng.randint(10, 21), rng.randint(0, 59), rng.randint(0, 59)), self.tz)
        if at <= after:
            at = after + dt.timedelta(minutes=rng.randint(1, 30))
        return max(after, min(at, self.now - dt.timedelta(minutes=rng.randint(1, 30))))

    def _moment(self, after: dt.datetime) -> dt.datetime:
        """A random moment in opening hours between `after` and now."""
        span = max(60, int((self.now - after).total_seconds()))
        return self._daytime(after + dt.timedelta(seconds=self.rng.randint(0, span)), after=after)

    def _timeline(self) -> None:
        rng, plan = self.rng, self.plan
        currency = str(settings.OMNIA_CURRENCY)
        orders_of: dict[int, list[int]] = {}
        for i, order in enumerate(plan.orders):
            customer = order["customer"]
            if customer is None:
                continue
            orders_of.setdefault(customer, []).append(i)
            total, number = order["total"], order["number"]
            plan.timeline.append(
                {
                    "customer": customer,
                    "at": order["placed_at"],
                    "kind": TimelineEntry.Kind.ORDER.value,
                    "channel": order["source"],
                    "summary": f"{number}: {_tenge(total)} {currency}",
                    "ref": ("order", i),
                    "data": {"number": number, "total": f"{total}.00", "currency": currency},
                }
            )
        for record in plan.returns:
            order = plan.orders[record["order"]]
            number, refund = order["number"], record["refund"]
            if refund is not None:
                summary = f"{number}: returned, {_tenge(refund['amount'])} {currency} refunded"
            else:
                summary = f"{number}: exchanged for {plan.orders[record['replacement']]['number']}"
            plan.timeline.append(
                {
                    "customer": order["customer"],
                    "at": record["at"],
                    "kind": TimelineEntry.Kind.RETURN.value,
                    "channel": "store",
                    "summary": summary,
                    "ref": ("order", record["order"]),
                    "data": {"number": number, "total": f"{order['total']}.00", "currency": currency},
                }
            )

        kinds = [k for k, _ in EXTRA_CONTACTS]
        kind_cum = _cumulative([w for _, w in EXTRA_CONTACTS])
        channels = [c for c, _ in CONSULTATION_CHANNELS]
        channel_cum = _cumulative([w for _, w in CONSULTATION_CHANNELS])
        second_card = {card: how for _first, card, how in plan.duplicates}
        for index, customer in enumerate(plan.customers):
            a = "а" if self.female[index] else ""
            stores = self.stores_in.get(self._home_city(index), [])
            count = rng.choices((0, 1, 2, 3), weights=(45, 35, 15, 5))[0]
            for n in range(count + (1 if second_card.get(index) == "whatsapp" else 0)):
                at = self._moment(customer["created_at"])
                kind = "consultation" if n == count else rng.choices(kinds, cum_weights=kind_cum)[0]
                if kind == "visit" and not stores:
                    kind = "consultation"
                topic = rng.choice(data.CONSULTATION_TOPICS)
                store = rng.choice(stores) if stores else None
                store_name = _store_name(plan.locations[store]) if store is not None else ""
                ref: tuple[str, int] | None = None
                if kind == "consultation":
                    channel = "whatsapp" if n == count else rng.choices(channels, cum_weights=channel_cum)[0]
                    answers = [t for t in data.CONSULTATION_ANSWERS if store is not None or "{store}" not in t]
                    answer = rng.choice(answers).format(store=store_name)
                    summary = f"Спрашивал{a} про {topic} — {answer}"
                elif kind == "call":
                    channel = "phone"
                    earlier = [i for i in orders_of.get(index, []) if plan.orders[i]["placed_at"] < at]
                    templates = [t for t in data.CALL_SUMMARIES if earlier or "{order}" not in t]
                    order_number = plan.orders[earlier[-1]]["number"] if earlier else ""
                    summary = rng.choice(templates).format(a=a, order=order_number, topic=topic)
                elif kind == "visit":
                    channel = "store"
                    summary = rng.choice(data.VISIT_SUMMARIES).format(a=a, store=store_name, topic=topic)
                    ref = ("location", store) if store is not None else None
                else:
                    channel = ""
                    summary = rng.choice(data.NOTES)
                plan.timeline.append(
                    {
                        "customer": index,
                        "at": at,
                        "kind": kind,
                        "channel": channel,
                        "summary": summary,
                        "ref": ref,
                        "data": {},
                    }
                )

    # Inbox: channels and conversations ---------------------------------------------------------------

    def _hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}x}"

    def _token(self, length: int, alphabet: str = ALPHANUMERIC) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def _channels(self) -> None:
        """One connected channel of each kind, with made-up but well-formed keys, tokens and secrets."""
        rng = self.rng
        connected = dt.datetime.combine(
            self.start - dt.timedelta(days=rng.randint(20, 60)), dt.time(11, rng.randint(0, 59)), self.tz
        )
        bot_id = rng.randint(6_000_000_000, 7_999_999_999)
        whatsapp_number = f"+7 727 3{rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
        mailbox = f"shop@{SHOP_DOMAIN}"
        channels: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = [
            (
                "webchat",
                "Чат на сайте",
                f"webchat-{self._hex(10)}",
                {},
                {"site_url": f"https://{SHOP_DOMAIN}", "greeting": "Здравствуйте! Чем можем помочь?"},
            ),
            (
                "email",
                mailbox,
                f"email-{self._hex(10)}",
                {"username": mailbox, "password": self._token(20)},
                {
                    "address": mailbox,
                    "imap_host": "127.0.0.1",
                    "imap_port": 1143,
                    "smtp_host": "127.0.0.1",
                    "smtp_port": 1025,
                },
            ),
            (
                "telegram",
                "@omnia_demo_bot",
                f"tg-{self._hex(10)}",
                {"bot_token": f"{bot_id}:AA{self._token(33, URL_SAFE)}", "secret_token": self._hex(32)},
                {"bot_username": "omnia_demo_bot"},
            ),
            (
                "whatsapp",
                whatsapp_number,
                f"wa-{self._hex(10)}",
                {"access_token": "EAAG" + self._token(180), "app_secret": self._hex(32), "verify_token": self._hex(24)},
                {
                    "phone_number_id": str(rng.randint(10**14, 10**15 - 1)),
                    "waba_id": str(rng.randint(10**14, 10**15 - 1)),
                    "display_phone_number": whatsapp_number,
                },
            ),
            (
                "instagram",
                "@omnia.home.kz",
                f"ig-{self._hex(10)}",
                {"access_token": "EAAG" + self._token(180), "app_secret": self._hex(32), "verify_token": self._hex(24)},
                {"ig_user_id": f"1784{rng.randint(0, 10**13 - 1):013d}", "username": "omnia.home.kz"},
            ),
        ]
        sms = random.Random(f"{self.seed}-sms")
        sms_number = f"+7 717 2{sms.randint(10, 99)} {sms.randint(10, 99)} {sms.randint(10, 99)}"
        channels.append(
            (
                "sms",
                sms_number,
                f"sms-{sms.getrandbits(40):010x}",
                {"auth_token": f"{sms.getrandbits(128):032x}"},
                {"account_sid": f"AC{sms.getrandbits(128):032x}", "phone_number": sms_number.replace(" ", "")},
            )
        )
        for provider, name, key, credentials, config in channels:
            self.plan.channels.append(
                {
                    "provider": provider,
                    "name": name,
                    "key": key,
                    "credentials": credentials,
                    # Demo accounts: the tokens are made up and the mailbox is a local placeholder.
                    "config": {**config, "demo": True},
                    "team": INBOX_TEAM,
                    "first_response_minutes": 60 if provider == "email" else 1,
                    "created_at": connected,
                }
            )

    def _conversation_starts(self) -> list[tuple[dt.datetime, str]]:
        """When each conversation starts and its state, oldest first: the settled history, then the live work."""
        rng, size = self.rng, self.size
        days = [self.start + dt.timedelta(days=i) for i in range(HISTORY_DAYS - 2)]  # settled: older than 2 days
        day_cum = _cumulative([self._day_intensity(day, i, HISTORY_DAYS) for i, day in enumerate(days)])
        hours = [h for h, _ in data.HOUR_WEIGHTS]
        hour_cum = _cumulative([w for _, w in data.HOUR_WEIGHTS])
        history = []
        for _ in range(size.conversations - size.open_conversations):
            day = days[bisect_right(day_cum, rng.random() * day_cum[-1])]
            hour = rng.choices(hours, cum_weights=hour_cum)[0]
            history.append(dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59), rng.randint(0, 59)), self.tz))
        states = [s for s, _ in OPEN_STATES]
        state_weights = [w for _, w in OPEN_STATES]
        live = [
            (self.now - dt.timedelta(minutes=rng.randint(5, 26 * 60)), rng.choices(states, weights=state_weights)[0])
            for _ in range(size.open_conversations)
        ]
        return [(at, "resolved") for at in sorted(history)] + sorted(live)

    def _turns(self, state: str, provider: str) -> tuple[list[str], list[int]]:
        """Who writes each message ("in" customer, "out" operator; "thanks", "bye", "nudge" are closings) and
        the seconds from the conversation's start."""
        rng = self.rng
        if state == "new":
            turns = ["in", "nudge"]
        elif state == "waiting":
            turns = ["in", "out", "in"] if rng.random() < 0.6 else ["in", "out", "in", "out", "in"]
            if rng.random() < 0.3:
                turns.append("nudge")
        elif state == "pending":
            turns = ["in", "out"] if rng.random() < 0.6 else ["in", "out", "in", "out"]
        else:
            count = rng.choices((2, 3, 4, 5, 6, 7, 8), weights=(22, 14, 22, 12, 14, 6, 10))[0]
            if count % 2:
                turns = ["in", "out"] * ((count - 1) // 2) + ["thanks"]
            elif count == 8 or (count >= 4 and rng.random() < 0.4):
                turns = ["in", "out"] * ((count - 2) // 2) + ["thanks", "bye"]
            else:
                turns = ["in", "out"] * (count // 2)
        email = provider == "email"
        offsets, at = [], 0
        previous = ""
        for turn in turns:
            outbound = turn in ("out", "bye")
            if previous:
                if outbound:  # the operator answers
                    minutes = (
                        rng.randint(15, 240) if email else rng.choices((1, 4, 15, 60), weights=(25, 40, 25, 10))[0]
                    )
                elif previous in ("in", "nudge"):  # the customer writes again before an answer
                    minutes = rng.randint(2, 20)
                else:  # the customer answers
                    minutes = rng.randint(30, 600) if email else rng.randint(1, 15)
                at += rng.randint(20, 60 * minutes)
            offsets.append(at)
            previous = turn
        return turns, offsets

    def _recent_order(self, customer: int, start: dt.datetime, topic: str) -> int | None:
        """The customer's latest order a chat about `topic` ("order" or "return") can be about, if any."""
        plan = self.plan
        placed = self.orders_placed.get(customer, [])
        latest = bisect_right(placed, start)
        window = dt.timedelta(days=10 if topic == "order" else 30)
        for i in reversed(self.orders_by_customer.get(customer, [])[max(0, latest - 3) : latest]):
            order = plan.orders[i]
            if start - order["placed_at"] >= window or order["status"] == "cancelled":
                continue
            if topic == "order" and order["source"] == "store":  # bought at the till: nothing to ask about
                continue
            if topic == "order" or any(len(self.siblings[v]) > 1 for v in self.order_variants[i]):
                return i
        return None

    def _chat_values(self, customer: int, language: str, topic: str, order: int | None) -> tuple[str, dict[str, str]]:
        """The conversation's script topic and the values for its placeholders."""
        rng, plan = self.rng, self.plan
        city = self._home_city(customer)
        days = data.DELIVERY_DAYS[language]
        values = {
            "name": str(plan.customers[customer]["first_name"]),
            "store": _store_name(plan.locations[self._store_for(customer)]),
            "city": "-".join(p.capitalize() for p in transliterate(city).split("-")) if language == "en" else city,
            "days": days[0] if city == "Алматы" else days[1] if city in ("Астана", "Шымкент", "Караганда") else days[2],
            "qty": str(rng.randint(1, 6)),
        }
        variant = self.chat_variants[bisect_right(self.chat_variant_cum, rng.random() * self.chat_variant_cum[-1])]
        if order is not None:
            row = plan.orders[order]
            values |= {"order": row["number"], "total": _tenge(row["total"])}
            if topic == "return":
                variant = next(v for v in self.order_variants[order] if len(self.siblings[v]) > 1)
            else:
                topic = "order_delivery" if row["fulfillment"] == "delivery" else "order_pickup"
                if topic == "order_pickup":
                    values["store"] = _store_name(plan.locations[row["location"]])
        row = plan.variants[variant]
        product = f"{plan.products[row['product']]['name']}, {row['name']}"
        other = rng.choice([v for v in self.siblings[variant] if v != variant])
        values |= {
            "product": product[:1].lower() + product[1:] if product[1:2].islower() else product,
            "Product": product,
            "other": str(plan.variants[other]["name"]),
            "price": _tenge(row["price"]),
            "monthly": _tenge(round(row["price"] / 3)),
        }
        return topic, values

    def _prepare_chats(self) -> None:
        """Indexes the conversations draw from: orders per customer, products with variants to choose from."""
        plan = self.plan
        self.orders_by_customer: dict[int, list[int]] = {}
        self.orders_placed: dict[int, list[dt.datetime]] = {}
        for i, order in enumerate(plan.orders):  # chronological
            if order["customer"] is not None:
                self.orders_by_customer.setdefault(order["customer"], []).append(i)
                self.orders_placed.setdefault(order["customer"], []).append(order["placed_at"])
        self.order_variants: dict[int, list[int]] = {}
        for line in plan.lines:
            self.order_variants.setdefault(line["order"], []).append(line["variant"])
        by_product: dict[int, list[int]] = {}
        for i, variant in enumerate(plan.variants):
            by_product.setdefault(variant["product"], []).append(i)
        self.siblings: list[list[int]] = [by_product[v["product"]] for v in plan.variants]
        self.chat_variants = [i for i in range(len(plan.variants)) if len(self.siblings[i]) > 1]
        self.chat_variant_cum = _cumulative([self.variant_weight[i] for i in self.chat_variants])
        self.topic_names = [t for t, _, _ in data.CHAT_TOPICS]
        self.topic_cum = _cumulative([w for _, w, _ in data.CHAT_TOPICS])

    def _message_id(self, provider: str, chat: str, outbound: bool, counters: dict[str, int], email: str) -> str:
        """A provider's message id as its webhooks and send API return them."""
        rng = self.rng
        if provider == "telegram":  # a private chat's message_id sequence, shared by the bot and the person
            counters[chat] = counters.get(chat, rng.randint(1, 40)) + rng.choices((1, 2), weights=(9, 1))[0]
            return f"{chat}:{counters[chat]}"
        if provider == "whatsapp":
            tail = (
                (b"\x15\x02\x00\x11\x18\x12" + f"{rng.getrandbits(72):018X}".encode())
                if outbound
                else (b"\x15\x02\x00\x12\x18\x14" + f"{rng.getrandbits(80):020X}".encode())
            )
            raw = bytes((0x1C, 0x18, len(chat))) + chat.encode() + tail + b"\x00"
            return "wamid." + base64.b64encode(raw).decode()
        if provider == "instagram":
            return "m_" + self._token(86, URL_SAFE)
        if provider == "email":
            domain = SHOP_DOMAIN if outbound else email.rsplit("@", 1)[-1]
            return f"<{self._hex(24)}@{domain}>"
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def _conversations(self) -> None:
        """A few hundred chats over the history with customers who have a handle in that channel; the
        latest ones are still open. Each inbound message is also on the customer's timeline."""
        rng, plan = self.rng, self.plan
        self._prepare_chats()
        channel_of = {row["provider"]: i for i, row in enumerate(plan.channels)}
        handle: dict[tuple[int, str], int] = {}  # (customer, kind) → identity index
        for i, identity in enumerate(plan.identities):
            if identity["kind"] in channel_of:
                handle.setdefault((identity["customer"], identity["kind"]), i)
        by_age = sorted(range(len(plan.customers)), key=lambda c: (plan.customers[c]["created_at"], c))
        pools: dict[str, list[int]] = {
            # Anyone can open the site's chat (second cards excepted: they stay as the merge demos need them).
            kind: [c for c in by_age if ((c, kind) in handle if kind != "webchat" else c not in self.first_card)]
            for kind in channel_of
        }
        created = {kind: [plan.customers[c]["created_at"] for c in pool] for kind, pool in pools.items()}
        webchat_taken = {row["value"] for row in plan.identities if row["kind"] == "webchat"}
        providers = [p for p, _ in data.INBOX_CHANNELS]
        provider_cum = _cumulative([w for _, w in data.INBOX_CHANNELS])
        labels = {topic: label for topic, _, label in data.CHAT_TOPICS}
        busy: dict[tuple[int, str], dt.datetime] = {}  # the time a customer's last conversation there ended
        instagram_ids: dict[int, str] = {}
        counters: dict[str, int] = {}
        used_ids: set[tuple[str, str]] = set()

        for start, state in self._conversation_starts():
            provider = rng.choices(providers, cum_weights=provider_cum)[0]
            turns, offsets = self._turns(state, provider)
            if state != "resolved":
                start = min(start, self.now - dt.timedelta(seconds=offsets[-1] + rng.randint(60, 1800)))
            topic = rng.choices(self.topic_names, cum_weights=self.topic_cum)[0]
            eligible = bisect_right(created[provider], start)
            customer, order = -1, None
            for attempt in range(30):
                if not eligible:
                    break
                candidate = pools[provider][rng.randrange(eligible)]
                ended = busy.get((candidate, provider))
                if ended is not None and ended >= start:  # one conversation at a time per customer and channel
                    continue
                if topic in ("order", "return"):
                    order = self._recent_order(candidate, start, topic)
                    if order is None and attempt < 20:
                        continue  # look for someone who has such an order
                customer = candidate
                break
            if customer < 0:
                continue
            if topic in ("order", "return") and order is None:
                topic = "availability"
            card = plan.customers[customer]
            language = card["language"]
            if language == "kk" and rng.random() < 0.4:
                language = "kk"
            elif rng.random() < 0.06:
                language = "en"
            else:
                language = "ru"
            topic, values = self._chat_values(customer, language, topic, order)
            script = rng.choice(data.CHAT_SCRIPTS[language][topic])

            identity_index = handle.get((customer, provider))
            if identity_index is None:  # a webchat visitor seen for the first time
                while True:
                    visitor = f"v-{rng.getrandbits(64):016x}"
                    if visitor not in webchat_taken:
                        webchat_taken.add(visitor)
                        break
                identity_index = len(plan.identities)
                handle[(customer, provider)] = identity_index
                self.kinds[customer].add("webchat")
                plan.identities.append(
                    {
                        "customer": customer,
                        "kind": "webchat",
                        "value": visitor,
                        "raw_value": visitor,
                        "display_name": "",
                        "verified": False,
                        "first_seen_at": start,
                        "last_seen_at": start,
                        "channel": "webchat",
                    }
                )
            identity = plan.identities[identity_index]
            if provider == "whatsapp":
                chat = str(identity["raw_value"])  # the wa_id: the number's digits
            elif provider == "instagram":  # the page-scoped id Instagram replies to, not the public handle
                chat = instagram_ids.setdefault(customer, str(rng.randint(10**15, 10**16 - 1)))
            else:
                chat = str(identity["value"])

            conversation = len(plan.conversations)
            channel = channel_of[provider]
            messages: list[dict[str, Any]] = []
            line = 0
            for turn, offset in zip(turns, offsets, strict=True):
                outbound = turn in ("out", "bye")
                if turn in ("in", "out"):
                    text = script[line]
                    line += 1
                else:
                    pool = {"thanks": data.CHAT_THANKS, "bye": data.CHAT_GOODBYES, "nudge": data.CHAT_NUDGES}[turn]
                    text = rng.choice(pool[language])
                text = text.format_map(values)
                if provider == "email":
                    text += "\n\n" + (data.EMAIL_SIGNATURES[language] if outbound else customer_full_name(card))
                while True:
                    message_id = self._message_id(provider, chat, outbound, counters, str(identity["value"]))
                    if (provider, message_id) not in used_ids:
                        used_ids.add((provider, message_id))
                        break
                at = start + dt.timedelta(seconds=offset)
                if outbound:
                    if provider in ("telegram", "email"):
                        status = "sent"  # neither reports delivery to the sender
                    elif state == "pending" and len(messages) == len(turns) - 1:
                        status = "delivered"  # not read yet
                    else:
                        status = "read" if rng.random() < 0.8 else "delivered"
                    row = {"created_at": at, "sent_at": at + dt.timedelta(seconds=rng.randint(1, 3)), "attempts": 1}
                    row |= {"status": status, "reply_to": chat}
                else:
                    row = {"created_at": at + dt.timedelta(seconds=rng.randint(1, 3)), "sent_at": at, "attempts": 0}
                    row |= {"status": "received", "reply_to": ""}
                row |= {
                    "conversation": conversation,
                    "direction": "out" if outbound else "in",
                    "text": text,
                    "provider_message_id": message_id,
                }
                if provider == "email":  # one thread: a subject, and each letter references the earlier ones
                    subject = str(labels.get(topic, labels["order"])).capitalize()
                    row["meta"] = {
                        "subject": f"Re: {subject}" if messages else subject,
                        "references": [m["provider_message_id"] for m in messages],
                    }
                messages.append(row)
                if not outbound:
                    plan.timeline.append(
                        {
                            "customer": customer,
                            "at": at,
                            "kind": TimelineEntry.Kind.MESSAGE.value,
                            "channel": provider,
                            "summary": text[:200],
                            "ref": ("message", len(plan.messages) + len(messages) - 1),
                            "data": {"direction": "in"},
                        }
                    )

            first, last = messages[0], messages[-1]
            replies = [m for m in messages if m["direction"] == "out"]
            unanswered = list(itertools.takewhile(lambda m: m["direction"] == "in", reversed(messages)))
            resolved_at = None
            if state == "resolved":
                resolved_at = min(last["created_at"] + dt.timedelta(minutes=rng.randint(5, 240)), self.now)
            plan.messages.extend(messages)
            plan.conversations.append(
                {
                    "customer": customer,
                    "channel": channel,
                    "status": {"resolved": "resolved", "pending": "pending"}.get(state, "open"),
                    "priority": 2 if topic == "return" else 1,
                    "team": INBOX_TEAM,
                    "labels": [labels.get(topic, labels["order"])],
                    "created_at": first["created_at"],
                    "last_message_at": last["created_at"],
                    "waiting_since": unanswered[-1]["created_at"] if unanswered and state != "resolved" else None,
                    "first_response_due": first["created_at"]
                    + dt.timedelta(minutes=plan.channels[channel]["first_response_minutes"]),
                    "first_response_at": replies[0]["created_at"] if replies else None,
                    "resolved_at": resolved_at,
                    "unread_count": len(unanswered) if state != "resolved" else 0,
                    "external_thread_id": chat,
                }
            )
            busy[(customer, provider)] = resolved_at or self.now + dt.timedelta(days=1)
            inbound = [m["sent_at"] for m in messages if m["direction"] == "in"]
            identity["first_seen_at"] = min(identity["first_seen_at"], inbound[0])
            identity["last_seen_at"] = max(identity["last_seen_at"], inbound[-1])

    def _link_conversations(self) -> None:
        """A chat order came from the customer's conversation in that channel: the latest one started in
        the month before it, when there is one."""
        plan = self.plan
        started: dict[tuple[int, str], list[tuple[dt.datetime, int]]] = {}
        for i, row in enumerate(plan.conversations):
            started.setdefault((row["customer"], plan.channels[row["channel"]]["provider"]), []).append(
                (row["created_at"], i)
            )
        for order in plan.orders:
            if order["source"] not in CHAT_SOURCES or order["customer"] is None:
                continue
            chats = started.get((order["customer"], order["source"]))
            if not chats:
                continue
            k = bisect_right(chats, (order["placed_at"], len(plan.conversations)))
            if k and order["placed_at"] - chats[k - 1][0] <= dt.timedelta(days=30):
                order["conversation"] = chats[k - 1][1]

    def _stock_history(self) -> None:
        """The ledger behind today's stock: every handed-over line is a sale where it was sourced, every
        return is back on hand where it was brought, orders still to hand over hold reservations, and
        deliveries from suppliers (an opening balance, then a batch whenever a shelf ran short) make
        each level add up to exactly the stock counted now. A cancelled order released what it held.

        (A settled sale is one row, as a till sale without a reservation; the reservation it went through
        is not kept: it would double the ledger of 18 months for no figure anyone reads.)"""
        rng, plan = random.Random(f"{self.seed}-stock-history"), self.plan
        events: dict[tuple[int, int], list[tuple[dt.datetime, int]]] = {}  # on-hand changes by (variant, location)
        for order in plan.orders:
            status = order["status"]
            first, end = order["lines"]
            reserving = status in RESERVING or status in HANDED_OVER or status == "cancelled"
            cancelled = order["history"][-1][1] if status == "cancelled" else None
            for line_index in range(first, end):
                line = plan.lines[line_index]
                key = (line["variant"], line["location"])
                sold = order["handover"] if status not in RESERVING else None
                if reserving:
                    reservation = len(plan.reservations)
                    plan.reservations.append(
                        {
                            "line": line_index,
                            "variant": line["variant"],
                            "location": line["location"],
                            "quantity": line["quantity"],
                            "customer": order["customer"],
                            "status": "released" if cancelled else "consumed" if sold is not None else "active",
                            "created_at": order["placed_at"],
                            "closed_at": cancelled or sold,
                        }
                    )
                    line["reservation"] = reservation
                    plan.moves.append(
                        {"variant": key[0], "location": key[1], "kind": "reservation", "quantity": 0,
                         "reserved_change": line["quantity"], "reason": "", "reservation": reservation,
                         "reference": "", "at": order["placed_at"]}
                    )  # fmt: skip
                    if cancelled is not None:  # as check_transition releases it
                        plan.moves.append(
                            {"variant": key[0], "location": key[1], "kind": "release", "quantity": 0,
                             "reserved_change": -line["quantity"], "reason": f"order {order['number']}",
                             "reservation": reservation, "reference": "", "at": cancelled}
                        )  # fmt: skip
                if sold is not None and status != "cancelled":
                    plan.moves.append(
                        {"variant": key[0], "location": key[1], "kind": "sale", "quantity": -line["quantity"],
                         "reserved_change": -line["quantity"] if reserving else 0, "reason": "", "reservation": None,
                         "reference": f"order:{order['number']}", "at": sold}
                    )  # fmt: skip
                    events.setdefault(key, []).append((sold, -line["quantity"]))
        for record in plan.returns:
            number = plan.orders[record["order"]]["number"]
            for line_index, quantity in record["lines"]:
                key = (plan.lines[line_index]["variant"], record["location"])
                plan.moves.append(
                    {"variant": key[0], "location": key[1], "kind": "return", "quantity": quantity,
                     "reserved_change": 0, "reason": record["reason"], "reservation": None,
                     "reference": f"order:{number}", "at": record["at"]}
                )  # fmt: skip
                events.setdefault(key, []).append((record["at"], quantity))
        counted = {(variant, location): quantity for variant, location, quantity in plan.stock}
        opening = dt.datetime.combine(self.start - dt.timedelta(days=1), dt.time(9), self.tz)
        supply_numbers = itertools.count(rng.randint(1000, 2000))
        for key in sorted(set(counted) | set(events)):
            warehouse = plan.locations[key[1]]["kind"] == "warehouse"
            batch = rng.randint(20, 60) if warehouse else rng.randint(3, 10)
            for at, quantity, reason in _receipts(
                sorted(events.get(key, [])), final=counted.get(key, 0), batch=batch, opening=opening,
                now=self.now, rng=rng,
            ):  # fmt: skip
                plan.moves.append(
                    {"variant": key[0], "location": key[1], "kind": "receipt" if quantity > 0 else "correction",
                     "quantity": quantity, "reserved_change": 0, "reservation": None,
                     "reason": OPENING_STOCK_REASON if at == opening else reason,
                     "reference": "" if at == opening or quantity < 0 else f"ПН-{next(supply_numbers)}", "at": at}
                )  # fmt: skip

    def _counters(self) -> None:
        """The card's denormalised figures, as the orders and timeline actions keep them.

        orders_count counts every order that was not cancelled (returned ones included: they were
        bought); lifetime_value sums the orders neither cancelled nor returned (what the customer
        spent and kept); last_order_at is the latest counted order;
        last_contact_at the latest timeline entry of a contact kind (messages, calls, orders, visits…).
        """
        plan = self.plan
        count = [0] * len(plan.customers)
        value = [0] * len(plan.customers)
        last_order: list[dt.datetime | None] = [None] * len(plan.customers)
        last_contact: list[dt.datetime | None] = [None] * len(plan.customers)
        for order in plan.orders:
            customer = order["customer"]
            if customer is None or order["status"] == "cancelled":
                continue
            count[customer] += 1
            if order["status"] != "returned":
                value[customer] += order["total"]
            placed = order["placed_at"]
            previous = last_order[customer]
            last_order[customer] = placed if previous is None else max(previous, placed)
        for entry in plan.timeline:
            if entry["kind"] in CONTACT_KINDS:
                customer, at = entry["customer"], entry["at"]
                previous = last_contact[customer]
                last_contact[customer] = at if previous is None else max(previous, at)
        for index, customer in enumerate(plan.customers):
            customer["orders_count"] = count[index]
            customer["lifetime_value"] = Decimal(value[index])
            customer["last_order_at"] = last_order[index]
            customer["last_contact_at"] = last_contact[index]

    def _instagram_handle(self, first: str, last: str) -> str:
        style = self.rng.randint(0, 3)
        if style == 0:
            return f"{first}.{last}"
        if style == 1:
            return f"{first}_{last[:3]}{self.rng.randint(1, 99)}"
        if style == 2:
            return f"{first}{self.rng.randint(80, 2009)}"
        return f"{first[:1]}.{last}_{self.rng.choice(('home', 'life', 'kz', 'ala'))}"

    def _email(self, first: str, last: str) -> str:
        rng = self.rng
        domain = rng.choices([d for d, _ in data.EMAIL_DOMAINS], weights=[w for _, w in data.EMAIL_DOMAINS])[0]
        style = rng.randint(0, 3)
        if style == 0:
            local = f"{first}.{last}"
        elif style == 1:
            local = f"{first}{rng.randint(1, 99)}"
        elif style == 2:
            local = f"{first[:1]}{last}"
        else:
            local = f"{last}.{first}{rng.randint(70, 99)}"
        return f"{local}@{domain}"

    def _typed_phone(self, national: str) -> str:
        """The number as a person or a channel would have typed it."""
        a, b, c, d = national[:3], national[3:6], national[6:8], national[8:]
        style = self.rng.choices(range(6), weights=(30, 20, 15, 15, 10, 10))[0]
        return (
            f"8 {a} {b} {c} {d}",
            f"+7 ({a}) {b}-{c}-{d}",
            f"8{national}",
            f"+7{national}",
            f"7 {a} {b}{c}{d}",
            f"8 ({a}) {b} {c} {d}",
        )[style]


def _receipts(
    events: list[tuple[dt.datetime, int]],
    *,
    final: int,
    batch: int,
    opening: dt.datetime,
    now: dt.datetime,
    rng: random.Random,
) -> list[tuple[dt.datetime, int, str]]:
    """Supplier deliveries for one shelf, so that its on-hand never goes below zero and ends at `final`
    after the `events` (time, change) — [(when, units, why)]; a negative row is a count that found less.

    An opening balance of one `batch`, then a batch just before a sale the shelf could not serve; then
    the last deliveries are made smaller (as far as the shelf never runs below zero after them), or one
    more arrives, so that the level ends exactly at `final`.
    """
    if not events:
        return [(opening, final, OPENING_STOCK_REASON)] if final else []
    receipts: list[list[Any]] = [[opening, batch, 0]]  # [when, units, position of the first event after it]
    levels: list[int] = []
    level = batch
    previous = opening
    for position, (at, change) in enumerate(events):
        if change < 0 and level < -change:
            units = max(batch, -change - level)
            gap = max(60, int((at - previous).total_seconds()))
            when = at - dt.timedelta(seconds=rng.randint(1, min(gap - 1, 3 * 86400)) if gap > 1 else 0)
            receipts.append([max(when, previous), units, position])
            level += units
        level += change
        levels.append(level)
        previous = at
    excess = level - final
    for receipt in reversed(receipts):
        if excess <= 0:
            break
        position = receipt[2]
        slack = min(levels[position:])
        cut = min(excess, receipt[1], slack)
        if cut > 0:
            receipt[1] -= cut
            excess -= cut
            for k in range(position, len(levels)):
                levels[k] -= cut
    rows = [(at, units, REPLENISHMENT_REASON) for at, units, _ in receipts if units > 0]
    last = events[-1][0]
    if excess < 0:  # more is counted now than the history left: a delivery since
        span = max(60, int((now - last).total_seconds()))
        rows.append((last + dt.timedelta(seconds=rng.randint(1, span - 1)), -excess, REPLENISHMENT_REASON))
    elif excess > 0:  # returns came back after the last delivery: the latest count found fewer
        span = max(60, int((now - last).total_seconds()))
        rows.append((last + dt.timedelta(seconds=rng.randint(1, span - 1)), -excess, "Пересчёт: недостача"))
    return rows


# --- Writing --------------------------------------------------------------------------------------


@transaction.atomic
def _write_demo(plan: DemoPlan) -> None:
    """Insert the plan's rows in one transaction; indexes become primary keys."""
    currency = str(settings.OMNIA_CURRENCY)

    def insert(model: type[Any], rows: list[Any]) -> list[int]:
        ids: list[int] = []
        for start in range(0, len(rows), BATCH_SIZE):
            created = model.objects.bulk_create(rows[start : start + BATCH_SIZE], batch_size=BATCH_SIZE)
            ids.extend(obj.pk for obj in created)
        return ids

    location_ids = insert(Location, [Location(**row) for row in plan.locations])

    category_ids: list[int | None] = [None] * len(plan.categories)
    for parents_only in (True, False):  # the tree has two levels: top categories, then leaves
        indexes = [i for i, row in enumerate(plan.categories) if (row["parent"] is None) == parents_only]
        rows = [
            Category(
                name=plan.categories[i]["name"],
                slug=plan.categories[i]["slug"],
                parent_id=None if parents_only else category_ids[plan.categories[i]["parent"]],
            )
            for i in indexes
        ]
        for i, pk in zip(indexes, insert(Category, rows), strict=True):
            category_ids[i] = pk

    product_ids = insert(
        Product,
        [
            Product(
                name=row["name"],
                description=row["description"],
                brand=row["brand"],
                category_id=category_ids[row["category"]],
                created_at=row["created_at"],
                search_text=search_key(row["name"], row["brand"]),
            )
            for row in plan.products
        ],
    )
    variant_ids = insert(
        Variant,
        [
            Variant(
                product_id=product_ids[row["product"]],
                sku=row["sku"],
                barcode=row["barcode"],
                name=row["name"],
                attributes=row["attributes"],
                price=Decimal(row["price"]),
                currency=currency,
                weight_grams=row["weight_grams"],
            )
            for row in plan.variants
        ],
    )

    insert(
        Barcode,
        [
            Barcode(variant_id=variant_ids[i], code=row["barcode"])
            for i, row in enumerate(plan.variants)
            if row["barcode"]
        ],
    )

    customer_ids = insert(Customer, [Customer(**row) for row in plan.customers])
    tokens: list[dict[str, Any]] = []
    for pk, row in zip(customer_ids, plan.customers, strict=True):
        day = contact_day(row["last_contact_at"])  # as customers.actions.search_tokens writes them
        tokens.extend(
            {"customer_id": pk, "token": key, "contact_day": day}
            for key in name_search_keys(row["first_name"], row["last_name"])
        )
    _insert_rows(SearchToken, tokens)
    tag_ids = insert(Tag, [Tag(name=name) for name in plan.tags])
    _insert_rows(
        Customer.tags.through,
        [{"customer_id": customer_ids[customer], "tag_id": tag_ids[tag]} for customer, tag in plan.customer_tags],
    )
    _insert_rows(Identity, ({**row, "customer_id": customer_ids[row["customer"]]} for row in plan.identities))
    _insert_rows(Address, ({**row, "customer_id": customer_ids[row["customer"]]} for row in plan.addresses))
    consent_ids = insert(Consent, [_with_customer(Consent, row, customer_ids) for row in plan.consents])

    channels = []
    for row in plan.channels:
        channel = Channel(**{name: value for name, value in row.items() if name != "credentials"})
        channel.credentials = row["credentials"]  # stored encrypted
        channels.append(channel)
    channel_ids = insert(Channel, channels)
    whatsapp = next(channel_ids[i] for i, row in enumerate(plan.channels) if row["provider"] == "whatsapp")
    registered = plan.channels[0]["created_at"]
    MessageTemplate.objects.bulk_create(
        MessageTemplate(channel_id=whatsapp, name=n, language=lang, category=c, body=b, created_at=registered)
        for n, lang, c, b in data.WHATSAPP_TEMPLATES
    )
    conversation_ids = insert(
        Conversation,
        [
            Conversation(
                customer_id=customer_ids[row["customer"]],
                channel_id=channel_ids[row["channel"]],
                **{name: value for name, value in row.items() if name not in ("customer", "channel")},
            )
            for row in plan.conversations
        ],
    )
    message_ids = insert(
        Message,
        [
            Message(
                conversation_id=conversation_ids[row["conversation"]],
                channel_id=channel_ids[plan.conversations[row["conversation"]]["channel"]],
                **{name: value for name, value in row.items() if name != "conversation"},
            )
            for row in plan.messages
        ],
    )

    insert(ConversationEvent, list(_conversation_events(plan, conversation_ids)))

    order_ids = _write_orders(plan, location_ids, variant_ids, customer_ids, conversation_ids)

    refs: dict[str, tuple[str, list[int]]] = {
        "order": (Order._meta.label_lower, order_ids),
        "consent": (Consent._meta.label_lower, consent_ids),
        "location": (Location._meta.label_lower, location_ids),
        "message": (Message._meta.label_lower, message_ids),
    }
    entries = []
    for row in plan.timeline:
        ref_type, ref_id, entry_data = "", "", row["data"]
        if row["ref"] is not None:
            kind, index = row["ref"]
            ref_type, ids = refs[kind]
            ref_id = str(ids[index])
            if kind == "message":  # as conversations.actions.do_receive_message describes it
                conversation = conversation_ids[plan.messages[index]["conversation"]]
                entry_data = {"conversation_id": conversation, **entry_data}
        entries.append(
            {
                "customer_id": customer_ids[row["customer"]],
                "at": row["at"],
                "kind": row["kind"],
                "channel": row["channel"],
                "summary": row["summary"],
                "ref_type": ref_type,
                "ref_id": ref_id,
                "data": entry_data,
            }
        )
    _insert_rows(TimelineEntry, entries)


def _write_orders(
    plan: DemoPlan,
    location_ids: list[int],
    variant_ids: list[int],
    customer_ids: list[int],
    conversation_ids: list[int],
) -> list[int]:
    """Orders with their lines, history, payments, returns and Kaspi records; stock levels, reservations and
    the ledger behind them. Returns the orders' primary keys."""
    currency = str(settings.OMNIA_CURRENCY)

    def pk(ids: list[int], index: int | None) -> int | None:
        return None if index is None else ids[index]

    order_ids = _insert(
        Order,
        [
            Order(
                number=row["number"],
                source=row["source"],
                external_id=row["external_id"],
                status=row["status"],
                customer_id=pk(customer_ids, row["customer"]),
                location_id=pk(location_ids, row["location"]),
                total=Decimal(row["total"]),
                currency=currency,
                comment=row["comment"],
                placed_at=row["placed_at"],
                fulfillment=row["fulfillment"],
                delivery_address=row["delivery_address"],
                conversation_id=pk(conversation_ids, row["conversation"]),
            )
            for row in plan.orders
        ],
    )
    for index, row in enumerate(plan.orders):
        if row["possible_duplicate_of"] is not None:
            Order.objects.filter(pk=order_ids[index]).update(
                possible_duplicate_of_id=order_ids[row["possible_duplicate_of"]]
            )
    line_ids = _insert(
        OrderLine,
        [
            OrderLine(
                order_id=order_ids[row["order"]],
                variant_id=variant_ids[row["variant"]],
                quantity=row["quantity"],
                unit_price=Decimal(row["unit_price"]),
                discount=Decimal(row["discount"]),
                location_id=location_ids[row["location"]],
            )
            for row in plan.lines
        ],
    )
    reservation_ids = _insert(
        Reservation,
        [
            Reservation(
                variant_id=variant_ids[row["variant"]],
                location_id=location_ids[row["location"]],
                quantity=row["quantity"],
                owner_kind=Reservation.Owner.ORDER_LINE,
                owner_ref=str(line_ids[row["line"]]),
                customer_id=pk(customer_ids, row["customer"]),
                status=row["status"],
                created_at=row["created_at"],
                closed_at=row["closed_at"],
            )
            for row in plan.reservations
        ],
    )
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:  # bulk_update's CASE per row is slow for a thousand lines
        cursor.executemany(
            f"UPDATE {quote(OrderLine._meta.db_table)} SET {quote('reservation_id')} = %s WHERE {quote('id')} = %s",  # noqa: S608
            [(reservation_ids[i], line_ids[row["line"]]) for i, row in enumerate(plan.reservations)],
        )

    # Every (variant, location that holds stock) has a level: what is counted now, and what open orders hold.
    on_hand = {(v, loc): qty for v, loc, qty in plan.stock}
    reserved: dict[tuple[int, int], int] = {}
    for row in plan.reservations:
        if row["status"] == "active":
            key = (row["variant"], row["location"])
            reserved[key] = reserved.get(key, 0) + row["quantity"]
    holders = [i for i, row in enumerate(plan.locations) if row["kind"] != "pickup"]
    _insert_rows(
        StockLevel,
        (
            {
                "variant_id": variant_ids[v],
                "location_id": location_ids[loc],
                "on_hand": on_hand.get((v, loc), 0),
                "reserved": reserved.get((v, loc), 0),
                "updated_at": plan.now,
            }
            for v in range(len(variant_ids))
            for loc in holders
        ),
    )
    _insert_rows(
        StockMove,
        (
            {
                "variant_id": variant_ids[row["variant"]],
                "location_id": location_ids[row["location"]],
                "kind": row["kind"],
                "quantity": row["quantity"],
                "reserved_change": row["reserved_change"],
                "reason": row["reason"],
                "reference": row["reference"]
                if row["reservation"] is None
                else f"hold:{reservation_ids[row['reservation']]}",
                "at": row["at"],
            }
            for row in plan.moves
        ),
    )
    _insert_rows(
        StatusChange,
        (
            {
                "order_id": order_ids[index],
                "old": row["history"][k - 1][0] if k else "",
                "new": new,
                "at": at,
                "reason": reason,
            }
            for index, row in enumerate(plan.orders)
            for k, (new, at, reason) in enumerate(row["history"])
        ),
    )
    _insert_rows(
        Payment,
        ({**row, "order_id": order_ids[row["order"]], "amount": Decimal(row["amount"])} for row in plan.payments),
    )
    refund_ids = _insert(
        Payment,
        [
            Payment(
                order_id=order_ids[record["order"]],
                method=record["refund"]["method"],
                amount=Decimal(record["refund"]["amount"]),
                status=Payment.Status.REFUNDED,
                created_at=record["refund"]["created_at"],
            )
            for record in plan.returns
            if record["refund"] is not None
        ],
    )
    refund_of = iter(refund_ids)
    return_ids = _insert(
        Return,
        [
            Return(
                order_id=order_ids[record["order"]],
                location_id=location_ids[record["location"]],
                reason=record["reason"],
                at=record["at"],
                refund_id=next(refund_of) if record["refund"] is not None else None,
                replacement_id=pk(order_ids, record["replacement"]),
            )
            for record in plan.returns
        ],
    )
    _insert_rows(
        ReturnLine,
        [
            {"order_return_id": return_ids[i], "order_line_id": line_ids[line], "quantity": quantity}
            for i, record in enumerate(plan.returns)
            for line, quantity in record["lines"]
        ],
    )
    kaspi = [(i, row["kaspi"]) for i, row in enumerate(plan.orders) if row["kaspi"] is not None]
    if kaspi:
        account = KaspiAccount.objects.create(
            name=data.KASPI_ACCOUNT_NAME,
            is_active=False,  # demo: no real merchant token, so nothing is polled
            watermark=plan.now,
            created_at=min(row["created_on_kaspi"] for _, row in kaspi) - dt.timedelta(days=30),
        )
        _insert_rows(KaspiOrder, ({**row, "account_id": account.pk, "order_id": order_ids[i]} for i, row in kaspi))
    return order_ids


def _insert(model: type[Any], rows: list[Any]) -> list[int]:
    """bulk_create in batches; the new primary keys in order."""
    created: list[int] = []
    for start in range(0, len(rows), BATCH_SIZE):
        batch = model.objects.bulk_create(rows[start : start + BATCH_SIZE], batch_size=BATCH_SIZE)
        created.extend(obj.pk for obj in batch)
    return created


# Values these fields take as they are; the others are prepared for the database as Django would.
_RAW_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
    models.DecimalField,  # both backends bind Decimal
)


def _insert_rows(model: type[Any], rows: Iterable[dict[str, Any]]) -> None:
    """Insert rows (dicts by field name, foreign keys as `<name>_id`, all with the same keys) that need no
    primary key back, with one executemany per batch; a field not given takes its default.

    For the big tables of the history (status changes, payments, the ledger, the timeline: several rows per
    order) bulk_create spends most of its time building model instances and preparing them field by field;
    these rows are plain values already, so only times, JSON and custom fields are prepared."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = [f for f in fields if f.attname in first or f.name in first]
    defaults = [f for f in fields if f not in given]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in given + defaults)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * (len(given) + len(defaults)))})"
    )
    take = operator.itemgetter(*[f.attname if f.attname in first else f.name for f in given])
    prepare = [(i, _preparer(f)) for i, f in enumerate(given) if _preparer(f) is not None]
    tail = tuple(f.get_db_prep_save(f.get_default(), connection) for f in defaults)
    rows = itertools.chain([first], rows)
    with connection.cursor() as cursor:
        while batch := list(itertools.islice(rows, BATCH_SIZE * 5)):
            values = []
            for row in batch:
                line = list(take(row)) if len(given) > 1 else [take(row)]
                for i, adapt in prepare:
                    line[i] = adapt(line[i])
                values.append((*line, *tail))
            cursor.executemany(sql, values)


def _preparer(field: models.Field[Any, Any]) -> Any:
    """How a value of `field` is prepared for the database (None: taken as it is), as Django would."""
    if isinstance(field, models.DateTimeField):
        if connection.vendor != "sqlite":
            return None  # bound as an aware datetime
        zone = connection.timezone  # SQLite stores naive text in the database's time zone (UTC)
        return lambda value: None if value is None else str(value.astimezone(zone).replace(tzinfo=None))
    if type(field) in _RAW_FIELDS or isinstance(field, models.ForeignKey):
        return None
    return partial(field.get_db_prep_save, connection=connection)


def _conversation_events(plan: DemoPlan, conversation_ids: list[int]) -> Iterator[ConversationEvent]:
    """The reporting events the inbox records as it goes: opened, first response, first response
    overdue (at the moment it became overdue) and resolved."""
    for index, row in enumerate(plan.conversations):
        conversation_id = conversation_ids[index]
        yield ConversationEvent(conversation_id=conversation_id, kind="opened", at=row["created_at"])
        due, answered = row["first_response_due"], row["first_response_at"]
        if (answered is None and due < plan.now) or (answered is not None and answered > due):
            yield ConversationEvent(
                conversation_id=conversation_id, kind="sla_breached", at=due, data={"due": due.isoformat()}
            )
        if answered is not None:
            yield ConversationEvent(conversation_id=conversation_id, kind="first_response", at=answered)
        if row["resolved_at"] is not None:
            yield ConversationEvent(conversation_id=conversation_id, kind="resolved", at=row["resolved_at"])


def _with_customer(model: type[Any], row: dict[str, Any], customer_ids: list[int]) -> Any:
    fields = {name: value for name, value in row.items() if name != "customer"}
    return model(customer_id=customer_ids[row["customer"]], **fields)
