"""Reads for webhooks: endpoints with their health, and the delivery log."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet

from omnia.core import clock
from omnia.webhooks.errors import DeliveryNotFound, EndpointNotFound
from omnia.webhooks.models import Delivery, Endpoint

HEALTH_WINDOW = dt.timedelta(hours=24)


class Health:
    """What the list shows about an endpoint: ok, failing, off (by a person), disabled (automatically), new."""

    OK = "ok"
    FAILING = "failing"
    OFF = "off"
    DISABLED = "disabled"
    NEW = "new"


def health(endpoint: Endpoint) -> str:
    if not endpoint.is_active:
        return Health.DISABLED if endpoint.disabled_at else Health.OFF
    if endpoint.consecutive_failures:
        return Health.FAILING
    if endpoint.last_success_at is None:
        return Health.NEW
    return Health.OK


def list_endpoints() -> QuerySet[Endpoint]:
    """Every endpoint, with its deliveries of the last 24 hours counted (recent_succeeded, recent_failed,
    recent_pending)."""
    since = clock.now() - HEALTH_WINDOW
    recent = Q(deliveries__created_at__gte=since)
    return (
        Endpoint.objects.select_related("created_by")
        .annotate(
            recent_succeeded=Count("deliveries", filter=recent & Q(deliveries__status=Delivery.Status.SUCCEEDED)),
            recent_failed=Count(
                "deliveries",
                filter=recent & Q(deliveries__status__in=[Delivery.Status.FAILED, Delivery.Status.GIVEN_UP]),
            ),
            recent_pending=Count("deliveries", filter=recent & Q(deliveries__status=Delivery.Status.PENDING)),
        )
        .order_by("name", "id")
    )


def get_endpoint(endpoint_id: int, *, field: str = "webhook_id") -> Endpoint:
    endpoint = Endpoint.objects.select_related("created_by").filter(pk=endpoint_id).first()
    if endpoint is None:
        raise EndpointNotFound(f"No webhook endpoint #{endpoint_id}.", field=field)
    return endpoint


def list_deliveries(endpoint: Endpoint, *, status: str = "") -> QuerySet[Delivery]:
    """The delivery log of an endpoint, newest first, optionally of one status."""
    qs = Delivery.objects.filter(endpoint=endpoint).prefetch_related("attempt_log").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    return qs


def get_delivery(endpoint: Endpoint, delivery_id: int, *, field: str = "delivery_id") -> Delivery:
    delivery = Delivery.objects.prefetch_related("attempt_log").filter(endpoint=endpoint, pk=delivery_id).first()
    if delivery is None:
        raise DeliveryNotFound(f"Webhook endpoint #{endpoint.pk} has no delivery #{delivery_id}.", field=field)
    return delivery
