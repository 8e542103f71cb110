"""Cursor pagination: stable under inserts, cheap at any depth (keyset on the primary key)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from ninja import Schema
from pydantic import Field

from omnia.core.errors import ValidationFailed

T = TypeVar("T")
M = TypeVar("M", bound=Model)

MAX_LIMIT = 200


class Page(Schema, Generic[T]):
    items: list[T]
    next: str | None = Field(description="Pass back as `cursor` for the next page; null on the last")


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": last_id}).encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))["id"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed("The cursor is not one this API issued.", field="cursor", code="CURSOR_INVALID") from exc
    if not isinstance(value, int):
        raise ValidationFailed("The cursor is not one this API issued.", field="cursor", code="CURSOR_INVALID")
    return value


def paginate(
    queryset: QuerySet[M],
    *,
    cursor: str | None,
    limit: int,
    serialize: Callable[[M], Any],
    newest_first: bool = True,
) -> dict[str, Any]:
    """One page of `queryset` ordered by id, after `cursor`, as {'items', 'next'}."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.", field="limit", code="LIMIT_INVALID")
    qs = queryset.order_by("-id" if newest_first else "id")
    if cursor:
        last = _decode(cursor)
        qs = qs.filter(id__lt=last) if newest_first else qs.filter(id__gt=last)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [serialize(row) for row in rows],
        "next": _encode(rows[-1].pk) if more and rows else None,
    }
