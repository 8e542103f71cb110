"""Delivery's subscribers: the console's Shipments pages hear of every parcel move (a live refresh); a
parcel follows its order's part moved by hand."""

from __future__ import annotations

from omnia.core import events
from omnia.fulfillment import actions_parcels
from omnia.fulfillment.events import ParcelDelayed, ParcelStatusChanged
from omnia.orders.events import ShipmentMoved


def _push_parcel(event: ParcelStatusChanged | ParcelDelayed) -> None:
    kind = "parcel_delayed" if isinstance(event, ParcelDelayed) else "parcel_status"
    data = {"parcel_id": event.parcel_id, "order_id": event.order_id}
    events.publish_on_commit(events.RealtimeUpdate(topic="orders", kind=kind, data=data))


def _follow_shipment(event: ShipmentMoved) -> None:
    actions_parcels.do_follow_shipment(shipment_id=event.shipment_id, to=event.new)


def register() -> None:
    events.subscribe(ParcelStatusChanged, _push_parcel)
    events.subscribe(ParcelDelayed, _push_parcel)
    events.subscribe(ShipmentMoved, _follow_shipment)
