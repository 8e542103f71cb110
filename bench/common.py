"""What the bench scripts share: a fresh database for Django, and latency percentiles."""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def fresh_database(database: str, pg_url: str, *, prefix: str) -> Iterator[None]:
    """Django set up on a fresh, migrated database: SQLite in a throwaway data directory, or the (empty)
    PostgreSQL at `pg_url`; the data directory is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as data_dir:
        os.environ["OMNIA_DATA_DIR"] = data_dir
        if database == "postgresql":
            if not pg_url.startswith("postgresql://"):
                raise SystemExit("--database postgresql needs --pg-url postgresql://… (or scripts/with-postgres)")
            os.environ["OMNIA_DATABASE_URL"] = pg_url
        else:
            os.environ.pop("OMNIA_DATABASE_URL", None)
        os.environ["DJANGO_SETTINGS_MODULE"] = "omnia.settings"
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    ms = [x * 1000 for x in (cuts[49], cuts[94], cuts[98], max(samples))]
    return "p50 {:6.2f}  p95 {:6.2f}  p99 {:6.2f}  max {:7.2f} ms".format(*ms)
