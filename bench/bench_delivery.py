"""Delivery quotes and notifications: how long a quote takes, and how many notifications the engine
raises and hands to the outbox per second.

    python bench/bench_delivery.py [--database sqlite|postgresql] [--quotes 2000] [--notifications 2000]
    scripts/with-postgres .venv/bin/python -u bench/bench_delivery.py --database postgresql

Migrates a fresh database and loads 50 locations (4 warehouses that ship, 46 stores offering pick-up) in
8 cities, 5,000 variants with stock spread over them and supplies due, and 4 carriers with 25 zones
each (one to three cities per zone, four weight brackets of tariffs, pick-up points). Then times:

  quote          fulfillment.quotes.quote() for a 3-line cart to a random city: options, prices, dates
  order quote    fulfillment.quotes.quote_order() for a placed delivery order (its lines reserved)
  notify         composing.build_context + notifications.actions.do_raise + dispatch for a confirmed order
                 of a customer with a Telegram handle: one Notification, its Attempt and the outbox message
                 queued (not sent: the provider is not part of the figure)

Figures only: p50/p95/p99, queries per call, notifications per second (one thread). No targets are set
by the issue; the order page and the composer ask for one quote per view.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from common import fresh_database, percentiles

CITIES = ["Алматы", "Астана", "Шымкент", "Караганда", "Актобе", "Павлодар", "Атырау", "Костанай"]
ELSEWHERE = ["Актау", "Тараз", "Уральск", "Семей", "Кокшетау", "Талдыкорган", "Кызылорда", "Петропавловск"]
LOCATIONS = 50
VARIANTS = 5000


def timed(name: str, calls: list[Callable[[], Any]]) -> list[float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for call in calls[: max(20, len(calls) // 10)]:
        call()  # warm-up
    with CaptureQueriesContext(connection) as captured:
        calls[0]()
    samples = []
    for call in calls:
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    print(f"  {name:<14} {percentiles(samples)}  ({len(captured.captured_queries)} queries)")
    return samples


def load(rng: random.Random) -> tuple[list[Any], list[Any]]:
    from django.db import transaction

    from omnia.catalog.models import Product, Variant
    from omnia.core import clock
    from omnia.fulfillment import actions as fulfillment_actions
    from omnia.inventory import actions as inventory_actions
    from omnia.inventory.actions import Line
    from omnia.inventory.models import Location, StockLevel

    now = clock.now()
    with transaction.atomic():
        locations = Location.objects.bulk_create(
            Location(
                code=f"loc-{i:02d}",
                name=f"{CITIES[i % len(CITIES)]} {i}",
                kind="warehouse" if i < 4 else "store",
                city=CITIES[i % len(CITIES)],
                ships=i < 4,
                offers_pickup=i >= 4,
            )
            for i in range(LOCATIONS)
        )
        products = Product.objects.bulk_create(Product(name=f"Товар {i}", created_at=now) for i in range(VARIANTS))
        variants = Variant.objects.bulk_create(
            Variant(
                product=p,
                sku=f"SKU-{p.pk:06d}",
                price=Decimal(rng.randint(990, 49990)),
                currency="KZT",
                weight_grams=rng.choice([None, 300, 800, 2500, 7000]),
            )
            for p in products
        )
        StockLevel.objects.bulk_create(
            (
                StockLevel(variant=v, location=loc, on_hand=rng.choice([0, 0, 1, 3, 10]), updated_at=now)
                for v in variants
                for loc in rng.sample(locations, 12)
            ),
            batch_size=10_000,
        )
        for index in range(60):
            inventory_actions.check_create_supply(
                actor=None,
                location=locations[index % 4],
                expected_on=now.date() + dt.timedelta(days=rng.randint(2, 20)),
                lines=[Line(v, rng.randint(5, 40)) for v in rng.sample(variants, 10)],
            )
        for code, kind in (("own", "own_courier"), ("kazpost", "kazpost"), ("cdek", "cdek"), ("fast", "same_day")):
            carrier = fulfillment_actions.check_create_carrier(
                actor=None, code=code, name=code.title(), kind=kind
            ).carrier
            for z in range(25):
                cities = rng.sample(CITIES + ELSEWHERE, rng.randint(1, 3))
                zone = fulfillment_actions.check_create_zone(
                    actor=None,
                    carrier=carrier,
                    name=f"{code} {z}",
                    cities=cities,
                    days_min=1,
                    days_max=rng.randint(1, 6),
                    pickup_points=[
                        {"code": f"{code}-{z}-{p}", "name": f"ПВЗ {p}", "address": f"ул. Абая {p}", "city": cities[0]}
                        for p in range(2)
                    ]
                    if code == "cdek"
                    else [],
                )
                for weight, price in ((1000, 900), (5000, 1500), (20000, 3500), (None, 6000)):
                    fulfillment_actions.check_create_tariff(
                        actor=None, zone=zone, price=Decimal(price + 100 * z), max_weight_grams=weight
                    )
    return variants, locations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("OMNIA_DATABASE_URL", ""))
    parser.add_argument("--quotes", type=int, default=2000)
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with fresh_database(args.database, args.pg_url, prefix="omnia-bench-delivery-"):
        from django.db import connection, connections

        rng = random.Random(args.seed)
        started = time.perf_counter()
        variants, _ = load(rng)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        print(
            f"{connection.vendor}: {LOCATIONS} locations, {len(variants):,} variants, 4 carriers x 25 zones, "
            f"loaded in {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}"
        )
        measure(args, rng, variants)
        print(f"  load average {os.getloadavg()[0]:.1f} (2 cores shared with other work: figures are noisy)")
        connections.close_all()


def measure(args: Any, rng: random.Random, variants: list[Any]) -> None:
    from omnia.fulfillment import quotes
    from omnia.fulfillment.quotes import QuoteLine

    carts = [[QuoteLine(v, rng.randint(1, 2)) for v in rng.sample(variants, 3)] for _ in range(args.quotes)]
    cities = CITIES + ELSEWHERE
    timed("quote", [lambda c=c: quotes.quote(c, city=rng.choice(cities)) for c in carts])

    orders = place_orders(rng, variants, 200)
    timed("order quote", [lambda o=o: quotes.quote_order(o) for o in orders for _ in range(args.quotes // 200)])
    notify(args, rng, orders)


def place_orders(rng: random.Random, variants: list[Any], count: int) -> list[Any]:
    from omnia.core.errors import DomainError
    from omnia.orders import actions as orders_actions

    orders = []
    while len(orders) < count:
        try:
            placed = orders_actions.check_place_order(
                actor=None,
                customer=orders_actions.CustomerIn(phone=f"+7701{rng.randint(1000000, 9999999)}", name="Айгерим"),
                source="web",
                lines=[orders_actions.LineIn(v, 1) for v in rng.sample(variants, 2)],
                fulfillment=orders_actions.FulfillmentIn(
                    type="delivery", address={"city": rng.choice(CITIES), "line1": "пр. Абая 1"}
                ),
            )
        except DomainError:
            continue  # out of stock everywhere: another cart
        orders.append(placed.order)
    return orders


def notify(args: Any, rng: random.Random, orders: list[Any]) -> None:
    from omnia.channels.models import Channel
    from omnia.core import clock
    from omnia.customers import actions as customers_actions
    from omnia.notifications import actions as notifications_actions
    from omnia.notifications import composing
    from omnia.notifications.models import Event, Notification

    channel = Channel(provider="telegram", name="Shop bot", key="bench-bot", created_at=clock.now())
    channel.credentials = {"bot_token": "1:bench", "secret_token": "bench"}
    channel.save()
    customers = []
    for index, order in enumerate(orders):
        customer = order.customer
        customers_actions.check_add_identity(customer=customer, kind="telegram", value=str(900000 + index))
        customers.append((customer, order))
    plan = [customers[i % len(customers)] for i in range(args.notifications)]
    samples = []
    started = time.perf_counter()
    for n, (customer, order) in enumerate(plan):
        began = time.perf_counter()
        context = composing.build_context(Event.ORDER_CONFIRMED, customer=customer, order=order)
        notification = notifications_actions.do_raise(
            Event.ORDER_CONFIRMED, customer=customer, key=f"bench:{n}", order=order, context=context
        )
        notifications_actions.dispatch(notification.pk)
        samples.append(time.perf_counter() - began)
    elapsed = time.perf_counter() - started
    sending = Notification.objects.filter(key__startswith="bench:", status=Notification.Status.SENDING).count()
    print(
        f"  notify         {percentiles(samples)}  {len(plan) / elapsed:,.0f} notifications/s "
        f"({sending:,} of {len(plan):,} queued to Telegram)"
    )


if __name__ == "__main__":
    main()
