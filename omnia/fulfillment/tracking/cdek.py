"""CDEK (API v2) order-status webhooks.

CDEK posts `{"type": "ORDER_STATUS", "date_time", "uuid", "attributes": {"is_return", "cdek_number", "number",
"code", "status_code", "status_reason_code", "status_date_time", "city_name", "city_code"}}` to the URL
registered with its webhooks API. It does not sign its calls: the secret is the unguessable carrier key at
the end of our URL (/hooks/carriers/<webhook_key>), so `verify` has nothing more to check. The tracking
number is `cdek_number`. Other webhook types (PRINT_FORM, …) are refused as not ours.

⚠ The payload and the status codes below are from CDEK's public docs, not verified against a live account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from omnia.fulfillment.tracking.base import BadTrackingPayload, TrackingUpdate, load_json, parse_time

if TYPE_CHECKING:
    from omnia.fulfillment.models import Carrier

# ⚠ from CDEK's public docs, not verified against a live account.
# CDEK's status code → our Parcel status (None: news that moves nothing: the order registered at CDEK).
STATUS_MAP: dict[str, str | None] = {
    "CREATED": None,  # the order is registered in CDEK's system
    "ACCEPTED": None,  # CDEK has validated it
    "RECEIVED_AT_SHIPMENT_WAREHOUSE": "handed_over",  # taken in at the sender's office or warehouse
    "READY_FOR_SHIPMENT_IN_SENDER_CITY": "handed_over",
    "RETURNED_TO_SENDER_CITY_WAREHOUSE": "handed_over",
    "TAKEN_BY_TRANSPORTER_FROM_SENDER_CITY": "in_transit",
    "SENT_TO_TRANSIT_CITY": "in_transit",
    "ACCEPTED_IN_TRANSIT_CITY": "in_transit",
    "ACCEPTED_AT_TRANSIT_WAREHOUSE": "in_transit",
    "RETURNED_TO_TRANSIT_WAREHOUSE": "in_transit",
    "READY_FOR_SHIPMENT_IN_TRANSIT_CITY": "in_transit",
    "TAKEN_BY_TRANSPORTER_FROM_TRANSIT_CITY": "in_transit",
    "SENT_TO_SENDER_CITY": "in_transit",
    "SENT_TO_RECIPIENT_CITY": "in_transit",
    "ACCEPTED_IN_SENDER_CITY": "in_transit",
    "ACCEPTED_IN_RECIPIENT_CITY": "in_transit",
    "ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE": "in_transit",
    "TAKEN_BY_COURIER": "in_transit",  # out for delivery to the door
    "RETURNED_TO_RECIPIENT_CITY_WAREHOUSE": "in_transit",
    "ACCEPTED_AT_PICK_UP_POINT": "at_pickup_point",
    "POSTOMAT_POSTED": "at_pickup_point",  # in a parcel locker
    "DELIVERED": "delivered",
    "POSTOMAT_RECEIVED": "delivered",  # taken out of the parcel locker
    "NOT_DELIVERED": "failed",
    "POSTOMAT_SEIZED": "failed",  # not collected from the locker in time
    "RETURNED": "returned",
    "INVALID": "failed",  # CDEK found the order invalid: it will not be delivered as it is
}


class CdekAdapter:
    def verify(self, request_headers: Mapping[str, str], body: bytes, carrier: Carrier) -> None:
        """CDEK does not sign: the carrier's unguessable webhook key in the URL is the secret."""
        return None

    def parse(self, body: bytes) -> list[TrackingUpdate]:
        data = load_json(body)
        if not isinstance(data, dict):
            raise BadTrackingPayload("The body is a CDEK webhook object.")
        if data.get("type") != "ORDER_STATUS":
            raise BadTrackingPayload(f"type {data.get('type')!r}: only ORDER_STATUS webhooks are taken.")
        attributes = data.get("attributes")
        if not isinstance(attributes, dict):
            raise BadTrackingPayload("attributes: an object is required.")
        number = attributes.get("cdek_number")
        if not isinstance(number, str | int) or not str(number).strip():
            raise BadTrackingPayload("attributes.cdek_number is required.")
        code = attributes.get("code") or attributes.get("status_code")
        if not isinstance(code, str) or not code.strip():
            raise BadTrackingPayload("attributes.code is required.")
        code = code.strip().upper()
        at = parse_time(
            attributes.get("status_date_time") or data.get("date_time"), field_name="attributes.status_date_time"
        )
        status = STATUS_MAP.get(code)
        if attributes.get("is_return") and status == "delivered":
            status = "returned"  # the return order delivered back to the shop
        reason = str(attributes.get("status_reason_code") or "").strip()
        description = code.replace("_", " ").lower() + (f" (reason {reason})" if reason else "")
        event_id = ":".join(str(p) for p in (data.get("uuid") or "", code, reason, at.isoformat()))
        return [
            TrackingUpdate(
                tracking_number=str(number).strip(),
                status=status,
                carrier_status=code,
                description=description,
                place=_place(attributes),
                at=at,
                event_id=event_id,
                raw=data,
            )
        ]


def _place(attributes: Mapping[str, Any]) -> str:
    city = attributes.get("city_name")
    return city.strip() if isinstance(city, str) else ""
