"""API shapes for shipments, parcels and their tracking events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from omnia.fulfillment import queries_parcels
from omnia.fulfillment.models import Parcel, ParcelEvent
from omnia.orders.models import Shipment

# --- input ---------------------------------------------------------------------------------------------


class ParcelIn(Schema):
    carrier: str = Field(description="The carrier's code")
    tracking_number: str = Field("", max_length=64, description="Optional now; set later with PATCH")
    weight_grams: int | None = Field(None, description="Defaults to the lines' variant weights")
    estimated_on: dt.date | None = Field(None, description="Defaults to the order's delivery choice's latest date")


class ParcelPatchIn(Schema):
    tracking_number: str | None = Field(None, max_length=64, description='Replaces the number ("" removes it)')
    estimated_on: dt.date | None = Field(None, description="A new expected date (null removes it)")
    weight_grams: int | None = None


class ParcelTransitionIn(Schema):
    to: str = Field(description="handed_over, in_transit, at_pickup_point, delivered, failed or returned")
    description: str = Field("", max_length=300)


# --- output --------------------------------------------------------------------------------------------


class ParcelOut(Schema):
    id: int
    shipment_id: int
    carrier: str = Field(description="The carrier's code")
    carrier_name: str
    tracking_number: str
    tracking_url: str = Field(description="The carrier's page for this parcel, when it has one")
    status: str = Field(description="created, handed_over, in_transit, at_pickup_point, delivered, failed, returned")
    status_at: dt.datetime
    weight_grams: int | None
    estimated_on: dt.date | None
    late: bool = Field(description="Past its expected date and not delivered or returned")
    delayed_at: dt.datetime | None = Field(description="When it was reported late")
    pickup_point: dict[str, Any]
    label: dict[str, Any] = Field(description="Sender, recipient, address, pieces, items, weight, declared value")
    created_at: dt.datetime

    @staticmethod
    def of(p: Parcel) -> ParcelOut:
        return ParcelOut(
            id=p.pk,
            shipment_id=p.shipment_id,
            carrier=p.carrier.code,
            carrier_name=p.carrier.name,
            tracking_number=p.tracking_number,
            tracking_url=queries_parcels.tracking_link(p),
            status=p.status,
            status_at=p.status_at,
            weight_grams=p.weight_grams,
            estimated_on=p.estimated_on,
            late=queries_parcels.is_late(p),
            delayed_at=p.delayed_at,
            pickup_point=dict(p.pickup_point or {}),
            label=dict(p.label or {}),
            created_at=p.created_at,
        )


class ParcelEventOut(Schema):
    id: int
    status: str = Field(description="The parcel status it reported (empty: news that moves nothing)")
    carrier_status: str
    description: str
    place: str
    at: dt.datetime
    received_at: dt.datetime
    source: str = Field(description="operator, webhook or system")
    applied: bool = Field(description="False for a carrier event older than, or behind, the parcel's status")

    @staticmethod
    def of(e: ParcelEvent) -> ParcelEventOut:
        return ParcelEventOut(
            id=e.pk,
            status=e.status,
            carrier_status=e.carrier_status,
            description=e.description,
            place=e.place,
            at=e.at,
            received_at=e.received_at,
            source=e.source,
            applied=not (e.raw or {}).get("not_applied"),
        )


class ShipmentLineOut(Schema):
    sku: str
    name: str
    quantity: int


def _parcel(s: Shipment) -> Parcel | None:
    try:
        return s.parcel
    except Parcel.DoesNotExist:
        return None


class ShipmentOut(Schema):
    id: int
    order_id: int
    order_number: str
    customer_id: int | None
    location: str = Field(description="The code of the location it is sourced from")
    status: str = Field(description="The order shipment's status: pending, picking, shipped, delivered, cancelled…")
    parcel: ParcelOut | None

    @staticmethod
    def of(s: Shipment) -> ShipmentOut:
        parcel = _parcel(s)
        return ShipmentOut(
            id=s.pk,
            order_id=s.order_id,
            order_number=s.order.number,
            customer_id=s.order.customer_id,
            location=s.location.code,
            status=s.status,
            parcel=ParcelOut.of(parcel) if parcel is not None else None,
        )


class ShipmentDetailOut(ShipmentOut):
    lines: list[ShipmentLineOut]
    events: list[ParcelEventOut] = Field(description="The parcel's tracking history, oldest first")

    @staticmethod
    def of(s: Shipment) -> ShipmentDetailOut:
        base = ShipmentOut.of(s)
        parcel = _parcel(s)
        lines = s.order.lines.filter(location_id=s.location_id).select_related("variant").order_by("id")
        return ShipmentDetailOut(
            **base.dict(exclude={"parcel"}),
            parcel=base.parcel,
            lines=[
                ShipmentLineOut(sku=line.variant.sku, name=str(line.variant), quantity=line.quantity) for line in lines
            ],
            events=[ParcelEventOut.of(e) for e in queries_parcels.parcel_events(parcel)] if parcel is not None else [],
        )
