"""How a webhook is signed, and how a receiver checks it.

Every request carries three headers:

- ``Omnia-Webhook-Id``: the event id (a UUID), the same on every retry and redelivery of that event to an
  endpoint: a receiver stores it and ignores an id it has already processed.
- ``Omnia-Webhook-Timestamp``: when this attempt was signed, in Unix seconds.
- ``Omnia-Webhook-Signature``: ``sha256=`` and the hex HMAC-SHA256 of ``"{timestamp}.{body}"`` with the
  endpoint's secret as the key (``body`` being the raw request body, exactly as received).

A receiver recomputes the signature over the raw body, compares it in constant time, and refuses a
timestamp more than five minutes away from its clock (a replayed old request)::

    import hashlib, hmac, time

    def verify(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
        timestamp = headers["Omnia-Webhook-Timestamp"]
        expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        received = headers["Omnia-Webhook-Signature"].removeprefix("sha256=")
        return hmac.compare_digest(expected, received) and abs(time.time() - int(timestamp)) <= tolerance
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
ID_HEADER = "Omnia-Webhook-Id"
TIMESTAMP_HEADER = "Omnia-Webhook-Timestamp"
SIGNATURE_HEADER = "Omnia-Webhook-Signature"
EVENT_HEADER = "Omnia-Webhook-Event"
ATTEMPT_HEADER = "Omnia-Webhook-Attempt"


def new_secret() -> str:
    """A fresh signing secret: whsec_ and 43 URL-safe characters (256 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">` keyed with `secret`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def headers(
    *, secret: str, event_id: str, event_type: str, timestamp: int, body: bytes, attempt: int
) -> dict[str, str]:
    """The headers of one attempt, signed."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "Omnia-Webhooks/1",
        ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret=secret, timestamp=timestamp, body=body),
        EVENT_HEADER: event_type,
        ATTEMPT_HEADER: str(attempt),
    }
