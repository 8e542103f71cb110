"""Outgoing webhooks over REST: endpoints (the secret is answered once, on creation or rotation), their
delivery log, redelivery and a test ping. Settings section: owners and managers, tokens with
`settings:read` / `settings:write`.

Bad input answers 422 naming the field with a stable code: NAME_REQUIRED, URL_REQUIRED, URL_INVALID,
URL_SCHEME_INVALID, URL_HOST_INVALID, URL_CREDENTIALS_NOT_ALLOWED, EVENTS_REQUIRED, EVENT_TYPE_UNKNOWN
(`events[i]`); an unknown id 404 WEBHOOK_NOT_FOUND / DELIVERY_NOT_FOUND; sending to a switched-off
endpoint 409 WEBHOOK_INACTIVE.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from omnia.core.errors import ValidationFailed
from omnia.core.pagination import Page, paginate
from omnia.core.permissions import Section, actor_of, authorize
from omnia.webhooks import actions, queries
from omnia.webhooks.models import Delivery, EventType
from omnia.webhooks.schemas import (
    DeliveryOut,
    EndpointCreatedOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EventTypeOut,
    SecretOut,
)

SIGNING = """
Each event is a `POST` of JSON `{"id": EVENT_UUID, "type": "order.created", "created_at": ISO-8601,
"data": {"order": {…}}}` where `data.order` has exactly the shape of `GET /api/v1/orders/{id}`
(`order.status_changed` adds `old_status`, `new_status`; `order.cancelled` adds `reason`;
`order.paid` adds `payment`; `order.returned` adds `return`; a `ping` has `data.endpoint`).

Headers: `Omnia-Webhook-Id` (the event id: the same on every retry, deduplicate on it),
`Omnia-Webhook-Timestamp` (Unix seconds), `Omnia-Webhook-Signature: sha256=<hex HMAC-SHA256 of
"{timestamp}.{raw body}" keyed with the endpoint's secret>`, `Omnia-Webhook-Event`, `Omnia-Webhook-Attempt`.
Verify before trusting the body:

```python
import hashlib, hmac, time

def verify(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    timestamp = headers["Omnia-Webhook-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    received = headers["Omnia-Webhook-Signature"].removeprefix("sha256=")
    return hmac.compare_digest(expected, received) and abs(time.time() - int(timestamp)) <= tolerance
```

