"""Order placement: orders/s and latency with 16 concurrent clients, each order 3 lines reserved.

    python bench/bench_orders.py [--clients 16] [--seconds 20] [--processes 2] [--database auto|sqlite|postgresql]
        [--customers N]

By default it runs on PostgreSQL: inside scripts/with-postgres (OMNIA_DATABASE_URL set) on that one, else
it starts itself again through scripts/with-postgres (a throwaway cluster, removed afterwards).

Migrates a fresh database, loads 2,000 variants in stock at 5 stores (plenty of units), then N threads
place pick-up orders of 3 random lines through orders.actions.check_place_order (a new customer by
phone, or with --customers N one of N returning customers; every line reserved), each with its own
Idempotency-Key, for --seconds; prints orders/s and the
p50/p95/p99 latency, and checks afterwards that every level agrees with the ledger and every order's
lines are reserved. Issue target: ≥ 500 orders/s with 16 clients on PostgreSQL.

Orders asked for at the same moment in one process are placed together (orders.actions_placing: one
transaction for a batch); printed is how many a batch held on average. Each client gives its
connection back to the pool after every order, as a request does (so the default OMNIA_DATABASE_POOL
of 10 serves 16 clients). --processes N splits the clients over N
forked processes, as `omnia serve --workers N` does, since one Python process runs on one core at a
time. Also printed: queries per order (one placement alone, counted before the run), and CPU per order of
the Python processes and, when the server runs on this machine, of PostgreSQL; those two are the
figures to compare between runs, since the load average (printed before and after) of a shared
machine moves orders/s a lot.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from common import fresh_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--variants", type=int, default=2000)
    parser.add_argument(
        "--database",
        choices=("auto", "sqlite", "postgresql"),
        default="auto",
        help="auto (the default): PostgreSQL, a throwaway one through scripts/with-postgres when no --pg-url",
    )
    parser.add_argument("--pg-url", default=os.environ.get("OMNIA_DATABASE_URL", ""))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--customers", type=int, default=0, help="buyers are N returning customers (default: every order a new one)"
    )
    parser.add_argument("--processes", type=int, default=2, help="split the clients over N processes (workers)")
    args = parser.parse_args()
    if args.database == "auto":
        if not args.pg_url.startswith("postgresql://"):
            with_postgres = Path(__file__).resolve().parent.parent / "scripts" / "with-postgres"
            # The figure is PostgreSQL's: run again against a throwaway cluster (make bench does this).
            os.execv(with_postgres, [str(with_postgres), sys.executable, *sys.argv, "--database", "postgresql"])  # noqa: S606
        args.database = "postgresql"

    with fresh_database(args.database, args.pg_url, prefix="omnia-bench-orders-"):
        from django.db import connection, connections

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


def place_one(rng: random.Random, variants: list[Any], stores: list[Any], key: str, customers: int = 0) -> None:
    from omnia.orders import actions

    lines = [actions.LineIn(v, rng.randint(1, 3)) for v in rng.sample(variants, 3)]
    actions.check_place_order(
        actor=None,
        customer=actions.CustomerIn(phone=f"+7701{rng.randrange(customers or 10**7):07d}"),
        source="web",
        lines=lines,
        fulfillment=actions.FulfillmentIn(type="pickup", location=rng.choice(stores)),
        idempotency_key=key,
    )


def clients(args: Any, variants: list[Any], stores: list[Any], numbers: range, start_at: float) -> dict[str, Any]:
    """Run the clients `numbers` as threads of this process from `start_at` (wall clock) for --seconds."""
    from django.db import connection

    latencies: list[float] = []
    errors: list[str] = []
    finished: list[float] = []
    lock = threading.Lock()
    stop_at = start_at + args.seconds

    def client(n: int) -> None:
        rng = random.Random(args.seed * 1000 + n)
        mine: list[float] = []
        count = 0
        time.sleep(max(0.0, start_at - time.time()))
        try:
            while time.time() < stop_at:
                started = time.perf_counter()
                try:
                    place_one(rng, variants, stores, f"bench-{n}-{count}", args.customers)
                except Exception as exc:  # a failure under load is a finding: count and show it
                    with lock:
                        errors.append(repr(exc))
                finally:
                    connection.close()  # back to the pool, as at the end of a request
                mine.append(time.perf_counter() - started)
                count += 1
        finally:
            with lock:
                latencies.extend(mine)
                finished.append(time.time())

    from omnia.orders.actions_placing import _placer

    cpu = time.process_time()
    batches, items = _placer.batches, _placer.items
    threads = [threading.Thread(target=client, args=(n,)) for n in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "latencies": latencies,
        "errors": errors,
        "finished": max(finished),
        "cpu": time.process_time() - cpu,
        "batches": _placer.batches - batches,
        "batched": _placer.items - items,
    }


def _in_child(args: Any, variants: list[Any], stores: list[Any], numbers: range, start_at: float, out: Any) -> None:
    out.put(clients(args, variants, stores, numbers, start_at))


def postgres_cpu() -> float | None:
    """CPU seconds used so far by the PostgreSQL server's processes (when it runs on this machine)."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW data_directory")
            (data_directory,) = cursor.fetchone()
        postmaster = int(Path(data_directory, "postmaster.pid").read_text().split()[0])
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat.parent.name) == postmaster:  # itself and the backends that have exited
                total += sum(int(ticks) for ticks in fields[11:15]) / tick
            elif int(fields[1]) == postmaster:
                total += (int(fields[11]) + int(fields[12])) / tick
        return total
    except Exception:  # not local, not readable: the figure is simply not shown
        return None


