"""insert: bulk_create's lean twin, for the paths every order goes through.

QuerySet.bulk_create spends more CPU than the database does on a few rows (its per-call checks, and on
PostgreSQL the typed arrays it sends for UNNEST). insert() writes the same rows as one plain
`INSERT … VALUES (…), (…) RETURNING id`, each value prepared by its field as bulk_create does
(pre_save, then get_db_prep_save), and gives each instance its id, as bulk_create does.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models, transaction

M = TypeVar("M", bound=models.Model)

# SQLite allows 32,766 parameters in one statement: a statement holds at most this many values.
MAX_PARAMETERS = 30_000


def insert(objs: list[M]) -> list[M]:
    """Store new instances of one model (an automatic primary key, no parent model), in as few
    statements as the parameter limit allows, and set their ids. Returns `objs`."""
    if not objs:
        return objs
    meta = type(objs[0])._meta
    pk = meta.pk
    if pk is None or meta.parents:
        raise TypeError(f"insert() takes plain models, not {meta.label}")
    connection = transaction.get_connection()
    fields = [field for field in meta.local_concrete_fields if field is not pk]
    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({}) VALUES ".format(  # noqa: S608 - names only: every value is a parameter
        quote(meta.db_table), ", ".join(quote(field.column) for field in fields)
    )
    row = "({})".format(", ".join("%s" for _ in fields))
    per_statement = max(1, MAX_PARAMETERS // max(1, len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            chunk = objs[start : start + per_statement]
            params = [
                field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in chunk for field in fields
            ]
            cursor.execute(f"{head}{', '.join(row for _ in chunk)} RETURNING {quote(pk.column)}", params)
            for obj, (value,) in zip(chunk, cursor.fetchall(), strict=True):
                obj.pk = value
                obj._state.adding = False
                obj._state.db = connection.alias
    return objs
