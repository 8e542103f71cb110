"""Roles and what each may do. One table, used by the API, the console and the admin."""

from __future__ import annotations

from typing import Any, Protocol

from django.db import models
from django.utils.translation import gettext_lazy as _

from omnia.core.errors import PermissionDenied


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    OPERATOR = "operator", _("Operator")
    CLERK = "clerk", _("Store clerk")


class Section(models.TextChoices):
    """Areas of the product; the console navigation and API routers are gated by these."""

    INBOX = "inbox", _("Inbox")
    CUSTOMERS = "customers", _("Customers")
    ORDERS = "orders", _("Orders")
    STOCK = "stock", _("Stock")
    ANALYTICS = "analytics", _("Analytics")
    SETTINGS = "settings", _("Settings")
    USERS = "users", _("Users and API tokens")
    AUDIT = "audit", _("Audit log")
    IMPORTS = "imports", _("Imports")


ALL = frozenset(Section)
SECTIONS_BY_ROLE: dict[str, frozenset[str]] = {
    Role.OWNER: ALL,
    Role.MANAGER: ALL - {Section.USERS},
    Role.OPERATOR: frozenset({Section.INBOX, Section.CUSTOMERS, Section.ORDERS, Section.STOCK}),
    Role.CLERK: frozenset({Section.CUSTOMERS, Section.ORDERS, Section.STOCK}),
}


class Actor(Protocol):
    """Anyone acting: a console user or an API token acting with a role."""

    role: str

    @property
    def is_active(self) -> bool: ...


def can(actor: Actor | None, section: str) -> bool:
    """Whether `actor` may use `section` at all."""
    if actor is None or not getattr(actor, "is_active", False):
        return False
    return section in SECTIONS_BY_ROLE.get(getattr(actor, "role", ""), frozenset())


def require(actor: Actor | None, section: str) -> None:
    """Raise PermissionDenied unless `actor` may use `section`."""
    if not can(actor, section):
        raise PermissionDenied(f"Your role may not use {Section(section).label}.", code="ROLE_FORBIDDEN")


def authorize(actor: Actor | None, section: str, *, write: bool = False) -> None:
    """Role check plus, for API tokens, the scope '<section>:read' or '<section>:write'."""
    require(actor, section)
    has_scope = getattr(actor, "has_scope", None)
    scope = f"{section}:{'write' if write else 'read'}"
    if has_scope is not None and not has_scope(scope):
        raise PermissionDenied(f"This token lacks the scope {scope}.", code="SCOPE_MISSING")


def scope_names() -> list[str]:
    """Every scope a token may carry, plus '*' for all."""
    return ["*"] + [f"{s.value}:{mode}" for s in Section for mode in ("read", "write")]


def actor_of(request: Any) -> Actor | None:
    """Who is acting on an API request: the token django-ninja authenticated (request.auth)."""
    return getattr(request, "auth", None)
