"""Order placement: orders/s and latency with 16 concurrent clients, each order 3 lines reserved.

    python bench/bench_orders.py [--clients 16] [--seconds 20] [--database sqlite|postgresql]
    scripts/with-postgres .venv/bin/python -u bench/bench_orders.py --database postgresql

Migrates a fresh database, loads 2,000 variants in stock at 5 stores (plenty of units), then N threads
place pick-up orders of 3 random lines through orders.actions.check_place_order (customer by phone,
every line reserved), each with its own Idempotency-Key, for --seconds; prints orders/s and the
p50/p95/p99 latency, and checks afterwards that every level agrees with the ledger and every order's
lines are reserved. Issue target: ≥ 500 orders/s with 16 clients on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--variants", type=int, default=2000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("OMNIA_DATABASE_URL", ""))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="omnia-bench-orders-") as data_dir:
        os.environ["OMNIA_DATA_DIR"] = data_dir
        if args.database == "postgresql":
            if not args.pg_url.startswith("postgresql://"):
                raise SystemExit("--database postgresql needs --pg-url postgresql://… (or scripts/with-postgres)")
            os.environ["OMNIA_DATABASE_URL"] = args.pg_url
        else:
            os.environ.pop("OMNIA_DATABASE_URL", None)
        os.environ["DJANGO_SETTINGS_MODULE"] = "omnia.settings"
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, connections

        call_command("migrate", verbosity=0)
        variants, stores = load(args.variants)
        print(
            f"{connection.vendor}: {len(variants):,} variants in stock at {len(stores)} stores; "
            f"{args.clients} clients for {args.seconds:.0f} s; load average {os.getloadavg()[0]:.1f}"
        )
        run(args, variants, stores)
        print(f"  load average {os.getloadavg()[0]:.1f} (2 cores shared with other work: figures are noisy)")
        connections.close_all()


def load(n: int) -> tuple[list[Any], list[Any]]:
    from django.db import transaction

    from omnia.catalog.models import Product, Variant
    from omnia.core import clock
    from omnia.inventory import actions
    from omnia.inventory.models import Location

    now = clock.now()
    with transaction.atomic():
        stores = [
            Location.objects.create(
                code=f"store-{i}", name=f"Store {i}", kind="store", city="Алматы", offers_pickup=True
            )
            for i in range(5)
        ]
        products = Product.objects.bulk_create(Product(name=f"Товар {i}", created_at=now) for i in range(n))
        variants = Variant.objects.bulk_create(
            Variant(product=p, sku=f"B-{p.pk:05d}", price=990 + p.pk % 50 * 100, currency="KZT") for p in products
        )
    for store in stores:
        actions.do_receive(actor=None, location=store, lines=[actions.Line(v, 100_000) for v in variants])
    return variants, stores


def run(args: Any, variants: list[Any], stores: list[Any]) -> None:
    from django.db import connection

    from omnia.inventory import queries as inventory_queries
    from omnia.orders import actions
    from omnia.orders.models import Order

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(args.clients)
    stop_at = 0.0

    def client(n: int) -> None:
        nonlocal stop_at
        rng = random.Random(args.seed * 1000 + n)
        barrier.wait()
        mine: list[float] = []
        count = 0
        try:
            while time.perf_counter() < stop_at:
                lines = [actions.LineIn(v, rng.randint(1, 3)) for v in rng.sample(variants, 3)]
                started = time.perf_counter()
                try:
                    actions.check_place_order(
                        actor=None,
                        customer=actions.CustomerIn(phone=f"+7701{rng.randrange(10**7):07d}"),
                        source="web",
                        lines=lines,
                        fulfillment=actions.FulfillmentIn(type="pickup", location=rng.choice(stores)),
                        idempotency_key=f"bench-{n}-{count}",
                    )
                except Exception as exc:  # a failure under load is a finding: count and show it
                    with lock:
                        errors.append(repr(exc))
                mine.append(time.perf_counter() - started)
                count += 1
        finally:
            with lock:
                latencies.extend(mine)
            connection.close()

    stop_at = time.perf_counter() + args.seconds + 1.0
    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    placed = Order.objects.count()
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    rate = placed / took
    verdict = "met" if rate >= 500 else "MISSED (target ≥ 500 orders/s)"
    print(
        f"  place          {placed:,} orders in {took:.1f} s: {rate:,.0f} orders/s  {verdict}\n"
        f"                 p50 {cuts[49] * 1000:6.1f}  p95 {cuts[94] * 1000:6.1f}  p99 {cuts[98] * 1000:6.1f} ms; "
        f"{len(errors)} errors"
    )
    for error in sorted(set(errors))[:5]:
        print(f"    error: {error}")
    drift = inventory_queries.list_stock_drift()
    unreserved = Order.objects.filter(lines__reservation__isnull=True).count()
    if drift or unreserved:
        print(f"  FAILED: {len(drift)} stock levels disagree with the ledger; {unreserved} lines without reservation")
        raise SystemExit(1)
    print("  ledger: every level agrees with its moves; every line is reserved")


if __name__ == "__main__":
    main()
