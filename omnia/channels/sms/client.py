"""HTTP calls to Twilio's Messages API (httpx): the only place in the SMS connector that talks to the network.

The base URL is ``settings.OMNIA_TWILIO_API_URL`` (read on every call, so tests point it at a local
fake). Never raises for provider or network errors: they come back as a SendResult, transient
(429, Twilio's 20429, 5xx, network) or permanent (any other 4xx, with Twilio's code and message).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import httpx
from django.conf import settings

from omnia.channels.base import SendResult

logger = logging.getLogger(__name__)
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
API_VERSION = "2010-04-01"
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
TOO_MANY_REQUESTS = 20429  # Twilio's code for the API concurrency limit


def base_url() -> str:
    return str(settings.OMNIA_TWILIO_API_URL).rstrip("/")


def messages_url(account_sid: str) -> str:
    return f"{base_url()}/{API_VERSION}/Accounts/{account_sid}/Messages.json"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the outbox's backoff decides
    return seconds if seconds is not None and seconds >= 0 else None


def describe_error(body: Mapping[str, Any], *, status: int) -> str:
    """'Twilio error 21211: The 'To' number … is not a valid phone number.' from Twilio's error JSON."""
    code = body.get("code")
    message = str(body.get("message") or "").strip() or f"HTTP {status}"
    return f"Twilio error {code}: {message}" if code is not None else f"Twilio: {message} (HTTP {status})"


def create_message(*, account_sid: str, auth_token: str, form: Mapping[str, str]) -> SendResult:
    """POST one message (form-encoded, HTTP Basic AccountSid:AuthToken); the message's sid on 2xx."""
    if not ACCOUNT_SID.match(account_sid):
        return SendResult(error="The channel's Account SID is not a Twilio account SID (AC followed by 32 hex digits).")
    try:
        response = httpx.post(
            messages_url(account_sid),
            data=dict(form),
            auth=(account_sid, auth_token),
            headers={"Accept": "application/json"},
            timeout=TIMEOUT,
            follow_redirects=False,
        )
    except httpx.TimeoutException as exc:
        return SendResult(error=f"Twilio did not answer in time ({type(exc).__name__})", transient=True)
    except httpx.HTTPError as exc:
        return SendResult(error=f"Cannot reach Twilio: {type(exc).__name__}: {exc}", transient=True)
    try:
        body = response.json()
    except ValueError:
        body = None
    data: Mapping[str, Any] = body if isinstance(body, dict) else {}
    if response.is_success:
        sid = str(data.get("sid") or "")
        if sid:
            return SendResult(provider_message_id=sid)
        return SendResult(error=f"Twilio accepted the message but returned no sid: {response.text[:200]}")
    description = describe_error(data, status=response.status_code)
    status = response.status_code
    transient = status in (408, 429) or status >= 500 or data.get("code") == TOO_MANY_REQUESTS
    logger.info("twilio message create failed: HTTP %s %s", response.status_code, description)
    return SendResult(error=description, transient=transient, retry_after=_retry_after(response) if transient else None)
