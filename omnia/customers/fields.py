"""A column for index-backed prefix search on every database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Lookup

# Above every character: `p <= x < p + TOP` holds exactly the strings that start with p.
TOP = "\U0010ffff"


@dataclass(frozen=True)
class KeyOrder:
    """SQL comparisons and ordering of keys that the token index answers (code-point order)."""

    ge: str
    lt: str
    gt: str
    order_by: str  # appended to ORDER BY token


def key_order(connection: Any) -> KeyOrder:
    """PostgreSQL's varchar_pattern_ops index answers only its own operators (byte order, whatever the
    collation); SQLite's BINARY order is the plain operators'."""
    if connection.vendor == "postgresql":
        return KeyOrder(ge="~>=~", lt="~<~", gt="~>~", order_by="USING ~<~")
    return KeyOrder(ge=">=", lt="<", gt=">", order_by="")


class TokenField(models.CharField):
    """Folded words and pair keys (see core.text.name_search_keys), searched by `token__prefix="айг"`
    or `token__like=("айг", "ер")`."""


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
        return f"({lhs} >= {rhs} AND {lhs} < {rhs})", [*lhs_params, prefix, *lhs_params, prefix + TOP]


@TokenField.register_lookup
class Like(Lookup):
    """`token__like=("ab", "c")`: 'ab', then any text, then 'c', then any text (LIKE 'ab%c%').

    The first part is the index range: PostgreSQL derives it from the pattern (varchar_pattern_ops),
    SQLite is given it as a range like Prefix's and checks the pattern on the index entries within.
    """

    lookup_name = "like"
    prepare_rhs = False

    def _parts(self) -> list[str]:
        if isinstance(self.rhs, str) or not isinstance(self.rhs, Sequence) or not self.rhs:
            raise TypeError("token__like takes a non-empty sequence of literal parts")
        return [str(part) for part in self.rhs]

    def _pattern(self, connection: Any) -> str:
        return "%".join(connection.ops.prep_for_like_query(part) for part in self._parts()) + "%"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} LIKE %s", [*lhs_params, self._pattern(connection)]

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        head = self._parts()[0]
        return (
            f"({lhs} >= %s AND {lhs} < %s AND {lhs} LIKE %s ESCAPE '\\')",
            [*lhs_params, head, *lhs_params, head + TOP, *lhs_params, self._pattern(connection)],
        )