Any 2xx answer within 10 seconds is a success; anything else is retried with exponential backoff and
jitter (about 30 s, 2 min, 8 min, 32 min, 2 h, 8.5 h, 12 h: 8 attempts over about a day), then given up.
Redirects are not followed. Delivery is at least once and the order of events is not guaranteed, not even
for one endpoint: use `data.order` (the state when the event was sent) rather than the event's position.
After 5 failures in a row an endpoint is held (up to an hour after each failure): its deliveries wait and
one probes it for the others. An endpoint whose every attempt fails for 3 days is switched off (its
`disabled_reason` says why).
"""

router = Router(tags=["webhooks"])


@router.get("/webhooks/event-types", response=list[EventTypeOut], summary="The events an endpoint may receive")
def event_types(request: HttpRequest) -> list[EventTypeOut]:
    authorize(actor_of(request), Section.SETTINGS)
    return [EventTypeOut(type=t.value, description=str(t.label)) for t in EventType]


@router.get("/webhooks", response=Page[EndpointOut], summary="Webhook endpoints", description=SIGNING)
def list_endpoints(request: HttpRequest, cursor: str | None = None, limit: int = Query(50)) -> dict[str, object]:
    authorize(actor_of(request), Section.SETTINGS)
    return paginate(queries.list_endpoints(), cursor=cursor, limit=limit, serialize=EndpointOut.of, newest_first=False)


@router.post(
    "/webhooks",
    response={201: EndpointCreatedOut},
    summary="Register an endpoint (its signing secret is answered only now)",
    description=SIGNING,
)
def create_endpoint(request: HttpRequest, payload: EndpointIn) -> Status[EndpointCreatedOut]:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    created = actions.check_create_endpoint(
        actor=actor_of(request),
        name=payload.name,
        url=payload.url,
        events=payload.events,
        is_active=payload.is_active,
    )
    endpoint = queries.get_endpoint(created.endpoint.pk)
    return Status(201, EndpointCreatedOut(**EndpointOut.fields_of(endpoint), secret=created.secret))


@router.get("/webhooks/{webhook_id}", response=EndpointOut, summary="An endpoint and its health")
def get_endpoint(request: HttpRequest, webhook_id: int) -> EndpointOut:
    authorize(actor_of(request), Section.SETTINGS)
    return EndpointOut.of(queries.get_endpoint(webhook_id))


@router.patch(
    "/webhooks/{webhook_id}",
    response=EndpointOut,
    summary="Change an endpoint; is_active switches it off or on (on again forgets its failures)",
)
def update_endpoint(request: HttpRequest, webhook_id: int, payload: EndpointPatch) -> EndpointOut:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    endpoint = actions.check_update_endpoint(
        actor=actor_of(request),
        endpoint=queries.get_endpoint(webhook_id),
        name=payload.name,
        url=payload.url,
        events=payload.events,
        is_active=payload.is_active,
    )
    return EndpointOut.of(queries.get_endpoint(endpoint.pk))


@router.delete("/webhooks/{webhook_id}", response={204: None}, summary="Delete an endpoint and its delivery log")
def delete_endpoint(request: HttpRequest, webhook_id: int) -> Status[None]:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    actions.do_delete_endpoint(actor=actor_of(request), endpoint=queries.get_endpoint(webhook_id))
    return Status(204, None)


@router.post(
    "/webhooks/{webhook_id}/secret",
    response=SecretOut,
    summary="Rotate the signing secret: the new one is answered once and signs from the next attempt",
)
def rotate_secret(request: HttpRequest, webhook_id: int) -> SecretOut:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    secret = actions.do_rotate_secret(actor=actor_of(request), endpoint=queries.get_endpoint(webhook_id))
    return SecretOut(secret=secret)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response=Page[DeliveryOut],
    summary="The delivery log, newest first (status: pending, succeeded, failed, given_up)",
)
def list_deliveries(
    request: HttpRequest, webhook_id: int, status: str = "", cursor: str | None = None, limit: int = Query(50)
) -> dict[str, object]:
    authorize(actor_of(request), Section.SETTINGS)
    if status and status not in Delivery.Status.values:
        raise ValidationFailed(
            f"Unknown status {status!r}: one of {', '.join(Delivery.Status.values)}.",
            field="status",
            code="STATUS_INVALID",
        )
    qs = queries.list_deliveries(queries.get_endpoint(webhook_id), status=status)
    return paginate(qs, cursor=cursor, limit=limit, serialize=DeliveryOut.of)


@router.get("/webhooks/{webhook_id}/deliveries/{delivery_id}", response=DeliveryOut, summary="One delivery")
def get_delivery(request: HttpRequest, webhook_id: int, delivery_id: int) -> DeliveryOut:
    authorize(actor_of(request), Section.SETTINGS)
    return DeliveryOut.of(queries.get_delivery(queries.get_endpoint(webhook_id), delivery_id))


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    response={202: DeliveryOut},
    summary="Send a delivery again now (same event id and payload, a fresh signature)",
)
def redeliver(request: HttpRequest, webhook_id: int, delivery_id: int) -> Status[DeliveryOut]:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    endpoint = queries.get_endpoint(webhook_id)
    delivery = actions.check_redeliver(actor=actor_of(request), delivery=queries.get_delivery(endpoint, delivery_id))
    return Status(202, DeliveryOut.of(queries.get_delivery(endpoint, delivery.pk)))


@router.post(
    "/webhooks/{webhook_id}/ping",
    response={202: DeliveryOut},
    summary="Send a test event (type ping) to the endpoint; its outcome appears in the delivery log",
)
def ping(request: HttpRequest, webhook_id: int) -> Status[DeliveryOut]:
    authorize(actor_of(request), Section.SETTINGS, write=True)
    endpoint = queries.get_endpoint(webhook_id)
    delivery = actions.check_ping(actor=actor_of(request), endpoint=endpoint)
    return Status(202, DeliveryOut.of(queries.get_delivery(endpoint, delivery.pk)))
