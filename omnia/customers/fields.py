"""A column for index-backed prefix search on every database."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Lookup


class TokenField(models.CharField):
    """Short folded words (see core.text.name_tokens) searched by `token__prefix="айг"`."""


@TokenField.register_lookup
class Prefix(Lookup):
    """`column LIKE 'p%'` (PostgreSQL: varchar_pattern_ops index); on SQLite a range on the index.

    SQLite's LIKE cannot use an index on a case-sensitive (BINARY) column, but `p <= x < p + U+10FFFF`
    can, and BINARY order is code-point order, so the range holds exactly the strings starting with p.
    """

    lookup_name = "prefix"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        params = list(rhs_params)
        pattern = connection.ops.prep_for_like_query(str(next(iter(params)))) + "%"
        return f"{lhs} LIKE {rhs}", [*lhs_params, pattern]

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        prefix = str(next(iter(rhs_params)))
        return f"({lhs} >= {rhs} AND {lhs} < {rhs})", [*lhs_params, prefix, *lhs_params, prefix + "\U0010ffff"]
