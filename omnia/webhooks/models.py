"""Outgoing webhooks: the endpoints integrations registered, and every delivery of an event to one of them.

An event is enqueued once per endpoint (unique endpoint + event id); each HTTP try is a DeliveryAttempt row,
the log the owner reads in Settings → Webhooks.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from omnia.core.crypto import decrypt_json, encrypt_json


class EventType(models.TextChoices):
    """What an endpoint may subscribe to (the `type` of a payload)."""

    ORDER_CREATED = "order.created", _("Order created")
    ORDER_STATUS_CHANGED = "order.status_changed", _("Order status changed")
    ORDER_CANCELLED = "order.cancelled", _("Order cancelled")
    ORDER_PAID = "order.paid", _("Order paid in full")
    ORDER_RETURNED = "order.returned", _("Order items returned")
    ORDER_SHIPMENT_MOVED = "order.shipment_moved", _("Order shipment moved")


PING = "ping"  # the test event: sent on request to one endpoint, never subscribed to


class Endpoint(models.Model):
    """A URL an integration (1C, the website) receives signed order events at."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=2000)
    secret_encrypted = models.TextField(editable=False, default="")
    events = models.JSONField(_("events"), default=list, help_text=_("The event types it receives"))
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"))
    consecutive_failures = models.PositiveIntegerField(_("failed attempts in a row"), default=0)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)
    disabled_at = models.DateTimeField(_("switched off automatically"), null=True, blank=True)
    disabled_reason = models.CharField(_("why it was switched off"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"

    @property
    def secret(self) -> str:
        """The signing secret, decrypted on use (ValueError if OMNIA_SECRET_KEY changed since)."""
        return str(decrypt_json(self.secret_encrypted).get("secret", ""))

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = encrypt_json({"secret": value})


class Delivery(models.Model):
    """One event for one endpoint: its payload (fixed when enqueued), where its sending stands, the last answer."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("webhook delivery", "Pending")
        SUCCEEDED = "succeeded", pgettext_lazy("webhook delivery", "Succeeded")
        FAILED = "failed", pgettext_lazy("webhook delivery", "Failed, will retry")
        GIVEN_UP = "given_up", pgettext_lazy("webhook delivery", "Given up")

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(_("event"), max_length=40)
    event_id = models.UUIDField(_("event id"))
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveIntegerField(_("attempts allowed"), default=8)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    response_status = models.PositiveIntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("response"), blank=True)
    last_error = models.CharField(_("error"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration, ms"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once_per_endpoint"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.endpoint_id}"


class DeliveryAttempt(models.Model):
    """One HTTP try of a delivery: what came back (or why nothing did), and how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField(_("attempt"))
    at = models.DateTimeField(_("at"))
    succeeded = models.BooleanField(_("succeeded"), default=False)
    response_status = models.PositiveIntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("response"), blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration, ms"), default=0)

    class Meta:
        verbose_name = _("webhook delivery attempt")
        verbose_name_plural = _("webhook delivery attempts")
        ordering = ["delivery_id", "number"]

    def __str__(self) -> str:
        return f"#{self.number} of delivery {self.delivery_id}"
