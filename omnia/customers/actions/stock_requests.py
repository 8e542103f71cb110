"""A customer asks to be told when a variant is back in stock: the request is kept with the stock
(inventory.StockSubscription) and shown on the card's timeline. The notice itself is sent by the
notifications when inventory raises BackInStock."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from omnia.core import clock
from omnia.customers.actions.timeline import do_record_timeline
from omnia.customers.models import Customer, TimelineEntry
from omnia.inventory.models import Location, StockSubscription


@transaction.atomic
def do_request_back_in_stock(
    *, actor: Any, customer: Customer, variant: Any, location: Location | None = None, channel: str = ""
) -> StockSubscription:
    """Record the request once: asking again for the same variant and place returns the open request."""
    existing = StockSubscription.objects.filter(
        customer=customer, variant_id=variant.pk, location=location, notified_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    subscription = StockSubscription.objects.create(
        customer=customer,
        variant_id=variant.pk,
        location=location,
        channel=channel[:16],
        created_at=clock.now(),
        actor=getattr(actor, "audit_user", None),
    )
    place = f" @ {location.name}" if location is not None else ""
    do_record_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.STOCK_REQUEST,
        summary=f"{variant.sku} {variant}{place}"[:200],
        channel=channel,
        ref=subscription,
        actor=actor,
        data={"variant_id": variant.pk, "sku": variant.sku, "location_id": location.pk if location else None},
    )
    return subscription
