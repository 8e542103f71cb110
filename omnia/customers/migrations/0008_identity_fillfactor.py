"""PostgreSQL: leave room in identity pages so the hourly last-seen UPDATE is a heap-only (HOT) update.

A full page forces the new row version onto another page and a new entry in every index of the table;
with 15% free per page the version stays on its page and no index is touched. SQLite has no such knob.
Only pages written from now on keep the room (a `VACUUM FULL customers_identity` repacks old ones)."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def set_fillfactor(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE customers_identity SET (fillfactor = 85)")


def reset_fillfactor(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE customers_identity RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("customers", "0007_search_pairs_indexes")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False)]
