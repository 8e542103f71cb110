from __future__ import annotations

from typing import Any

from django.db import transaction

from omnia.core import clock
from omnia.core.errors import ValidationFailed
from omnia.customers.models import Customer, NotDuplicate


@transaction.atomic
def do_dismiss_suggestion(*, actor: Any, first: Customer, second: Customer) -> NotDuplicate:
    """Mark two cards as different people so they are no longer suggested as duplicates."""
    if first.pk == second.pk:
        raise ValidationFailed("Two different cards are needed.", field="other_id", code="SAME_CARD")
    low, high = sorted((first.pk, second.pk))
    verdict, _ = NotDuplicate.objects.get_or_create(
        first_id=low, second_id=high, defaults={"at": clock.now(), "actor": getattr(actor, "audit_user", None)}
    )
    return verdict
