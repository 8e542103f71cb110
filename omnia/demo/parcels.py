"""The demo's parcels: the recent shipped and delivered delivery orders' parts handed to the demo carriers, with
tracking numbers and their tracking history, one of them late (its expected date passed while on its way).

Written after the carriers (demo.delivery) and with whatever carriers there are: none, no parcels. Rows are
written directly, like the rest of the demo's history, with the label each would have had
(fulfillment.actions_parcels.label_for) and events at plausible times.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from omnia.core import clock
from omnia.fulfillment import actions_parcels
from omnia.fulfillment import queries as fulfillment_queries
from omnia.fulfillment.models import Carrier, Parcel, ParcelEvent
from omnia.orders.models import Order, Shipment

RECENT = 60  # parts of the latest delivery orders that get a parcel
P = Parcel.Status


def _carrier_for(order: Order, carriers: dict[str, Carrier], index: int) -> Carrier:
    """The order's chosen carrier, else the shop's couriers in the two big cities, else CDEK or Kazpost."""
    choice = fulfillment_queries.get_choice(order.pk)
    if choice is not None and choice.carrier is not None and choice.carrier.is_active:
        return choice.carrier
    city = str((order.delivery_address or {}).get("city", ""))
    if city in ("Алматы", "Астана") and "own" in carriers and index % 3:
        return carriers["own"]
    for code in ("cdek", "kazpost") if index % 2 else ("kazpost", "cdek"):
        if code in carriers:
            return carriers[code]
    return next(iter(carriers.values()))


def _number(carrier: Carrier, shipment: Shipment) -> str:
    if carrier.kind == Carrier.Kind.CDEK:
        return f"11{shipment.pk:08d}"
    if carrier.kind == Carrier.Kind.KAZPOST:
        return f"CC{shipment.pk:09d}KZ"
    return f"{carrier.code.upper()}-{shipment.pk:06d}"


def _path(carrier: Carrier, delivered: bool, index: int) -> list[str]:
    path: list[str] = [P.CREATED, P.HANDED_OVER, P.IN_TRANSIT]
    if carrier.kind == Carrier.Kind.CDEK and index % 2:
        path.append(P.AT_PICKUP_POINT)
    if delivered:
        path.append(P.DELIVERED)
    return path


# As a carrier's tracking page words them (stored texts, in the carrier's language).
DESCRIPTIONS: dict[str, str] = {
    P.CREATED: "",
    P.HANDED_OVER: "Принят на складе отправителя",
    P.IN_TRANSIT: "Отправлен в город получателя",
    P.AT_PICKUP_POINT: "Поступил в пункт выдачи",
    P.DELIVERED: "Вручён получателю",
}


def _source(carrier: Carrier, status: str) -> str:
    if status == P.CREATED:
        return ParcelEvent.Source.SYSTEM
    return ParcelEvent.Source.OPERATOR if carrier.tracking == Carrier.Tracking.MANUAL else ParcelEvent.Source.WEBHOOK


@transaction.atomic
def load_parcels() -> int:
    """Parcels for the latest shipped and delivered delivery orders (once: a shop with parcels keeps them).
    Returns how many were written."""
    carriers = {c.code: c for c in Carrier.objects.filter(is_active=True).order_by("position", "id")}
    if not carriers or Parcel.objects.exists():
        return 0
    now = clock.now()
    today = clock.today()
    shipments = list(
        Shipment.objects.filter(
            order__fulfillment=Order.Fulfillment.DELIVERY,
            status__in=[Shipment.Status.SHIPPED, Shipment.Status.DELIVERED],
            parcel__isnull=True,
        )
        .select_related("order", "order__customer", "location")
        .order_by("-order__placed_at", "-id")[:RECENT]
    )
    late_done = False
    written = 0
    for index, shipment in enumerate(shipments):
        order = shipment.order
        carrier = _carrier_for(order, carriers, index)
        delivered = shipment.status == Shipment.Status.DELIVERED
        start = min(order.placed_at + dt.timedelta(hours=3), now - dt.timedelta(days=2))
        steps = _path(carrier, delivered, index)
        times = [
            min(start + dt.timedelta(hours=20 * i), now - dt.timedelta(minutes=30 * (len(steps) - i)))
            for i in range(len(steps))
        ]
        expected = (start + dt.timedelta(days=4)).date()
        if not delivered:
            if not late_done:
                expected, late_done = today - dt.timedelta(days=1), True  # on its way past its date: late
            else:
                expected = max(expected, today + dt.timedelta(days=1 + index % 3))
        label = actions_parcels.label_for(order, shipment)
        parcel = Parcel.objects.create(
            shipment=shipment,
            carrier=carrier,
            tracking_number=_number(carrier, shipment),
            status=steps[-1],
            label=label,
            weight_grams=label["weight_grams"],
            estimated_on=expected,
            created_at=times[0],
            updated_at=times[-1],
            status_at=times[-1],
        )
        place = str((order.delivery_address or {}).get("city", ""))
        ParcelEvent.objects.bulk_create(
            ParcelEvent(
                parcel=parcel,
                status=status,
                description=DESCRIPTIONS[status],
                place=shipment.location.city if status in (P.CREATED, P.HANDED_OVER) else place,
                at=at,
                received_at=at,
                source=_source(carrier, status),
            )
            for status, at in zip(steps, times, strict=True)
        )
        written += 1
    return written
