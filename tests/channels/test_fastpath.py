"""Providers' webhook POSTs under `omnia serve` (deferred ingest) are answered straight from ASGI: the
same verification, storage and answers as through Django, driven here through the real ASGI app."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings

from omnia.asgi import application
from omnia.channels import fastpath, ingest, views
from omnia.channels.models import Channel, InboundEvent
from omnia.conversations.models import Message
from tests.channels.sms.support import form_bytes, sign, sms_channel
from tests.channels.telegram.test_webhook import FIXTURES, KEY, SECRET, make_channel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def deferred(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    settings.OMNIA_INGEST_DEFERRED = True
    settings.ALLOWED_HOSTS = ["shop.example.kz", "testserver"]
    monkeypatch.setenv("OMNIA_INGEST_APPLIER_PROCESS", "1")  # applied below by hand, not by a thread
    yield
    fastpath.close_connections()  # the answering threads keep theirs between calls


def post(path: str, body: bytes, headers: dict[str, str], host: str = "shop.example.kz") -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
            return await client.post(path, content=body, headers=headers)

    return asyncio.run(call())


def telegram(body: bytes, secret: str = SECRET, key: str = KEY, **extra: str) -> httpx.Response:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret, **extra}
    return post(f"/hooks/telegram/{key}", body, headers)


def test_a_telegram_update_is_stored_once_and_applied_after_the_answer() -> None:
    make_channel()
    update = (FIXTURES / "text.json").read_bytes()

    first = telegram(update)
    again = telegram(update)  # Telegram retries

    assert (first.status_code, first.json()) == (200, {"ok": True, "stored": 1, "duplicates": 0})
    assert (again.status_code, again.json()) == (200, {"ok": True, "stored": 0, "duplicates": 1})
    assert InboundEvent.objects.get().status == InboundEvent.Status.RECEIVED
    assert not Message.objects.exists()  # answered before it is applied
    while ingest.apply_pending():
        pass
    assert Message.objects.get().direction == Message.Direction.IN


def test_a_wrong_secret_is_403_and_stores_nothing() -> None:
    make_channel()

    response = telegram((FIXTURES / "text.json").read_bytes(), secret="guess")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "SIGNATURE_INVALID"
    assert not InboundEvent.objects.exists()


def test_an_unknown_or_switched_off_channel_is_404() -> None:
    channel = make_channel()
    Channel.objects.filter(pk=channel.pk).update(is_active=False)

    assert telegram(b"{}", key="no-such-bot").status_code == 404
    assert telegram(b"{}").json()["error"]["code"] == "CHANNEL_NOT_FOUND"


def test_a_body_over_the_limit_is_413_and_a_foreign_host_400(monkeypatch: pytest.MonkeyPatch) -> None:
    make_channel()
    monkeypatch.setattr(views, "MAX_BODY", 100)

    assert telegram(b"{" + b" " * 200 + b"}").status_code == 413
    foreign = post("/hooks/telegram/" + KEY, b"{}", {"X-Telegram-Bot-Api-Secret-Token": SECRET}, host="evil.example")
    assert foreign.status_code == 400
    assert not InboundEvent.objects.exists()


def test_a_twilio_signature_over_the_public_https_url_is_checked_as_through_django() -> None:
    channel = sms_channel()
    body = form_bytes("inbound_text")
    url = f"https://shop.example.kz/hooks/sms/{channel.key}"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Forwarded-Proto": "https",  # the TLS proxy in front; Twilio signed the https address
        "X-Twilio-Signature": sign(url, body),
    }

    accepted = post(f"/hooks/sms/{channel.key}", body, headers)
    refused = post(f"/hooks/sms/{channel.key}", body, {**headers, "X-Forwarded-Proto": "http"})

    assert accepted.status_code == 200
    assert accepted.headers["content-type"].startswith("text/xml")  # Twilio's TwiML answer
    assert refused.status_code == 403
    assert InboundEvent.objects.count() == 1


def test_only_providers_posts_under_deferred_ingest_take_the_fast_path(settings: Any) -> None:
    hook = {"type": "http", "method": "POST", "path": "/hooks/telegram/abc"}

    assert fastpath.match(hook) == ("telegram", "abc")
    assert fastpath.match({**hook, "method": "GET"}) is None  # Meta's handshake: Django
    assert fastpath.match({**hook, "path": "/hooks/carriers/abc"}) is None  # parcels' tracking: Django
    settings.OMNIA_INGEST_DEFERRED = False
    assert fastpath.match(hook) is None  # applied before the answer: Django
    assert django_settings.OMNIA_INGEST_DEFERRED is False
