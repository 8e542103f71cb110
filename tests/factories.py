"""Test data builders: real rows through the real actions where an action exists."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from omnia.accounts import actions as accounts_actions
from omnia.accounts.models import User
from omnia.catalog.models import Product, Variant
from omnia.core import clock
from omnia.core.permissions import Role
from omnia.inventory.models import Location

PASSWORD = "correct-horse-battery-staple"
_seq = itertools.count(1)


def make_location(*, kind: str = Location.Kind.STORE, city: str = "Алматы", **extra: Any) -> Location:
    n = next(_seq)
    defaults: dict[str, Any] = {"code": f"loc-{n}", "name": f"{city} store {n}", "kind": kind, "city": city}
    defaults.update(extra)
    return Location.objects.create(**defaults)


def make_user(role: str = Role.OPERATOR, *, store: Location | None = None, email: str | None = None) -> User:
    n = next(_seq)
    if role == Role.CLERK and store is None:
        store = make_location()
    return accounts_actions.check_create_user(
        actor=None,
        email=email or f"{role}{n}@shop.test",
        password=PASSWORD,
        role=role,
        store=store,
        first_name="Test",
        last_name=str(role).title(),
    )


def make_token(*, role: str = Role.MANAGER, scopes: list[str] | None = None, name: str = "Website") -> str:
    return accounts_actions.check_create_token(actor=None, name=name, scopes=scopes or ["*"], role=role).secret


def make_variant(*, price: str = "4990", sku: str | None = None, name: str = "Гирлянда «Нить» 10 м") -> Variant:
    n = next(_seq)
    product = Product.objects.create(name=name, created_at=clock.now())
    return Variant.objects.create(product=product, sku=sku or f"SKU-{n:05d}", price=Decimal(price), currency="KZT")
