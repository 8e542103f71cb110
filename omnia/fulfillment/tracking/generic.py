"""The generic tracking webhook: our own documented, signed JSON (README "Carrier tracking webhooks").

Headers: `X-Omnia-Timestamp` (Unix seconds) and `X-Omnia-Signature: sha256=<hex HMAC-SHA256 of
"{timestamp}.{raw body}" keyed with the carrier's secret>` — the scheme of our outgoing webhooks
(omnia.webhooks.signing), with a 5-minute tolerance. Body:
`{"events": [{"id", "tracking_number", "status", "description"?, "place"?, "at"}]}`, `status` one of the
Parcel statuses, `at` ISO 8601 with an offset; `id` is the sender's event id (a redelivery is applied once).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from omnia.core import clock
from omnia.fulfillment.tracking.base import BadTrackingPayload, TrackingRejected, TrackingUpdate, load_json, parse_time
from omnia.webhooks import signing

if TYPE_CHECKING:
    from omnia.fulfillment.models import Carrier

TIMESTAMP_HEADER = "X-Omnia-Timestamp"
SIGNATURE_HEADER = "X-Omnia-Signature"
TOLERANCE_SECONDS = 300
STATUSES = ("created", "handed_over", "in_transit", "at_pickup_point", "delivered", "failed", "returned")
MAX_EVENTS = 500


class GenericAdapter:
    def verify(self, request_headers: Mapping[str, str], body: bytes, carrier: Carrier) -> None:
        secret = carrier.secret
        if not secret:
            raise TrackingRejected("The carrier has no signing secret set.")
        timestamp = (request_headers.get(TIMESTAMP_HEADER) or "").strip()
        received = (request_headers.get(SIGNATURE_HEADER) or "").strip()
        if not timestamp or not received:
            raise TrackingRejected(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required.")
        try:
            seconds = int(timestamp)
        except ValueError as exc:
            raise TrackingRejected(f"{TIMESTAMP_HEADER} is not Unix seconds.") from exc
        expected = signing.signature(secret=secret, timestamp=seconds, body=body)
        if not hmac.compare_digest(expected.encode(), received.encode()):
            raise TrackingRejected("The signature does not match.")
        if abs(clock.now().timestamp() - seconds) > TOLERANCE_SECONDS:
            raise TrackingRejected("The timestamp is more than 5 minutes away.")

    def parse(self, body: bytes) -> list[TrackingUpdate]:
        data = load_json(body)
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            raise BadTrackingPayload('The body is {"events": [...]}.')
        events = data["events"]
        if len(events) > MAX_EVENTS:
            raise BadTrackingPayload(f"At most {MAX_EVENTS} events in one call.")
        return [self._event(item, index) for index, item in enumerate(events)]

    def _event(self, item: Any, index: int) -> TrackingUpdate:
        where = f"events[{index}]"
        if not isinstance(item, dict):
            raise BadTrackingPayload(f"{where}: an object is required.")
        number = item.get("tracking_number")
        if not isinstance(number, str) or not number.strip():
            raise BadTrackingPayload(f"{where}.tracking_number is required.")
        status = item.get("status")
        if status not in STATUSES:
            raise BadTrackingPayload(f"{where}.status must be one of {', '.join(STATUSES)}.")
        event_id = item.get("id")
        if event_id is not None and not isinstance(event_id, str | int):
            raise BadTrackingPayload(f"{where}.id must be a string.")
        return TrackingUpdate(
            tracking_number=number.strip(),
            status=str(status),
            carrier_status=str(status),
            description=_text(item.get("description"), f"{where}.description"),
            place=_text(item.get("place"), f"{where}.place"),
            at=parse_time(item.get("at"), field_name=f"{where}.at"),
            event_id=str(event_id) if event_id not in (None, "") else "",
            raw=item,
        )


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadTrackingPayload(f"{where} must be a string.")
    return value.strip()
