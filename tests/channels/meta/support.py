"""Helpers shared by the WhatsApp and Instagram tests: fixtures on disk, signing, channels in the database."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from django.test import Client

from omnia.channels.models import Channel
from omnia.core import clock

CHANNELS_DIR = Path(__file__).resolve().parent.parent


def fixture_bytes(provider: str, name: str) -> bytes:
    """A stored webhook body, byte for byte (Meta signs the exact bytes)."""
    return (CHANNELS_DIR / provider / "fixtures" / f"{name}.json").read_bytes()


def fixture(provider: str, name: str) -> Any:
    return json.loads(fixture_bytes(provider, name))


def sign(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def make_channel(provider: str, *, credentials: dict[str, Any], config: dict[str, Any], key: str = "") -> Channel:
    channel = Channel(
        provider=provider,
        key=key or f"{provider}-main",
        name=f"{provider.title()} shop",
        config=config,
        created_at=clock.now(),
    )
    channel.credentials = credentials
    channel.save()
    return channel


def post_webhook(client: Client, channel: Channel, body: bytes, *, signature: str | None) -> Any:
    headers = {"HTTP_X_HUB_SIGNATURE_256": signature} if signature is not None else {}
    return client.post(
        f"/hooks/{channel.provider}/{channel.key}", data=body, content_type="application/json", **headers
    )
