"""The audit log: every sensitive action calls do_record_audit inside its own transaction."""

from __future__ import annotations

from typing import Any

from django.db import models

from omnia.core import clock
from omnia.core.models import AuditEntry


def actor_label(actor: Any) -> str:
    """'owner@shop.kz' for a person, 'token:Website' for an API token, 'system' for none."""
    if actor is None:
        return "system"
    label = getattr(actor, "audit_label", None)
    if label:
        return str(label)
    return str(actor)


def do_record_audit(
    *, actor: Any, action: str, target: models.Model, changes: dict[str, Any] | None = None
) -> AuditEntry:
    """Append one audit entry; `actor` is a User, an ApiToken (its creator is recorded) or None."""
    user = getattr(actor, "audit_user", None)
    return AuditEntry.objects.create(
        at=clock.now(),
        actor=user,
        actor_label=actor_label(actor)[:200],
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_repr=str(target)[:200],
        changes=changes or {},
    )


def list_audit() -> models.QuerySet[AuditEntry]:
    return AuditEntry.objects.select_related("actor").order_by("-at", "-id")