def queries_per_order(variants: list[Any], stores: list[Any]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(-1)
    place_one(rng, variants, stores, "bench-warm-up")
    with CaptureQueriesContext(connection) as captured:
        place_one(rng, variants, stores, "bench-counted")
    connection.close()
    return len(captured.captured_queries)


def run(args: Any, variants: list[Any], stores: list[Any]) -> None:
    import multiprocessing

    from django.db import connection, connections

    from omnia.inventory import queries as inventory_queries
    from omnia.orders.models import Order

    queries = queries_per_order(variants, stores)
    before = Order.objects.count()
    database_cpu = postgres_cpu() if connection.vendor == "postgresql" else None
    processes = max(1, min(args.processes, args.clients))
    shares = [range(p, args.clients, processes) for p in range(processes)]
    start_at = time.time() + 1.0 + 0.5 * processes
    if processes == 1:
        results = [clients(args, variants, stores, shares[0], start_at)]
    else:
        connections.close_all()
        if connection.vendor == "postgresql":
            connection.close_pool()  # type: ignore[attr-defined]  # each process opens its own pool
        context = multiprocessing.get_context("fork")
        out = context.Queue()
        children = [
            context.Process(target=_in_child, args=(args, variants, stores, share, start_at, out)) for share in shares
        ]
        for child in children:
            child.start()
        results = [out.get() for _ in children]
        for child in children:
            child.join()
    took = max(result["finished"] for result in results) - start_at
    latencies = [latency for result in results for latency in result["latencies"]]
    errors = [error for result in results for error in result["errors"]]
    python_cpu = sum(result["cpu"] for result in results)
    batches = sum(result["batches"] for result in results)
    batched = sum(result["batched"] for result in results)
    placed = Order.objects.count() - before
    after = postgres_cpu() if database_cpu is not None else None
    database_cpu = after - database_cpu if after is not None and database_cpu is not None else None
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    rate = placed / took
    verdict = "met" if rate >= 500 else "MISSED (target ≥ 500 orders/s)"
    where = f"{processes} processes × {args.clients // processes}" if processes > 1 else f"1 process × {args.clients}"
    cpu = f"CPU per order: Python {python_cpu / placed * 1000:.1f} ms" if placed else "CPU per order: -"
    if database_cpu is not None and placed:
        cpu += f", PostgreSQL {database_cpu / placed * 1000:.1f} ms"
    print(
        f"  place          {placed:,} orders in {took:.1f} s ({where} clients): {rate:,.0f} orders/s  {verdict}\n"
        f"                 p50 {cuts[49] * 1000:6.1f}  p95 {cuts[94] * 1000:6.1f}  p99 {cuts[98] * 1000:6.1f} ms; "
        f"{len(errors)} errors\n"
        f"                 {queries} queries per order (a new customer, alone); {cpu}\n"
        f"                 placed together: {batched / max(batches, 1):.1f} orders per batch on average "
        f"({batches:,} batches)"
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
