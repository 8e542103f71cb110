"""POST /hooks/carriers/<webhook_key>: a carrier's tracking webhook. Thin: the adapter verifies and parses,
actions_parcels applies (each event once), then 200 after the commit.

Answers (JSON, the API's error shape): an unknown key → 404; a carrier moved by hand → 404; a missing or wrong
signature → 403 (a TrackingRejection row, nothing else stored); a body that is not the carrier's payload →
400; an event for a tracking number of none of the carrier's parcels → 404 naming it (the others in the call
are applied); otherwise 200 {"ok", "applied", "recorded", "duplicates"}.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from omnia.fulfillment import actions_parcels, queries_parcels
from omnia.fulfillment.tracking.base import BadTrackingPayload, TrackingRejected, adapter_for

logger = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


def _error(status: int, code: str, message: str, **extra: object) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "field": None}, **extra}, status=status)


@csrf_exempt
@require_POST
def tracking_webhook(request: HttpRequest, key: str) -> HttpResponse:
    carrier = queries_parcels.get_carrier_by_webhook_key(key)
    if carrier is None:
        return _error(404, "CARRIER_NOT_FOUND", "No active carrier with this webhook key.")
    adapter = adapter_for(carrier.tracking)
    if adapter is None:
        return _error(404, "WEBHOOK_NOT_SUPPORTED", f"{carrier.name}'s parcels are moved by the operator.")
    body = request.body
    if len(body) > MAX_BODY:
        actions_parcels.do_record_rejection(carrier=carrier, reason="too_large", detail=f"{len(body)} bytes")
        return _error(413, "PAYLOAD_TOO_LARGE", "The webhook body is too large.")
    try:
        adapter.verify(request.headers, body, carrier)
    except TrackingRejected as exc:
        logger.warning("tracking webhook rejected for carrier %s: %s", carrier.pk, exc)
        actions_parcels.do_record_rejection(carrier=carrier, reason="signature", detail=str(exc), body=body)
        return _error(403, "SIGNATURE_INVALID", "The request signature is missing, wrong or expired.")
    try:
        updates = adapter.parse(body)
    except BadTrackingPayload as exc:
        actions_parcels.do_record_rejection(carrier=carrier, reason="payload", detail=str(exc), body=body)
        return _error(400, "PAYLOAD_INVALID", str(exc) or "The body is not a valid tracking payload.")
    result = actions_parcels.do_apply_tracking(carrier=carrier, updates=updates, body=body)
    counts = {"applied": result.applied, "recorded": result.recorded, "duplicates": result.duplicates}
    if result.unknown:
        return _error(
            404,
            "TRACKING_NUMBER_UNKNOWN",
            f"No parcel of {carrier.name} has tracking number {', '.join(result.unknown)}.",
            unknown=result.unknown,
            **counts,
        )
    return JsonResponse({"ok": True, **counts})
