"""A shipment for each sourcing location of every order placed before shipments existed, its status
taken from the order's."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.utils import timezone

# The order's status → its shipments' (completed and returned orders were handed over).
BY_ORDER_STATUS = {
    "new": "pending",
    "confirmed": "pending",
    "paid": "pending",
    "picking": "picking",
    "ready": "ready",
    "shipped": "shipped",
    "delivered": "delivered",
    "picked_up": "picked_up",
    "cancelled": "cancelled",
}


def _status(order_status: str, fulfillment: str) -> str:
    if order_status in BY_ORDER_STATUS:
        return BY_ORDER_STATUS[order_status]
    return "delivered" if fulfillment == "delivery" else "picked_up"  # completed, returned


def create_shipments(apps: Any, schema_editor: Any) -> None:
    OrderLine = apps.get_model("orders", "OrderLine")
    Shipment = apps.get_model("orders", "Shipment")
    now = timezone.now()
    pairs = (
        OrderLine.objects.filter(location__isnull=False)
        .values_list("order_id", "location_id", "order__status", "order__fulfillment")
        .distinct()
        .order_by("order_id", "location_id")
    )
    batch = []
    for order_id, location_id, order_status, fulfillment in pairs.iterator(chunk_size=5000):
        status = _status(order_status, fulfillment)
        batch.append(
            Shipment(order_id=order_id, location_id=location_id, status=status, created_at=now, updated_at=now)
        )
        if len(batch) >= 2000:
            Shipment.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    if batch:
        Shipment.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("orders", "0009_shipments")]

    operations = [migrations.RunPython(create_shipments, migrations.RunPython.noop)]
