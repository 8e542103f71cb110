"""The Graph API client for sending messages (WhatsApp Cloud and Instagram), with httpx.

The base URL is `settings.OMNIA_META_GRAPH_URL` (read on every call, so tests point it at a local fake).
Never raises for provider or network errors: they come back as a SendResult, transient or permanent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from django.conf import settings

from omnia.channels.base import SendResult

logger = logging.getLogger(__name__)
TIMEOUT = httpx.Timeout(15.0, connect=5.0)

# Graph error codes worth retrying later (channels.md §2.7, §3.3): throttling and temporary failures.
TRANSIENT_CODES = frozenset(
    {
        1,  # API unknown (temporary)
        2,  # API service (temporary)
        4,  # application request limit
        17,  # user request limit
        32,  # page request limit
        613,  # calls within one hour exceeded
        80007,  # WhatsApp Business Account rate limit
        130429,  # WhatsApp Cloud API throughput reached
        131056,  # WhatsApp (business, consumer) pair rate limit
    }
)


def graph_url(path: str) -> str:
    return f"{str(settings.OMNIA_META_GRAPH_URL).rstrip('/')}/{path.lstrip('/')}"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the backoff
    return seconds if seconds is not None and seconds >= 0 else None


def describe_error(error: Mapping[str, Any], *, status: int) -> str:
    """'(#131047) Re-engagement message: <details>' from a Graph error object."""
    code = error.get("code")
    message = str(error.get("message") or error.get("title") or f"HTTP {status}")
    data = error.get("error_data")
    details = str(data.get("details") or "") if isinstance(data, dict) else ""
    text = message if code is None or message.startswith("(#") else f"(#{code}) {message}"
    if details and details not in text:
        text = f"{text}: {details}"
    return text


def post_message(
    *,
    path: str,
    access_token: str,
    payload: Mapping[str, Any],
    message_id: Callable[[Mapping[str, Any]], str],
) -> SendResult:
    """POST one message to `{graph}/{path}`; `message_id` picks the provider's id out of a 2xx body."""
    url = graph_url(path)
    try:
        response = httpx.post(
            url, json=dict(payload), headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT
        )
    except httpx.HTTPError as exc:
        logger.info("graph POST %s failed: %s", path, exc)
        return SendResult(error=f"network error: {exc.__class__.__name__}: {exc}", transient=True)
    try:
        body = response.json()
    except ValueError:
        body = None
    data: Mapping[str, Any] = body if isinstance(body, dict) else {}
    if response.is_success:
        provider_id = message_id(data)
        if provider_id:
            return SendResult(provider_message_id=provider_id)
        return SendResult(error=f"the Graph API accepted the message but returned no id: {response.text[:200]}")
    error = data.get("error")
    error = error if isinstance(error, dict) else {}
    description = describe_error(error, status=response.status_code) if error else f"HTTP {response.status_code}"
    transient = (
        response.status_code == 429
        or response.status_code >= 500
        or error.get("code") in TRANSIENT_CODES
        or error.get("is_transient") is True
    )
    return SendResult(error=description, transient=transient, retry_after=_retry_after(response) if transient else None)
