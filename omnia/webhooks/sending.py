"""One attempt of one delivery: claim it, sign the stored payload afresh, POST it, record what came back.

Retries are scheduled by actions.do_record_attempt (exponential backoff with jitter, up to the delivery's
allowed attempts, then given up); a claim keeps two workers from sending the same delivery at once; an
endpoint failing again and again is held (actions.held_until), so its deliveries wait rather than pile on.
"""

from __future__ import annotations

import datetime as dt
import logging

from omnia.core import clock
from omnia.webhooks import actions, client, payloads, signing
from omnia.webhooks.models import Delivery

logger = logging.getLogger(__name__)


def attempt(delivery_id: int) -> dt.datetime | None:
    """Try to deliver once. Returns when to try again, or None (delivered, given up, not due, taken)."""
    now = clock.now()
    if not actions.do_claim(delivery_id=delivery_id, now=now):
        return None
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        actions.do_give_up(delivery=delivery, error="The endpoint is switched off.")
        return None
    try:
        secret = endpoint.secret
    except ValueError:
        actions.do_give_up(
            delivery=delivery, error="The signing secret cannot be read: it was stored with another OMNIA_SECRET_KEY."
        )
        return None
    number = delivery.attempts + 1
    held = actions.held_until(endpoint, now=now)
    if held is not None and number < delivery.max_attempts:  # a single or last try (a test) goes through
        return actions.do_hold(delivery_id=delivery.pk, until=held)
    body = payloads.body_of(delivery.payload)
    headers = signing.headers(
        secret=secret,
        event_id=str(delivery.event_id),
        event_type=delivery.event_type,
        timestamp=int(now.timestamp()),
        body=body,
        attempt=number,
    )
    outcome = client.post(endpoint.url, body=body, headers=headers)
    retry_at = actions.do_record_attempt(delivery_id=delivery.pk, number=number, outcome=outcome, at=now)
    if not outcome.ok:
        logger.info("webhook delivery %s attempt %s to %s failed: %s", delivery.pk, number, endpoint.url, outcome.error)
    return retry_at
