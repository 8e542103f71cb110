"""Customer lookup latency among many customers: the search box and identity resolution.

    python bench/bench_customers.py [--customers 1000000] [--database sqlite|postgresql] [--pg-url URL]
    scripts/with-postgres .venv/bin/python bench/bench_customers.py --database postgresql

Uses a fresh data directory; SQLite is a new file in it, PostgreSQL the database of --pg-url (or of
OMNIA_DATABASE_URL, which scripts/with-postgres exports) and must be empty. Migrates, bulk-loads N
synthetic customers (Kazakh and Russian names, one phone each, ~40% with an e-mail, ~30% with a
WhatsApp handle, name search tokens), then times random lookups after a warm-up. Figures only, no
assertions. Issue targets: lookup p99 < 10 ms, resolving an existing identity p99 < 2 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BATCH = 10_000
PHONE_SPACE = 10_000_000  # 7-digit subscriber numbers per mobile prefix


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    ms = [x * 1000 for x in (cuts[49], cuts[94], cuts[98], max(samples))]
    return "p50 {:6.2f}  p95 {:6.2f}  p99 {:6.2f}  max {:7.2f} ms".format(*ms)


def timed(label: str, calls: list[Callable[[], Any]], *, warmup: int, matches: bool = False) -> None:
    for call in calls[:warmup]:
        call()
    samples, found = [], []
    for call in calls[warmup:]:
        started = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - started)
        if matches:
            found.append(len(result))
    extra = f"  matches avg {statistics.fmean(found):7.1f}, max {max(found)}" if matches else ""
    print(f"  {label:<34} {percentiles(samples)}{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("OMNIA_DATABASE_URL", ""))
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="keep the SQLite database in DIR and reuse it next time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="omnia-bench-customers-") as temp_dir:
        data_dir = args.keep or temp_dir
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        os.environ["OMNIA_DATA_DIR"] = data_dir
        if args.database == "postgresql":
            if not args.pg_url.startswith("postgresql://"):
                raise SystemExit("--database postgresql needs --pg-url postgresql://… (or scripts/with-postgres)")
            os.environ["OMNIA_DATABASE_URL"] = args.pg_url
        else:
            os.environ.pop("OMNIA_DATABASE_URL", None)  # a fresh SQLite file in data_dir
        os.environ["DJANGO_SETTINGS_MODULE"] = "omnia.settings"
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, connections

        call_command("migrate", verbosity=0)
        rng = random.Random(args.seed)
        started = time.perf_counter()
        from omnia.customers.models import Customer

        if args.keep and Customer.objects.count() >= args.customers:
            people = reload(args.customers)
        else:
            people = load(args.customers, rng)
        loaded = time.perf_counter() - started
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")  # what autovacuum does soon after a bulk load

        from omnia.customers.models import Identity, SearchToken

        print(
            f"{connection.vendor}, {args.customers:,} customers: loaded in {loaded:.0f} s "
            f"({Identity.objects.count():,} identities, {SearchToken.objects.count():,} search tokens)"
        )
        measure(people, rng, args.lookups)
        connections.close_all()


def reload(n: int) -> list[tuple[str, str, str, str, bool]]:
    """The people of a database kept by --keep: (first, last, phone, email, has WhatsApp) per card."""
    from omnia.customers.models import Customer, Identity

    handles: dict[int, dict[str, str]] = {}
    for customer_id, kind, value in Identity.objects.values_list("customer_id", "kind", "value").iterator():
        handles.setdefault(customer_id, {})[kind] = value
    people = []
    for pk, first, last in Customer.objects.order_by("pk").values_list("pk", "first_name", "last_name")[:n]:
        own = handles.get(pk, {})
        people.append((first, last, own.get("phone", ""), own.get("email", ""), "whatsapp" in own))
    return people


def load(n: int, rng: random.Random) -> list[tuple[str, str, str, str, bool]]:
    """Insert n customers in batches, one transaction each; returns (first, last, phone, email, whatsapp) per card."""
    from django.db import transaction

    from omnia.core import clock
    from omnia.core.text import name_tokens, transliterate
    from omnia.customers.models import Customer, Identity, SearchToken
    from omnia.demo import data
    from omnia.demo.generator import feminine_surname

    now = clock.now()
    cities = [c[0] for c in data.CITIES]
    city_weights = [c[1] for c in data.CITIES]
    domains = [d for d, _ in data.EMAIL_DOMAINS]
    prefixes = data.MOBILE_PREFIXES
    numbers = rng.sample(range(len(prefixes) * PHONE_SPACE), n)
    people: list[tuple[str, str, str, str, bool]] = []
    for start in range(0, n, BATCH):
        cards, rows = [], []
        for i in range(start, min(start + BATCH, n)):
            female = rng.random() < 0.58
            if rng.random() < 0.62:
                first = rng.choice(data.KAZAKH_FEMALE_NAMES if female else data.KAZAKH_MALE_NAMES)
                if rng.random() < 0.8:
                    last = rng.choice(data.KAZAKH_SURNAMES_INFLECTED)
                    last = feminine_surname(last) if female else last
                else:
                    last = rng.choice(data.KAZAKH_SURNAMES_INVARIANT)
            else:
                first = rng.choice(data.RUSSIAN_FEMALE_NAMES if female else data.RUSSIAN_MALE_NAMES)
                last = rng.choice(data.RUSSIAN_SURNAMES)
                last = feminine_surname(last) if female else last
            number = numbers[i]
            phone = f"+7{prefixes[number // PHONE_SPACE]}{number % PHONE_SPACE:07d}"
            email = ""
            if rng.random() < 0.4:
                email = f"{transliterate(first)}.{transliterate(last)}{i}@{rng.choice(domains)}"
            whatsapp = rng.random() < 0.3
            people.append((first, last, phone, email, whatsapp))
            created = now - dt.timedelta(seconds=rng.randint(0, 3 * 365 * 86400))
            cards.append(
                Customer(
                    first_name=first,
                    last_name=last,
                    city=rng.choices(cities, weights=city_weights)[0],
                    created_source="import",
                    created_at=created,
                    updated_at=created,
                )
            )
            rows.append((first, last, phone, email, whatsapp, created))
        with transaction.atomic():
            Customer.objects.bulk_create(cards, batch_size=BATCH)
            identities, tokens = [], []
            for card, (first, last, phone, email, whatsapp, created) in zip(cards, rows, strict=True):
                seen = {"first_seen_at": created, "last_seen_at": created}
                identities.append(Identity(customer_id=card.pk, kind="phone", value=phone, raw_value=phone, **seen))
                if email:
                    identities.append(Identity(customer_id=card.pk, kind="email", value=email, raw_value=email, **seen))
                if whatsapp:
                    digits = phone.removeprefix("+")
                    identities.append(
                        Identity(customer_id=card.pk, kind="whatsapp", value=phone, raw_value=digits, **seen)
                    )
                tokens.extend(SearchToken(customer_id=card.pk, token=t) for t in name_tokens(first, last))
            Identity.objects.bulk_create(identities, batch_size=BATCH)
            SearchToken.objects.bulk_create(tokens, batch_size=BATCH)
    return people


def measure(people: list[tuple[str, str, str, str, bool]], rng: random.Random, lookups: int) -> None:
    from django.db import connection

    from omnia.core.text import transliterate
    from omnia.customers import actions, queries

    warmup = max(100, lookups // 10)
    total = warmup + lookups

    def sample(keep: Callable[[tuple[str, str, str, str, bool]], bool] = lambda p: True) -> list[Any]:
        chosen: list[Any] = []
        while len(chosen) < total:
            person = people[rng.randrange(len(people))]
            if keep(person):
                chosen.append(person)
        return chosen

    def typed(phone: str) -> str:
        national = phone.removeprefix("+7")
        return f"8 {national[:3]} {national[3:6]} {national[6:8]} {national[8:]}"

    def search(text: str) -> Callable[[], list[int]]:
        return lambda: queries.search_customer_ids(text)

    def resolve(digits: str) -> Callable[[], Any]:
        return lambda: actions.do_resolve_identity(kind="whatsapp", value=digits, channel="whatsapp")

    print(f"  {lookups} lookups each after {warmup} warm-up ({connection.vendor}, N={len(people):,})")
    timed("search: phone '8 7xx xxx xx xx'", [search(typed(p[2])) for p in sample()], warmup=warmup)
    timed("search: e-mail", [search(p[3]) for p in sample(lambda p: bool(p[3]))], warmup=warmup)
    timed(
        "search: name prefix 'сейт айг'",
        [search(f"{p[1][:4].lower()} {p[0][:3].lower()}") for p in sample()],
        warmup=warmup,
        matches=True,
    )
    timed("search: Latin last name", [search(transliterate(p[1])) for p in sample()], warmup=warmup, matches=True)
    timed(
        "resolve: existing whatsapp",
        [resolve(p[2].removeprefix("+")) for p in sample(lambda p: p[4])],
        warmup=warmup,
    )
    started = time.perf_counter()
    pairs = queries.suggested_duplicates()
    print(f"  suggested_duplicates() once: {time.perf_counter() - started:.2f} s, {len(pairs)} pairs")


if __name__ == "__main__":
    main()
