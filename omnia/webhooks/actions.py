"""Every change to webhooks: endpoints (create, change, switch off/on, delete, rotate or reveal the secret),
events enqueued as deliveries, attempts recorded with their retry schedule, redeliveries and test pings.

Delivery is at least once: a receiver deduplicates on `Omnia-Webhook-Id` (the event id, the same on
every retry of that event to an endpoint). Order between events is not guaranteed, not even per
endpoint: a retried event may arrive after a later one; `data.order` carries the state to trust.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from omnia.core import clock
from omnia.core.audit import do_record_audit
from omnia.core.errors import ValidationFailed
from omnia.core.events import publish_on_commit
from omnia.webhooks import payloads, signing
from omnia.webhooks.client import Outcome
from omnia.webhooks.errors import EndpointInactive
from omnia.webhooks.events import DeliveriesQueued
from omnia.webhooks.models import PING, Delivery, DeliveryAttempt, Endpoint, EventType

MAX_ATTEMPTS = 8
FIRST_RETRY = dt.timedelta(seconds=30)
BACKOFF_FACTOR = 4
MAX_DELAY = dt.timedelta(hours=12)
JITTER = 0.2  # each delay is moved by up to ±20 %, so retries of many deliveries do not arrive together
# An endpoint whose every attempt failed for DISABLE_AFTER (and at least DISABLE_MIN_FAILURES in a row)
# is switched off, with the reason shown, until a person switches it on again.
DISABLE_AFTER = dt.timedelta(days=3)
DISABLE_MIN_FAILURES = 10
# No retry storms: once BREAKER_AFTER attempts in a row failed, the endpoint is held after each failure
# (30 s, 2 min, 8 min, 32 min, then 1 h at most): due deliveries wait instead of all trying, and the
# first to come due after the hold probes the endpoint for the others.
BREAKER_AFTER = 5
MAX_HOLD = dt.timedelta(hours=1)
CLAIM = dt.timedelta(minutes=2)  # longer than any request may take; a crashed sender's claim expires
OVERDUE = dt.timedelta(minutes=5)  # a due delivery this late lost its task: the sweeper enqueues it again
KEEP_FINISHED = dt.timedelta(days=30)
FINAL = (Delivery.Status.SUCCEEDED, Delivery.Status.GIVEN_UP)
OPEN = (Delivery.Status.PENDING, Delivery.Status.FAILED)

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


# --- validation -----------------------------------------------------------------------------------------


def clean_name(name: str, *, field: str = "name") -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            "Name the endpoint (what receives it: 1C, the website…).", field=field, code="NAME_REQUIRED"
        )
    if len(name) > 100:
        raise ValidationFailed("A name has at most 100 characters.", field=field, code="NAME_TOO_LONG")
    return name


def _valid_host(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:  # loopback and private addresses are allowed: 1C often runs in the shop's own network
        return not (address.is_unspecified or address.is_multicast or address.is_reserved)
    if host.replace(".", "").isdigit():
        return False  # looks like an IPv4 address but is not one (999.1.1.1)
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return len(ascii_host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def clean_url(url: str, *, field: str = "url") -> str:
    """An absolute http(s) URL with a real host; URL_REQUIRED / URL_INVALID / URL_SCHEME_INVALID /
    URL_HOST_INVALID / URL_CREDENTIALS_NOT_ALLOWED naming `field` otherwise."""
    url = (url or "").strip()
    if not url:
        raise ValidationFailed("Give the URL to send the events to.", field=field, code="URL_REQUIRED")
    if len(url) > 2000 or any(ch.isspace() for ch in url):
        raise ValidationFailed("This is not a URL.", field=field, code="URL_INVALID")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise ValidationFailed("This is not a URL.", field=field, code="URL_INVALID") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationFailed(
            "An endpoint URL starts with https:// (or http://).", field=field, code="URL_SCHEME_INVALID"
        )
    if parts.username or parts.password:
        raise ValidationFailed(
            "Put no user name or password into the URL: the signature proves the request is ours.",
            field=field,
            code="URL_CREDENTIALS_NOT_ALLOWED",
        )
    host = (parts.hostname or "").lower()
    if not host or not _valid_host(host):
        raise ValidationFailed("The URL names no host that can be reached.", field=field, code="URL_HOST_INVALID")
    return url


def clean_events(events: Sequence[str], *, field: str = "events") -> list[str]:
    """Known event types, each once, in the catalogue's order; EVENTS_REQUIRED / EVENT_TYPE_UNKNOWN otherwise."""
    if not events:
        raise ValidationFailed("Choose at least one event.", field=field, code="EVENTS_REQUIRED")
    for index, event in enumerate(events):
        if event not in EventType.values:
            raise ValidationFailed(
                f"Unknown event type {event!r}: one of {', '.join(EventType.values)}.",
                field=f"{field}[{index}]",
                code="EVENT_TYPE_UNKNOWN",
            )
    return [event for event in EventType.values if event in events]


