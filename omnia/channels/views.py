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
        if deferred:  # stored now, applied by this process's ingest thread right after the answer
            result = accept_webhook(channel=channel, headers=request.headers, body=request.body)
        else:
            result = ingest_webhook(channel=channel, headers=request.headers, body=request.body)
    except WebhookRejected as exc:
        logger.warning("webhook rejected for %s/%s: %s", provider, channel.pk, exc)
        return _error(403, "SIGNATURE_INVALID", "The request signature or secret is missing or wrong.")
    except BadPayload as exc:
        return _error(400, "PAYLOAD_INVALID", str(exc) or "The body is not a valid webhook payload.")
    if deferred and result.stored:
        transaction.on_commit(processor.wake)  # committed already, unless a caller's transaction holds it
    return JsonResponse({"ok": True, "stored": result.stored, "duplicates": result.duplicates})
