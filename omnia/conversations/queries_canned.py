"""Reads for canned responses: the "/" search in the composer and the settings list, and rendering."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db.models import Case, IntegerField, Q, Value, When

from omnia.conversations.models import CannedResponse
from omnia.core.errors import NotFound
from omnia.customers.models import Customer

# {{ customer.first_name }}: the only syntax, and only these fields; nothing else is evaluated.
VARIABLE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
KNOWN_VARIABLE = re.compile(r"^\s*(customer|order)\.(\w+)\s*$")
ALLOWED_FIELDS: dict[str, frozenset[str]] = {
    "customer": frozenset({"first_name", "last_name", "full_name", "city", "loyalty_card"}),
    "order": frozenset({"number", "total", "status"}),
}
SEARCH_LIMIT = 50


class CannedResponseNotFound(NotFound):
    code = "CANNED_RESPONSE_NOT_FOUND"


def unknown_variables(text: str) -> list[str]:
    """Every {{…}} in `text` that is not an allowed variable, as written (without the braces)."""
    unknown = []
    for match in VARIABLE.finditer(text):
        known = KNOWN_VARIABLE.match(match.group(1))
        if known is None or known.group(2) not in ALLOWED_FIELDS[known.group(1)]:
            unknown.append(match.group(1).strip())
    return unknown


def _value(source: str, field: str, *, customer: Customer, order: Mapping[str, Any] | None) -> str | None:
    if source == "customer":
        return str(getattr(customer, field) or "")
    if order is None or field not in order:
        return None
    value = order[field]
    return "" if value is None else str(value)


def missing_variables(text: str, *, order: Mapping[str, Any] | None = None) -> list[str]:
    """The allowed variables `render_canned` leaves as written because their value was not given."""
    missing = []
    for match in VARIABLE.finditer(text):
        known = KNOWN_VARIABLE.match(match.group(1))
        if known and known.group(1) == "order" and (order is None or known.group(2) not in order):
            missing.append(f"order.{known.group(2)}")
    return missing


def render_canned(text: str, *, customer: Customer, order: Mapping[str, Any] | None = None) -> str:
    """`text` with its allowed variables filled in for `customer` and `order`.

    `order` is a plain dict ({"number", "total", "status"}) given by the caller: orders live in a
    layer above conversations. Order variables without a value, and anything not allowed, stay as
    written so the operator sees what is missing instead of a silent gap."""

    def fill(match: re.Match[str]) -> str:
        known = KNOWN_VARIABLE.match(match.group(1))
        if known is None or known.group(2) not in ALLOWED_FIELDS[known.group(1)]:
            return match.group(0)
        value = _value(known.group(1), known.group(2), customer=customer, order=order)
        return match.group(0) if value is None else value

    return VARIABLE.sub(fill, text)


def get_canned(canned_id: int, *, active_only: bool = False) -> CannedResponse:
    qs = CannedResponse.objects.filter(pk=canned_id)
    if active_only:
        qs = qs.filter(is_active=True)
    canned = qs.first()
    if canned is None:
        raise CannedResponseNotFound(f"No canned response #{canned_id}.", field="canned_id")
    return canned


def search_canned(
    query: str = "", *, provider: str = "", language: str = "", include_inactive: bool = False
) -> list[CannedResponse]:
    """Canned responses for the composer's "/": shortcut starting with `query`, or title/text
    containing it. With a `provider` or `language` only those for it (or for all) are kept, the most
    specific one per shortcut. Order: shortcut matches first, then those for exactly this channel,
    then exactly this language (before the ones for all), then by shortcut. At most 50."""
    query = query.strip().lstrip("/").strip()
    qs = CannedResponse.objects.all()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if provider:
        qs = qs.filter(channel__in=["", provider])
    if language:
        qs = qs.filter(language__in=["", language])
    if query:
        qs = qs.filter(Q(shortcut__istartswith=query) | Q(title__icontains=query) | Q(text__icontains=query))
    zero = Value(0, output_field=IntegerField())

    def rank(condition: Q) -> Case:
        return Case(When(condition, then=Value(0)), default=Value(1), output_field=IntegerField())

    qs = qs.annotate(
        shortcut_rank=rank(Q(shortcut__istartswith=query)) if query else zero,
        channel_rank=rank(Q(channel=provider)) if provider else zero,
        language_rank=rank(Q(language=language)) if language else zero,
    ).order_by("shortcut_rank", "channel_rank", "language_rank", "shortcut", "channel", "language", "id")
    if not (provider or language):
        return list(qs[:SEARCH_LIMIT])
    best: dict[str, CannedResponse] = {}
    for canned in qs:
        best.setdefault(canned.shortcut, canned)
        if len(best) >= SEARCH_LIMIT:
            break
    return list(best.values())