# --- endpoints ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    endpoint: Endpoint
    secret: str  # shown once


@transaction.atomic
def check_create_endpoint(*, actor: Any, name: str, url: str, events: Sequence[str], is_active: bool = True) -> Created:
    """A new endpoint with a fresh signing secret (returned once, stored encrypted)."""
    secret = signing.new_secret()
    endpoint = Endpoint(
        name=clean_name(name),
        url=clean_url(url),
        events=clean_events(events),
        is_active=is_active,
        created_by=getattr(actor, "audit_user", None),
        created_at=clock.now(),
    )
    endpoint.secret = secret
    endpoint.save()
    do_record_audit(
        actor=actor, action="webhook.created", target=endpoint, changes={"url": endpoint.url, "events": endpoint.events}
    )
    return Created(endpoint, secret)


@transaction.atomic
def check_update_endpoint(
    *,
    actor: Any,
    endpoint: Endpoint,
    name: str | None = None,
    url: str | None = None,
    events: Sequence[str] | None = None,
    is_active: bool | None = None,
) -> Endpoint:
    """Change what is given. Switching it on again forgets the failures that switched it off."""
    locked = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    changes: dict[str, Any] = {}
    if name is not None and clean_name(name) != locked.name:
        changes["name"] = locked.name = clean_name(name)
    if url is not None and clean_url(url) != locked.url:
        changes["url"] = locked.url = clean_url(url)
    if events is not None and clean_events(events) != locked.events:
        changes["events"] = locked.events = clean_events(events)
    if is_active is not None and is_active != locked.is_active:
        changes["is_active"] = locked.is_active = is_active
        if is_active:
            locked.consecutive_failures = 0
            locked.failing_since = None
            locked.disabled_at = None
            locked.disabled_reason = ""
    if changes:
        locked.save()
        do_record_audit(actor=actor, action="webhook.updated", target=locked, changes=changes)
    return locked


@transaction.atomic
def do_delete_endpoint(*, actor: Any, endpoint: Endpoint) -> None:
    """Delete the endpoint and its delivery log; nothing more is sent to it."""
    do_record_audit(actor=actor, action="webhook.deleted", target=endpoint, changes={"url": endpoint.url})
    Endpoint.objects.filter(pk=endpoint.pk).delete()


@transaction.atomic
def do_rotate_secret(*, actor: Any, endpoint: Endpoint) -> str:
    """A new signing secret, in force for the next attempt; the old one stops working at once."""
    secret = signing.new_secret()
    locked = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    locked.secret = secret
    locked.save(update_fields=["secret_encrypted"])
    endpoint.secret_encrypted = locked.secret_encrypted
    do_record_audit(actor=actor, action="webhook.secret_rotated", target=locked)
    return secret


@transaction.atomic
def do_reveal_secret(*, actor: Any, endpoint: Endpoint) -> str:
    """The signing secret, for a person setting up the receiver; every look is in the audit log.
    ValueError if it was stored under another OMNIA_SECRET_KEY."""
    secret = endpoint.secret
    do_record_audit(actor=actor, action="webhook.secret_revealed", target=endpoint)
    return secret


# --- enqueueing -----------------------------------------------------------------------------------------


def subscribers(event_type: str) -> list[Endpoint]:
    """Active endpoints that receive `event_type` (few rows: filtered here, the same on every database)."""
    return [e for e in Endpoint.objects.filter(is_active=True).only("id", "events") if event_type in e.events]


EVENT_NAMESPACE = uuid.UUID("5b3f2f0e-5d0c-4a59-9a57-3f6a1f0c8e21")


def event_id_for(key: str) -> uuid.UUID:
    """The event id of the domain fact `key` ("order.created:42"): the same fact always gets the same id."""
    return uuid.uuid5(EVENT_NAMESPACE, key)


