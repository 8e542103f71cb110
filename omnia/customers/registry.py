"""Rows of other apps that point at a customer and move with a merge.

Apps above `customers` (orders, conversations, …) register their customer foreign keys from their
AppConfig.ready(); a merge moves those rows to the surviving card and records their ids, an undo
moves exactly those back. `customers` never imports those apps.
"""

from __future__ import annotations

from collections.abc import Callable

from django.apps import apps
from django.db import models
from django.db.models import QuerySet

_references: list[tuple[str, str]] = []
_lookups: list[Callable[[str], QuerySet[models.Model]]] = []


def register_customer_reference(model_label: str, field: str) -> None:
    """`model_label` ('orders.Order') has a foreign key `field` to customers.Customer."""
    if (model_label, field) not in _references:
        _references.append((model_label, field))


def customer_references() -> list[tuple[type[models.Model], str]]:
    return [(apps.get_model(label), field) for label, field in _references]


def register_search_lookup(lookup: Callable[[str], QuerySet[models.Model]]) -> None:
    """`lookup(text)` returns a queryset of customer ids (values_list) matching `text` exactly,
    e.g. the customer of the order numbered `text`; the one search box consults every lookup."""
    if lookup not in _lookups:
        _lookups.append(lookup)


def search_lookups() -> list[Callable[[str], QuerySet[models.Model]]]:
    return list(_lookups)
