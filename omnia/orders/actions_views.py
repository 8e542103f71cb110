"""Saved views of the order list: a user names the current filters; an owner or a manager may share one with
everyone. A name is unique per user (saving under the same name again replaces its filters)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.db import transaction
from django.db.models import Q, QuerySet

from omnia.core import clock
from omnia.core.errors import PermissionDenied, ValidationFailed
from omnia.core.permissions import Role
from omnia.orders.models import SavedOrderView

SHARERS = frozenset({Role.OWNER, Role.MANAGER})
MAX_VIEWS = 30
IGNORED = frozenset({"page", "view"})


def can_share(user: Any) -> bool:
    return getattr(user, "role", None) in SHARERS


def visible_views(user: Any) -> QuerySet[SavedOrderView]:
    """The user's own views and every shared one."""
    return SavedOrderView.objects.filter(Q(user=user) | Q(shared=True)).order_by("-shared", "name", "id")


def clean_query(query: str) -> str:
    """The filters of a list URL's query string, without the page (so a view opens on its first page)."""
    pairs = [(k, v) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False) if k not in IGNORED]
    return urlencode(pairs)[:1000]


@transaction.atomic
def check_save_view(*, actor: Any, name: str, query: str, shared: bool = False) -> SavedOrderView:
    """Save (or re-save under the same name) the user's filters; sharing needs an owner or a manager."""
    name = " ".join((name or "").split())[:60]
    if not name:
        raise ValidationFailed("Name the view.", field="name", code="NAME_REQUIRED")
    if shared and not can_share(actor):
        raise PermissionDenied("Only an owner or a manager shares a view with everyone.", code="ROLE_FORBIDDEN")
    existing = SavedOrderView.objects.select_for_update().filter(user=actor, name=name).first()
    if existing is None and SavedOrderView.objects.filter(user=actor).count() >= MAX_VIEWS:
        raise ValidationFailed(f"At most {MAX_VIEWS} saved views: delete one first.", field="name", code="TOO_MANY")
    if existing is not None:
        existing.query, existing.shared = clean_query(query), shared
        existing.save(update_fields=["query", "shared"])
        return existing
    return SavedOrderView.objects.create(
        user=actor, name=name, query=clean_query(query), shared=shared, created_at=clock.now()
    )


@transaction.atomic
def check_delete_view(*, actor: Any, view: SavedOrderView) -> None:
    """Delete a view: one's own, or (an owner or a manager) a shared one."""
    if view.user_id != getattr(actor, "pk", None) and not (view.shared and can_share(actor)):
        raise PermissionDenied("This view is not yours to delete.", code="NOT_YOURS")
    SavedOrderView.objects.filter(pk=view.pk).delete()