def do_enqueue_event(
    *, event_type: str, key: str, data: Callable[[], dict[str, Any] | None], at: dt.datetime | None = None
) -> list[Delivery]:
    """One event for every active endpoint subscribed to `event_type`: a Delivery row each (one event id,
    derived from `key`, and one payload, built by `data()` only when someone listens), committed before
    their tasks are enqueued. Idempotent: an endpoint that already has this event gets no second row.

    Called by handlers.py after the order's own transaction committed (the event bus dispatches only
    then): the rows are the durable record, so a lost task is not a lost event (`do_requeue_overdue`).
    """
    endpoints = subscribers(event_type)
    if not endpoints:
        return []
    event_id = event_id_for(key)
    have = set(Delivery.objects.filter(event_id=event_id).values_list("endpoint_id", flat=True))
    endpoints = [endpoint for endpoint in endpoints if endpoint.pk not in have]
    if not endpoints:
        return []
    body = data()
    if body is None:
        return []
    now = at or clock.now()
    payload = payloads.envelope(event_id=event_id, event_type=event_type, at=now, data=body)
    try:
        with transaction.atomic():
            rows = Delivery.objects.bulk_create(
                [
                    Delivery(
                        endpoint_id=endpoint.pk,
                        event_type=event_type,
                        event_id=event_id,
                        payload=payload,
                        max_attempts=MAX_ATTEMPTS,
                        next_attempt_at=now,
                        created_at=now,
                    )
                    for endpoint in endpoints
                ]
            )
            publish_on_commit(DeliveriesQueued(tuple(row.pk for row in rows)))
    except IntegrityError:  # enqueued at the same moment by another process: its rows stand
        return []
    return rows


@transaction.atomic
def check_ping(*, actor: Any, endpoint: Endpoint) -> Delivery:
    """Queue a test event (`ping`) to this endpoint: tried once, logged like any other."""
    if not endpoint.is_active:
        raise EndpointInactive("The endpoint is switched off: switch it on to send to it.", field="webhook_id")
    now = clock.now()
    event_id = uuid.uuid4()
    data = {
        "endpoint": {"id": endpoint.pk, "name": endpoint.name, "url": endpoint.url},
        "message": "A test event from Omnia: answer with any 2xx status.",
    }
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        event_type=PING,
        event_id=event_id,
        payload=payloads.envelope(event_id=event_id, event_type=PING, at=now, data=data),
        max_attempts=1,
        next_attempt_at=now,
        created_at=now,
    )
    publish_on_commit(DeliveriesQueued((delivery.pk,)))
    return delivery


@transaction.atomic
def check_redeliver(*, actor: Any, delivery: Delivery) -> Delivery:
    """Send the same event (same id and payload, a new signature) once more, now. A delivery still being
    retried is tried now instead of at its next time; a finished one gets one more attempt."""
    locked = Delivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    if not locked.endpoint.is_active:
        raise EndpointInactive("The endpoint is switched off: switch it on to send to it.", field="webhook_id")
    if locked.status in FINAL:
        locked.max_attempts = locked.attempts + 1
    locked.status = Delivery.Status.PENDING
    locked.next_attempt_at = clock.now()
    locked.save(update_fields=["max_attempts", "status", "next_attempt_at"])
    publish_on_commit(DeliveriesQueued((locked.pk,)))
    return locked


