"""Helpers for the SMS tests: stored form bodies, Twilio's signature, posting to the real endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings as django_settings
from django.test import Client

from omnia.channels import ingest
from omnia.channels.models import Channel, InboundEvent
from omnia.channels.sms.connector import signature
from tests.channels.meta.support import make_channel

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ACCOUNT_SID = "AC00000000000000000000000000000001"
AUTH_TOKEN = "twilio_auth_token_7Hq2"
SHOP_NUMBER = "+77170000001"
CREDENTIALS = {"auth_token": AUTH_TOKEN}
CONFIG = {"account_sid": ACCOUNT_SID, "phone_number": SHOP_NUMBER}


def form_bytes(name: str) -> bytes:
    """A stored webhook body exactly as Twilio posts it (application/x-www-form-urlencoded)."""
    return (FIXTURES / f"{name}.form").read_bytes()


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def sign(url: str, body: bytes, token: str = AUTH_TOKEN) -> str:
    return signature(token, url, parse_qs(body.decode(), keep_blank_values=True))


def sms_channel(*, config: dict[str, Any] | None = None, key: str = "sms-main") -> Channel:
    return make_channel("sms", credentials=CREDENTIALS, config={**CONFIG, **(config or {})}, key=key)


def hook_path(channel: Channel) -> str:
    return f"/hooks/sms/{channel.key}"


def post_form(client: Client, channel: Channel, body: bytes, *, signature: str | None, **extra: Any) -> Any:
    """POST to the webhook as Twilio does; in deferred mode, apply what was stored as the server would."""
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature is not None else {}
    response = client.post(
        hook_path(channel), data=body, content_type="application/x-www-form-urlencoded", **headers, **extra
    )
    if django_settings.OMNIA_INGEST_DEFERRED:
        while ingest.apply_pending():
            pass
    return response


def post_signed(client: Client, channel: Channel, name: str) -> Any:
    body = form_bytes(name)
    return post_form(client, channel, body, signature=sign(f"http://testserver{hook_path(channel)}", body))


def stored_events() -> int:
    return InboundEvent.objects.count()
