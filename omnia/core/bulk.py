"""insert and update: bulk_create's and bulk_update's lean twins, for the paths every order goes through.

QuerySet.bulk_create spends more CPU than the database does on a few rows (its per-call checks, and on
PostgreSQL the typed arrays it sends for UNNEST). insert() writes the same rows as one plain
`INSERT … VALUES (…), (…) RETURNING id`, each value prepared by its field as bulk_create does
(pre_save, then get_db_prep_save), and gives each instance its id, as bulk_create does. Likewise
bulk_update spends more CPU composing its CASE expressions than the database spends running them:
update() writes the statement itself.
"""

from __future__ import annotations

from typing import Any, TypeVar

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


def update(model: type[models.Model], values: dict[str, dict[Any, Any]]) -> None:
    """Set each field to its value per primary key, {field name: {pk: value}}, in one UPDATE of the rows
    named (`SET f = CASE id WHEN … THEN … ELSE f END`): a row a field names no value for keeps its own."""
    ids = list(dict.fromkeys(pk for per_row in values.values() for pk in per_row))
    if not ids:
        return
    meta = model._meta
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    key = quote(meta.pk.column)
    sets: list[str] = []
    params: list[Any] = []
    for name, per_row in values.items():
        if not per_row:
            continue
        field: Any = meta.get_field(name)  # a concrete field
        column = quote(field.column)
        cases = " ".join("WHEN %s THEN %s" for _ in per_row)
        sets.append(f"{column} = CASE {key} {cases} ELSE {column} END")
        params += [value for pk, its in per_row.items() for value in (pk, field.get_db_prep_save(its, connection))]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} "  # noqa: S608 - names only: values are parameters
            f"WHERE {key} IN ({', '.join('%s' for _ in ids)})",
            [*params, *ids],
        )
