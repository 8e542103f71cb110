"""POST /hooks/<provider>/<key> (and GET for Meta's hub.challenge): thin, all work in ingest.py."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from omnia.channels import queries
from omnia.channels.base import BadPayload, WebhookRejected
from omnia.channels.ingest import accept_webhook, ingest_webhook
from omnia.channels.processor import processor
from omnia.channels.registry import connector_for

logger = logging.getLogger(__name__)
MAX_BODY = 5 * 1024 * 1024


def public_url(request: HttpRequest) -> str:
    """The absolute URL the provider requested, as it sees it: behind a TLS proxy the scheme is the one
    X-Forwarded-Proto names (Twilio signs the public URL, https, not the proxy's hop)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    scheme = forwarded if forwarded in ("http", "https") else request.scheme
    host = request.get_host()
    if scheme == "https" and host.endswith(":80"):  # the proxy's plain-HTTP hop, not the public port
        host = host.removesuffix(":80")
    return f"{scheme}://{host}{request.get_full_path()}"


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "field": None}}, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest, provider: str, key: str) -> HttpResponse:
    channel = queries.get_active_channel(provider=provider, key=key)
    if channel is None:
        return _error(404, "CHANNEL_NOT_FOUND", "No active channel with this provider and key.")
    try:
        connector = connector_for(channel.provider)
    except LookupError:
        connector = None
    if connector is None or not getattr(connector, "webhooks", True):  # e-mail is polled, not pushed
        return _error(404, "WEBHOOK_NOT_SUPPORTED", f"{channel.get_provider_display()} channels take no webhooks.")
    if request.method == "GET":
        challenge = connector.handshake(credentials=channel.credentials, query=request.GET)
        if challenge is None:
            return _error(403, "HANDSHAKE_REJECTED", "The verify token does not match.")
        return HttpResponse(challenge, content_type="text/plain")
    if len(request.body) > MAX_BODY:
        return _error(413, "PAYLOAD_TOO_LARGE", "The webhook body is too large.")
    deferred = settings.OMNIA_INGEST_DEFERRED
    try:
        url = public_url(request)
        if deferred:  # stored now, applied by this process's ingest thread right after the answer
            result = accept_webhook(channel=channel, headers=request.headers, body=request.body, url=url)
        else:
            result = ingest_webhook(channel=channel, headers=request.headers, body=request.body, url=url)
    except WebhookRejected as exc:
        logger.warning("webhook rejected for %s/%s: %s", provider, channel.pk, exc)
        return _error(403, "SIGNATURE_INVALID", "The request signature or secret is missing or wrong.")
    except BadPayload as exc:
        return _error(400, "PAYLOAD_INVALID", str(exc) or "The body is not a valid webhook payload.")
    if deferred and result.stored:
        transaction.on_commit(processor.wake)  # committed already, unless a caller's transaction holds it
    ack = getattr(connector, "webhook_ack", None)  # (body, content type) the provider expects (Twilio: TwiML)
    if ack is not None:
        return HttpResponse(ack[0], content_type=ack[1])
    return JsonResponse({"ok": True, "stored": result.stored, "duplicates": result.duplicates})
