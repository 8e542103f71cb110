"""What every carrier tracking adapter offers, and the registry from Carrier.tracking to its adapter.

An adapter never touches the database: `verify` checks a request (raising TrackingRejected), `parse` turns the
body into TrackingUpdates (raising BadTrackingPayload). fulfillment.views stores and applies them through
fulfillment.actions_parcels.do_apply_tracking.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from omnia.fulfillment.models import Carrier


class TrackingRejected(Exception):
    """The request is not the carrier's: a missing or wrong signature, an expired timestamp (→ 403)."""


class BadTrackingPayload(Exception):
    """The body is not a tracking payload we understand (→ 400)."""


@dataclass(frozen=True)
class TrackingUpdate:
    """One tracking event, normalised: `status` is a Parcel.Status value, or None for news that moves nothing."""

    tracking_number: str
    status: str | None
    carrier_status: str
    description: str
    place: str
    at: dt.datetime
    event_id: str
    raw: Mapping[str, Any] = field(default_factory=dict)


class TrackingAdapter(Protocol):
    def verify(self, request_headers: Mapping[str, str], body: bytes, carrier: Carrier) -> None:
        """Return if the request is the carrier's; raise TrackingRejected otherwise."""

    def parse(self, body: bytes) -> list[TrackingUpdate]:
        """The events in the body; raise BadTrackingPayload when it is not a payload of this carrier."""


def adapter_for(tracking: str) -> TrackingAdapter | None:
    """The adapter of a Carrier.tracking value (None for carriers the operator moves by hand)."""
    from omnia.fulfillment.tracking.cdek import CdekAdapter
    from omnia.fulfillment.tracking.generic import GenericAdapter

    adapters: dict[str, TrackingAdapter] = {"generic": GenericAdapter(), "cdek": CdekAdapter()}
    return adapters.get(tracking)


def parse_time(value: Any, *, field_name: str) -> dt.datetime:
    """An ISO 8601 time with an offset (a naive one is refused: whose clock would it be?)."""
    if not isinstance(value, str) or not value.strip():
        raise BadTrackingPayload(f"{field_name}: an ISO 8601 time is required.")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit() and ":" not in text[-5:]:
        text = text[:-2] + ":" + text[-2:]  # +0700 → +07:00 (CDEK writes offsets without the colon)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadTrackingPayload(f"{field_name}: {value!r} is not an ISO 8601 time.") from exc
    if parsed.tzinfo is None:
        raise BadTrackingPayload(f"{field_name}: {value!r} has no time zone offset.")
    return parsed.astimezone(dt.UTC)


def load_json(body: bytes) -> Any:
    import json

    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadTrackingPayload("The body is not JSON.") from exc
