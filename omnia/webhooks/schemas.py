from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ninja import Schema
from pydantic import Field

from omnia.webhooks import queries
from omnia.webhooks.models import Delivery, DeliveryAttempt, Endpoint


class EndpointIn(Schema):
    name: str
    url: str = Field(description="http(s) URL that receives the POSTs")
    events: list[str] = Field(description="Event types: order.created, order.status_changed, …")
    is_active: bool = True


class EndpointPatch(Schema):
    name: str | None = None
    url: str | None = None
    events: list[str] | None = None
    is_active: bool | None = Field(None, description="true switches it on again and forgets its failures")


class EndpointOut(Schema):
    id: int
    name: str
    url: str
    events: list[str]
    is_active: bool
    health: str = Field(description="ok, failing, off (switched off by a person), disabled (automatically), new")
    consecutive_failures: int
    failing_since: dt.datetime | None
    last_success_at: dt.datetime | None
    last_failure_at: dt.datetime | None
    disabled_at: dt.datetime | None = Field(description="When it was switched off automatically")
    disabled_reason: str = Field(description="Why: the last error, when it was switched off automatically")
    created_at: dt.datetime
    created_by: str | None

    @staticmethod
    def fields_of(e: Endpoint) -> dict[str, Any]:
        return {
            "id": e.pk,
            "name": e.name,
            "url": e.url,
            "events": list(e.events),
            "is_active": e.is_active,
            "health": queries.health(e),
            "consecutive_failures": e.consecutive_failures,
            "failing_since": e.failing_since,
            "last_success_at": e.last_success_at,
            "last_failure_at": e.last_failure_at,
            "disabled_at": e.disabled_at,
            "disabled_reason": e.disabled_reason,
            "created_at": e.created_at,
            "created_by": e.created_by.email if e.created_by else None,
        }

    @staticmethod
    def of(e: Endpoint) -> EndpointOut:
        return EndpointOut(**EndpointOut.fields_of(e))


class EndpointCreatedOut(EndpointOut):
    secret: str = Field(description="The signing secret: shown only now (rotate it to get a new one)")


class SecretOut(Schema):
    secret: str


class AttemptOut(Schema):
    number: int
    at: dt.datetime
    succeeded: bool
    response_status: int | None
    response_body: str
    error: str
    duration_ms: int

    @staticmethod
    def of(a: DeliveryAttempt) -> AttemptOut:
        return AttemptOut(
            number=a.number,
            at=a.at,
            succeeded=a.succeeded,
            response_status=a.response_status,
            response_body=a.response_body,
            error=a.error,
            duration_ms=a.duration_ms,
        )


class DeliveryOut(Schema):
    id: int
    event_id: uuid.UUID
    event_type: str
    status: str = Field(description="pending, succeeded, failed (will retry), given_up")
    attempts: int
    next_attempt_at: dt.datetime | None
    response_status: int | None
    response_body: str = Field(description="The start of the last answer (2000 characters at most)")
    last_error: str
    duration_ms: int | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    payload: dict[str, Any]
    attempt_log: list[AttemptOut]

    @staticmethod
    def of(d: Delivery) -> DeliveryOut:
        return DeliveryOut(
            id=d.pk,
            event_id=d.event_id,
            event_type=d.event_type,
            status=d.status,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            response_status=d.response_status,
            response_body=d.response_body,
            last_error=d.last_error,
            duration_ms=d.duration_ms,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
            payload=d.payload,
            attempt_log=[AttemptOut.of(a) for a in d.attempt_log.all()],
        )


class EventTypeOut(Schema):
    type: str
    description: str