def do_requeue_overdue(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Deliveries due for more than OVERDUE (their task was lost: a crash, a restart): made due now,
    their ids returned for new tasks. A delivery is picked again only after another OVERDUE."""
    now = now or clock.now()
    late = now - OVERDUE
    ids = list(
        Delivery.objects.filter(status__in=OPEN, next_attempt_at__lte=late)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
    if ids:
        Delivery.objects.filter(pk__in=ids, status__in=OPEN, next_attempt_at__lte=late).update(next_attempt_at=now)
    return ids


def do_prune(*, now: dt.datetime | None = None) -> int:
    """Forget finished deliveries older than KEEP_FINISHED; returns how many."""
    cutoff = (now or clock.now()) - KEEP_FINISHED
    _, deleted = Delivery.objects.filter(status__in=FINAL, created_at__lt=cutoff).delete()
    return deleted.get(Delivery._meta.label, 0)


# --- attempts -------------------------------------------------------------------------------------------


def retry_delay(failed: int, *, retry_after: int | None = None, rng: random.Random | None = None) -> dt.timedelta:
    """How long after the `failed`-th failed attempt the next one is made: 30 s × 4^(failed−1), at most
    12 h, moved by ±20 % (jitter); at least what a Retry-After asked, within the same cap.
    With 8 attempts the last is made about a day after the first."""
    base: dt.timedelta = min(MAX_DELAY, FIRST_RETRY * BACKOFF_FACTOR ** max(0, failed - 1))
    delay: dt.timedelta = base * (rng or random).uniform(1 - JITTER, 1 + JITTER)  # spreading, not security
    if retry_after:
        delay = max(delay, dt.timedelta(seconds=retry_after))
    return min(delay, MAX_DELAY * (1 + JITTER))


def held_until(endpoint: Endpoint, *, now: dt.datetime) -> dt.datetime | None:
    """Until when automatic attempts to a failing endpoint wait (None: not held)."""
    if endpoint.consecutive_failures < BREAKER_AFTER or endpoint.last_failure_at is None:
        return None
    step = endpoint.consecutive_failures - BREAKER_AFTER
    until = endpoint.last_failure_at + min(MAX_HOLD, FIRST_RETRY * BACKOFF_FACTOR ** min(step, 10))
    return until if until > now else None


def do_hold(*, delivery_id: int, until: dt.datetime, rng: random.Random | None = None) -> dt.datetime:
    """Give the claim back without an attempt: the delivery is due again a little after `until`
    (up to a minute of jitter, so the held deliveries do not all come back at once)."""
    at = until + dt.timedelta(seconds=(rng or random).uniform(0, 60))
    Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=at)
    return at


def do_claim(*, delivery_id: int, now: dt.datetime) -> bool:
    """Take a due delivery for one attempt (one conditional UPDATE): never sent twice at once."""
    return bool(
        Delivery.objects.filter(pk=delivery_id, status__in=OPEN, next_attempt_at__lte=now).update(
            next_attempt_at=now + CLAIM
        )
    )


@transaction.atomic
def do_give_up(*, delivery: Delivery, error: str) -> None:
    """Nothing more is tried for this delivery (its endpoint is off, its secret unreadable)."""
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.GIVEN_UP, next_attempt_at=None, last_error=error[:500]
    )


@transaction.atomic
def do_record_attempt(*, delivery_id: int, number: int, outcome: Outcome, at: dt.datetime) -> dt.datetime | None:
    """Log attempt `number` and move the delivery on: succeeded; failed with the next try scheduled
    (returned); or given up after its last allowed attempt. The endpoint's health follows, and an
    endpoint failing for DISABLE_AFTER is switched off."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=number,
        at=at,
        succeeded=outcome.ok,
        response_status=outcome.status,
        response_body=outcome.body,
        error=outcome.error[:500],
        duration_ms=outcome.duration_ms,
    )
    delivery.attempts = number
    delivery.last_attempt_at = at
    delivery.response_status = outcome.status
    delivery.response_body = outcome.body
    delivery.last_error = outcome.error[:500]
    delivery.duration_ms = outcome.duration_ms
    retry_at = None
    endpoints = Endpoint.objects.filter(pk=delivery.endpoint_id)
    if outcome.ok:
        delivery.status = Delivery.Status.SUCCEEDED
        delivery.delivered_at = at
        delivery.next_attempt_at = None
        endpoints.update(consecutive_failures=0, failing_since=None, last_success_at=at)
    else:
        if number < delivery.max_attempts:
            retry_at = at + retry_delay(number, retry_after=outcome.retry_after)
            delivery.status = Delivery.Status.FAILED
        else:
            delivery.status = Delivery.Status.GIVEN_UP
        delivery.next_attempt_at = retry_at
        endpoints.update(
            consecutive_failures=F("consecutive_failures") + 1,
            failing_since=Coalesce("failing_since", Value(at)),
            last_failure_at=at,
        )
        _switch_off_if_dead(delivery.endpoint_id, at=at, error=outcome.error)
    delivery.save()
    return retry_at


def _switch_off_if_dead(endpoint_id: int, *, at: dt.datetime, error: str) -> None:
    Endpoint.objects.filter(
        pk=endpoint_id,
        is_active=True,
        failing_since__lte=at - DISABLE_AFTER,
        consecutive_failures__gte=DISABLE_MIN_FAILURES,
    ).update(is_active=False, disabled_at=at, disabled_reason=(error or "no answer")[:300])
