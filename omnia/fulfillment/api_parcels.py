"""Shipments and parcels over REST: the delivery orders' parts with their parcels, creating a parcel, setting
its tracking number, expected date and weight, moving it, and its tracking history.

Reads need `orders:read`, changes `orders:write` (shipments belong to the Orders section). Errors take the
common shape: SHIPMENT_NOT_FOUND / PARCEL_NOT_FOUND / CARRIER_NOT_FOUND → 404; PARCEL_NOT_ALLOWED (a pick-up or
take-away order), SHIPMENT_CANCELLED, PARCEL_EXISTS, TRACKING_TAKEN, TRANSITION_NOT_ALLOWED → 409; bad input
→ 422 naming the field.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from omnia.core.errors import ValidationFailed
from omnia.core.pagination import Page, paginate
from omnia.core.permissions import Section, actor_of, authorize
from omnia.fulfillment import actions_parcels, queries_parcels
from omnia.fulfillment.models import Parcel
from omnia.fulfillment.schemas_parcels import (
    ParcelEventOut,
    ParcelIn,
    ParcelOut,
    ParcelPatchIn,
    ParcelTransitionIn,
    ShipmentDetailOut,
    ShipmentOut,
)
from omnia.orders import queries as orders_queries

router = Router(tags=["shipments"])

STATUSES = [*Parcel.Status.values, "none"]


@router.get(
    "/shipments",
    response=Page[ShipmentOut],
    summary="Delivery orders' shipments with their parcels, newest first",
    description=(
        "Filters: `status` (a parcel status, or `none` for parts with no parcel yet), `carrier` (code), "
        "`location` (code), `order` (number or its start), `tracking` (tracking number), `late` (past the "
        "expected date, still on the way)."
    ),
)
def list_shipments(
    request: HttpRequest,
    status: str = "",
    carrier: str = "",
    location: str = "",
    order: str = "",
    tracking: str = "",
    late: bool = False,
    cursor: str | None = None,
    limit: int = Query(50),
) -> dict[str, object]:
    authorize(actor_of(request), Section.ORDERS)
    if status and status not in STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(STATUSES)}.", field="status", code="STATUS_INVALID")
    filters = queries_parcels.ShipmentFilters(
        status=status, carrier=carrier.strip(), location=location.strip(), order=order, tracking=tracking, late=late
    )
    return paginate(queries_parcels.list_shipments(filters), cursor=cursor, limit=limit, serialize=ShipmentOut.of)


@router.get(
    "/shipments/{shipment_id}", response=ShipmentDetailOut, summary="A shipment, its lines, parcel and tracking"
)
def get_shipment(request: HttpRequest, shipment_id: int) -> ShipmentDetailOut:
    authorize(actor_of(request), Section.ORDERS)
    return ShipmentDetailOut.of(queries_parcels.get_delivery_shipment(shipment_id))


@router.post(
    "/orders/{order_id}/shipments/{shipment_id}/parcel",
    response={201: ParcelOut},
    summary="Hand a delivery order's shipment to a carrier: its parcel, with the label filled from the order",
    description=(
        "The label (recipient, address, pieces, weight from the variants, declared value, the pick-up point the "
        "customer chose) comes from the order. A pick-up or take-away order: 409 PARCEL_NOT_ALLOWED; a cancelled "
        "shipment: 409 SHIPMENT_CANCELLED; a second parcel: 409 PARCEL_EXISTS; a tracking number the carrier's "
        "other parcel has: 409 TRACKING_TAKEN."
    ),
)
def create_parcel(request: HttpRequest, order_id: int, shipment_id: int, payload: ParcelIn) -> Status[ParcelOut]:
    actor = actor_of(request)
    authorize(actor, Section.ORDERS, write=True)
    order = orders_queries.get_order(order_id)
    shipment = orders_queries.get_shipment(order, shipment_id)
    carrier = queries_parcels.get_carrier(payload.carrier)
    parcel = actions_parcels.check_create_parcel(
        actor=actor,
        shipment=shipment,
        carrier=carrier,
        tracking_number=payload.tracking_number,
        weight_grams=payload.weight_grams,
        estimated_on=payload.estimated_on,
    )
    return Status(201, ParcelOut.of(queries_parcels.get_parcel(parcel.pk)))


@router.patch(
    "/parcels/{parcel_id}",
    response=ParcelOut,
    summary="Set or replace the tracking number, the expected date or the weight",
    description="Only the fields sent change. A new expected date may be reported late again once it passes.",
)
def update_parcel(request: HttpRequest, parcel_id: int, payload: ParcelPatchIn) -> ParcelOut:
    actor = actor_of(request)
    authorize(actor, Section.ORDERS, write=True)
    parcel = queries_parcels.get_parcel(parcel_id)
    sent = payload.model_fields_set
    actions_parcels.check_update_parcel(
        actor=actor,
        parcel=parcel,
        tracking_number=payload.tracking_number if "tracking_number" in sent else None,
        estimated_on=payload.estimated_on,
        clear_estimate="estimated_on" in sent and payload.estimated_on is None,
        weight_grams=payload.weight_grams,
    )
    return ParcelOut.of(queries_parcels.get_parcel(parcel_id))


@router.post(
    "/parcels/{parcel_id}/transitions",
    response=ParcelOut,
    summary="Move the parcel on: handed_over, in_transit, at_pickup_point, delivered, failed, returned",
    description=(
        "created → handed_over → in_transit → at_pickup_point → delivered (in_transit or handed_over → delivered "
        "for a door delivery); failed from handed_over, in_transit or at_pickup_point, then in_transit again or "
        "returned. The order's shipment follows: handed over → shipped (its units leave the shelf), delivered → "
        "delivered; a return is taken through POST /orders/{id}/returns. Another move: 409 TRANSITION_NOT_ALLOWED."
    ),
)
def move_parcel(request: HttpRequest, parcel_id: int, payload: ParcelTransitionIn) -> ParcelOut:
    actor = actor_of(request)
    authorize(actor, Section.ORDERS, write=True)
    parcel = queries_parcels.get_parcel(parcel_id)
    actions_parcels.check_move_parcel(actor=actor, parcel=parcel, to=payload.to, description=payload.description)
    return ParcelOut.of(queries_parcels.get_parcel(parcel_id))


@router.get("/parcels/{parcel_id}/events", response=list[ParcelEventOut], summary="The parcel's tracking history")
def parcel_events(request: HttpRequest, parcel_id: int) -> list[ParcelEventOut]:
    authorize(actor_of(request), Section.ORDERS)
    parcel = queries_parcels.get_parcel(parcel_id)
    return [ParcelEventOut.of(e) for e in queries_parcels.parcel_events(parcel)]
