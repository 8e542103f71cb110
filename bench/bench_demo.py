"""Time the demo-shop generator on a fresh SQLite database.

    python bench/bench_demo.py [--size small|large] [--seed 1]

Prints figures only: load time and what was loaded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("small", "large"), default="small")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="omnia-bench-demo-") as data_dir:
        os.environ["OMNIA_DATA_DIR"] = data_dir
        os.environ.pop("OMNIA_DATABASE_URL", None)  # always a fresh SQLite file in data_dir
        os.environ["DJANGO_SETTINGS_MODULE"] = "omnia.settings"
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        from omnia.catalog.models import Variant
        from omnia.customers.models import Customer, Identity
        from omnia.demo.generator import load_demo
        from omnia.inventory.models import Location, StockLevel, StockMove
        from omnia.orders.models import Order, OrderLine

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        load_demo(size=args.size, seed=args.seed)
        elapsed = time.perf_counter() - started

        print(
            f"demo {args.size}: {elapsed:.1f} s, {Location.objects.count()} locations, "
            f"{Customer.objects.count()} customers, {Identity.objects.count()} identities, "
            f"{Variant.objects.count()} SKUs, {StockLevel.objects.count()} stock levels, "
            f"{StockMove.objects.count()} stock moves, {Order.objects.count()} orders, "
            f"{OrderLine.objects.count()} order lines"
        )
        connections.close_all()


if __name__ == "__main__":
    main()
