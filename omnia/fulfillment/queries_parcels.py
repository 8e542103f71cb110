"""Reads for parcels and the shipments of delivery orders (the console's Shipments list, the API)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from omnia.core import clock
from omnia.core.errors import NotFound
from omnia.fulfillment.models import Carrier, Parcel, ParcelEvent, TrackingRejection
from omnia.orders.models import Order, Shipment


class ParcelNotFound(NotFound):
    code = "PARCEL_NOT_FOUND"


class ShipmentNotFound(NotFound):
    code = "SHIPMENT_NOT_FOUND"


class CarrierNotFound(NotFound):
    code = "CARRIER_NOT_FOUND"


@dataclass(frozen=True)
class ShipmentFilters:
    status: str = ""  # a parcel status, or "none" for shipments without a parcel
    carrier: str = ""  # carrier code
    location: str = ""  # location code
    order: str = ""  # order number (exact or prefix)
    tracking: str = ""  # tracking number
    late: bool = False
    text: str = ""  # an order number (or its start) or a tracking number


def list_shipments(filters: ShipmentFilters | None = None) -> QuerySet[Shipment]:
    """The parts of delivery orders, with their parcel when they have one, newest first."""
    f = filters or ShipmentFilters()
    qs = (
        Shipment.objects.filter(order__fulfillment=Order.Fulfillment.DELIVERY)
        .select_related("order", "order__customer", "location", "parcel", "parcel__carrier")
        .order_by("-id")
    )
    if f.status == "none":
        qs = qs.filter(parcel__isnull=True).exclude(status=Shipment.Status.CANCELLED)
    elif f.status:
        qs = qs.filter(parcel__status=f.status)
    if f.carrier:
        qs = qs.filter(parcel__carrier__code=f.carrier)
    if f.location:
        qs = qs.filter(location__code=f.location)
    if f.order.strip():
        qs = qs.filter(order__number__istartswith=f.order.strip())
    if f.tracking.strip():
        qs = qs.filter(parcel__tracking_number__iexact=f.tracking.strip())
    if f.text.strip():
        text = f.text.strip()
        qs = qs.filter(Q(order__number__istartswith=text) | Q(parcel__tracking_number__iexact=text))
    if f.late:
        qs = qs.filter(late_condition("parcel__"))
    return qs


def late_condition(prefix: str = "") -> Q:
    """A parcel past its expected date and still on its way."""
    return Q(**{f"{prefix}estimated_on__lt": clock.today()}) & ~Q(
        **{f"{prefix}status__in": [Parcel.Status.DELIVERED, Parcel.Status.RETURNED]}
    )


def is_late(parcel: Parcel) -> bool:
    return (
        parcel.estimated_on is not None
        and parcel.estimated_on < clock.today()
        and parcel.status not in (Parcel.Status.DELIVERED, Parcel.Status.RETURNED)
    )


def get_delivery_shipment(shipment_id: int, *, field: str = "shipment_id") -> Shipment:
    shipment = (
        Shipment.objects.select_related("order", "order__customer", "location")
        .filter(pk=shipment_id, order__fulfillment=Order.Fulfillment.DELIVERY)
        .first()
    )
    if shipment is None:
        raise ShipmentNotFound(f"No delivery shipment #{shipment_id}.", field=field)
    return shipment


def parcel_of(shipment: Shipment) -> Parcel | None:
    return Parcel.objects.select_related("carrier").filter(shipment=shipment).first()


def get_parcel(parcel_id: int, *, field: str = "parcel_id") -> Parcel:
    parcel = (
        Parcel.objects.select_related("carrier", "shipment", "shipment__order", "shipment__location")
        .filter(pk=parcel_id)
        .first()
    )
    if parcel is None:
        raise ParcelNotFound(f"No parcel #{parcel_id}.", field=field)
    return parcel


def parcel_events(parcel: Parcel) -> QuerySet[ParcelEvent]:
    """The parcel's history, oldest first."""
    return ParcelEvent.objects.filter(parcel=parcel).select_related("actor").order_by("at", "id")


def get_carrier(code: str, *, field: str = "carrier") -> Carrier:
    carrier = Carrier.objects.filter(code=(code or "").strip()).first()
    if carrier is None:
        raise CarrierNotFound(f"No carrier {code!r}.", field=field)
    return carrier


def active_carriers() -> QuerySet[Carrier]:
    return Carrier.objects.filter(is_active=True)


def get_carrier_by_webhook_key(key: str) -> Carrier | None:
    return Carrier.objects.filter(webhook_key=key, is_active=True).first()


def tracking_link(parcel: Parcel) -> str:
    """The carrier's page for this parcel, when the carrier has one and the parcel a number."""
    template = parcel.carrier.tracking_url
    if not template or not parcel.tracking_number:
        return ""
    return template.replace("{tracking_number}", parcel.tracking_number)


def recent_rejections(*, limit: int = 50) -> QuerySet[TrackingRejection]:
    return TrackingRejection.objects.select_related("carrier").order_by("-at", "-id")[:limit]
