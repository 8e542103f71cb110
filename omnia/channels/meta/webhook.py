"""Meta webhooks (WhatsApp Cloud, Instagram): X-Hub-Signature-256 and the hub.challenge handshake (channels.md §2.2)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from omnia.channels.base import BadPayload, WebhookRejected

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header by name, case-insensitively (Django's request.headers is; a plain dict is not)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def signature(app_secret: str, body: bytes) -> str:
    """The header value Meta sends for `body`: 'sha256=' + hex HMAC-SHA256(app secret, raw body)."""
    return SIGNATURE_PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(*, credentials: Mapping[str, Any], headers: Mapping[str, str], body: bytes) -> None:
    """Raise WebhookRejected unless X-Hub-Signature-256 is the HMAC of the raw body with the app secret."""
    app_secret = str(credentials.get("app_secret") or "")
    if not app_secret:
        raise WebhookRejected("the channel has no app secret")
    sent = (header(headers, SIGNATURE_HEADER) or "").strip()
    if not sent.startswith(SIGNATURE_PREFIX):
        raise WebhookRejected(f"missing {SIGNATURE_HEADER}")
    # Hex digits are case-insensitive; compare_digest on str needs ASCII, so compare bytes.
    expected = signature(app_secret, body).encode()
    if not hmac.compare_digest(expected, sent.lower().encode("utf-8", "replace")):
        raise WebhookRejected(f"{SIGNATURE_HEADER} does not match the body")


def handshake(*, credentials: Mapping[str, Any], query: Mapping[str, str]) -> str | None:
    """The hub.challenge to echo when hub.mode is 'subscribe' and hub.verify_token is ours; else None."""
    verify_token = str(credentials.get("verify_token") or "")
    if not verify_token or query.get("hub.mode") != "subscribe":
        return None
    sent = query.get("hub.verify_token") or ""
    if not hmac.compare_digest(verify_token.encode(), sent.encode("utf-8", "replace")):
        return None
    challenge = query.get("hub.challenge")
    return challenge if challenge else None


def load_object(body: bytes, *, expected_object: str) -> dict[str, Any]:
    """The JSON body as a dict with the expected `object`; BadPayload otherwise."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadPayload(f"the body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadPayload("the body is not a JSON object")
    if data.get("object") != expected_object:
        raise BadPayload(f"expected object {expected_object!r}, got {data.get('object')!r}")
    if not isinstance(data.get("entry", []), list):
        raise BadPayload("'entry' is not a list")
    return data


def objects(value: Any, where: str) -> list[dict[str, Any]]:
    """A list of JSON objects (a missing list is empty); BadPayload for anything else."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise BadPayload(f"{where} is not a list of objects")
    return value


def mapping(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty dict when absent or of another type (optional sub-objects)."""
    return value if isinstance(value, dict) else {}


def timestamp(value: Any, *, milliseconds: bool, where: str) -> dt.datetime:
    """Unix seconds (WhatsApp: a string) or milliseconds (Instagram: an int) as an aware UTC datetime."""
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise BadPayload(f"{where} is not a Unix timestamp: {value!r}") from exc
    seconds = number / 1000 if milliseconds else number
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise BadPayload(f"{where} is out of range: {value!r}") from exc
