"""Notifications: what the shop tells a customer by itself (order confirmed, shipped, back in stock…),
in their language, through the channel they prefer and allow, falling back when it fails.

An event raises one Notification per (what, for whom) key — never twice. It is written from a Template
(per event, channel and language; the built-in texts when the shop wrote none), waits out quiet hours,
and goes out as a message in the customer's conversation on the chosen channel (the outbox): each try
is an Attempt. A try that fails, or is not delivered in time, passes to the next channel of the chain.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Event(models.TextChoices):
    ORDER_CONFIRMED = "order_confirmed", _("Order confirmed")
    READY_FOR_PICKUP = "ready_for_pickup", _("Ready for pick-up")
    SHIPPED = "shipped", _("Shipped")
    AT_PICKUP_POINT = "at_pickup_point", _("At the pick-up point")
    DELIVERED = "delivered", _("Delivered")
    DELAYED = "delayed", _("Delivery delayed")
    PAYMENT_RECEIVED = "payment_received", _("Payment received")
    BACK_IN_STOCK = "back_in_stock", _("Back in stock")
    REPLY_WAITING = "reply_waiting", _("A reply is waiting")


class Purpose(models.TextChoices):
    """The consent a notification needs (the same values as customers.Consent.Purpose)."""

    TRANSACTIONAL = "transactional", _("Order and service messages")
    MARKETING = "marketing", _("Marketing")


class Template(models.Model):
    """The shop's own text for an event, per channel (or every channel) and language.

    Its {{variables}} come from a fixed list per event, checked at save. For WhatsApp outside the 24-hour
    window the approved template and the variable that fills each of its {{1}}, {{2}}… are named here."""

    ANY_CHANNEL = ""

    event = models.CharField(_("event"), max_length=24, choices=Event.choices)
    channel = models.CharField(
        _("channel"), max_length=16, blank=True, help_text=_("A channel kind (sms, whatsapp…); empty: every channel.")
    )
    language = models.CharField(_("language"), max_length=8)
    subject = models.CharField(_("e-mail subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    whatsapp_template = models.ForeignKey(
        "channels.MessageTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("approved WhatsApp template"),
    )
    whatsapp_values = models.JSONField(
        _("values for its placeholders"), default=list, blank=True, help_text=_('["{{customer.first_name}}", …]')
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")
        ordering = ["event", "channel", "language"]
        constraints = [
            models.UniqueConstraint(fields=["event", "channel", "language"], name="notification_template_once"),
        ]

    def __str__(self) -> str:
        return f"{self.event}/{self.channel or '*'}/{self.language}"


def default_chain() -> list[str]:
    return ["whatsapp", "telegram", "sms", "email"]


class Settings(models.Model):
    """Shop-wide notification rules (one row)."""

    fallback_chain = models.JSONField(
        _("fallback chain"), default=default_chain, help_text=_("Channel kinds tried in order after the preferred one.")
    )
    undelivered_minutes = models.PositiveIntegerField(_("fall back when not delivered within, minutes"), default=30)
    quiet_start = models.TimeField(_("quiet hours from"), default=dt.time(21, 0))
    quiet_end = models.TimeField(_("quiet hours until"), default=dt.time(9, 0))
    disabled_events = models.JSONField(_("events not sent"), default=list, blank=True)
    reply_waiting_minutes = models.PositiveIntegerField(
        _("tell about an unread web chat reply after, minutes"), default=15
    )
    updated_at = models.DateTimeField(_("updated"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")


class Notification(models.Model):
    """One thing the shop tells one customer, once (unique key), through one channel or the next."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")  # not sent yet: due later (quiet hours) or about to go
        SENDING = "sending", _("Sending")  # an attempt is in the outbox or waiting for a delivery report
        SENT = "sent", _("Sent")  # accepted by a channel that reports no delivery
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Failed")  # every allowed channel failed
        SKIPPED = "skipped", _("Not sent")  # no channel allowed (consent, no handle) or the event is switched off

    key = models.CharField(max_length=150, unique=True, help_text="What and for whom: order:12:shipped:34")
    event = models.CharField(_("event"), max_length=24, choices=Event.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices, default=Purpose.TRANSACTIONAL)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="notifications", verbose_name=_("customer")
    )
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
        verbose_name=_("order"),
    )
    language = models.CharField(_("language"), max_length=8)
    context = models.JSONField(default=dict, blank=True, help_text="The values its variables are filled from")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField(_("due"), help_text=_("Not sent before (quiet hours)."))
    channel = models.CharField(_("sent through"), max_length=16, blank=True)
    reason = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("raised"), db_index=True)
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return self.key


class Attempt(models.Model):
    """One try of a notification through one channel: the outbox message it became, and what came of it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Failed")
        TIMED_OUT = "timed_out", _("Not delivered in time")

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="attempts")
    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="+")
    message = models.OneToOneField(
        "conversations.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="notification_attempt"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    text = models.TextField(_("text"), blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("tried"))
    updated_at = models.DateTimeField(_("updated"))
    check_at = models.DateTimeField(
        null=True, blank=True, help_text="When to pass to the next channel if it is not delivered by then"
    )

    class Meta:
        verbose_name = _("notification attempt")
        verbose_name_plural = _("notification attempts")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="notification_attempt_channel_once"),
        ]
        indexes = [
            models.Index(fields=["check_at"], condition=Q(check_at__isnull=False), name="notification_attempt_due"),
        ]
