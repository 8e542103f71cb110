"""POST /hooks/<provider>/<key> (and GET for Meta's hub.challenge): thin, all work in ingest.py."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from omnia.channels import queries
from omnia.channels.base import BadPayload, WebhookRejected
from omnia.channels.ingest import accept_webhook, ingest_webhook
from omnia.channels.processor import processor
from omnia.channels.registry import connector_for

logger = logging.getLogger(__name__)
MAX_BODY = 5 * 1024 * 1024


def rebuild_url(*, scheme: str, forwarded_proto: str, host: str, full_path: str) -> str:
    """The absolute URL the provider requested, as it sees it: behind a TLS proxy the scheme is the one
    X-Forwarded-Proto names (Twilio signs the public URL, https, not the proxy's hop)."""
    forwarded = forwarded_proto.split(",")[0].strip().lower()
    scheme = forwarded if forwarded in ("http", "https") else scheme
    if scheme == "https" and host.endswith(":80"):  # the proxy's plain-HTTP hop, not the public port
        host = host.removesuffix(":80")
    return f"{scheme}://{host}{full_path}"


def public_url(request: HttpRequest) -> str:
    return rebuild_url(
        scheme=request.scheme or "http",
        forwarded_proto=request.headers.get("X-Forwarded-Proto", ""),
        host=request.get_host(),
        full_path=request.get_full_path(),
    )


@dataclass(frozen=True)
class Answer:
    """What a webhook call is answered: framework-neutral, so that the Django view and the ASGI fast path
    (omnia.asgi, under `omnia serve`) give the same answer."""

    status: int
    body: bytes
    content_type: str = "application/json"


def error(status: int, code: str, message: str) -> Answer:
    return Answer(status, json.dumps({"error": {"code": code, "message": message, "field": None}}).encode())


def answer_post(*, provider: str, key: str, headers: Mapping[str, str], body: bytes, url: str) -> Answer:
    """A provider's POST to /hooks/<provider>/<key>: verified and stored (and, unless deferred, applied)."""
    channel = queries.get_active_channel(provider=provider, key=key)
    if channel is None:
        return error(404, "CHANNEL_NOT_FOUND", "No active channel with this provider and key.")
    try:
        connector = connector_for(channel.provider)
    except LookupError:
        connector = None
    if connector is None or not getattr(connector, "webhooks", True):  # e-mail is polled, not pushed
        return error(404, "WEBHOOK_NOT_SUPPORTED", f"{channel.get_provider_display()} channels take no webhooks.")
    if len(body) > MAX_BODY:
        return error(413, "PAYLOAD_TOO_LARGE", "The webhook body is too large.")
    deferred = settings.OMNIA_INGEST_DEFERRED
    try:
        if deferred:  # stored now, applied by the applier (or this process's ingest thread) right after
            result = accept_webhook(channel=channel, headers=headers, body=body, url=url)
        else:
            result = ingest_webhook(channel=channel, headers=headers, body=body, url=url)
    except WebhookRejected as exc:
        logger.warning("webhook rejected for %s/%s: %s", provider, channel.pk, exc)
        return error(403, "SIGNATURE_INVALID", "The request signature or secret is missing or wrong.")
    except BadPayload as exc:
        return error(400, "PAYLOAD_INVALID", str(exc) or "The body is not a valid webhook payload.")
    if deferred and result.stored:
        transaction.on_commit(processor.wake)  # committed already, unless a caller's transaction holds it
    ack = getattr(connector, "webhook_ack", None)  # (body, content type) the provider expects (Twilio: TwiML)
    if ack is not None:
        content, content_type = ack
        return Answer(200, content.encode() if isinstance(content, str) else content, content_type)
    return Answer(200, json.dumps({"ok": True, "stored": result.stored, "duplicates": result.duplicates}).encode())


def _response(answer: Answer) -> HttpResponse:
    return HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest, provider: str, key: str) -> HttpResponse:
    if request.method == "POST":
        return _response(
            answer_post(provider=provider, key=key, headers=request.headers, body=request.body, url=public_url(request))
        )
    channel = queries.get_active_channel(provider=provider, key=key)
    if channel is None:
        return _response(error(404, "CHANNEL_NOT_FOUND", "No active channel with this provider and key."))
    try:
        connector = connector_for(channel.provider)
    except LookupError:
        connector = None
    if connector is None or not getattr(connector, "webhooks", True):
        return _response(
            error(404, "WEBHOOK_NOT_SUPPORTED", f"{channel.get_provider_display()} channels take no webhooks.")
        )
    challenge = connector.handshake(credentials=channel.credentials, query=request.GET)
    if challenge is None:
        return _response(error(403, "HANDSHAKE_REJECTED", "The verify token does not match."))
    return HttpResponse(challenge, content_type="text/plain")
