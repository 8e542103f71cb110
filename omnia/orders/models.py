from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    WEB = "web", _("Website")
    STORE = "store", _("Store")
    PHONE = "phone", _("Phone")
    WEBCHAT = "webchat", _("Web chat")
    TELEGRAM = "telegram", _("Telegram")
    WHATSAPP = "whatsapp", _("WhatsApp")
    INSTAGRAM = "instagram", _("Instagram")
    VIBER = "viber", _("Viber")
    VK = "vk", _("VK")
    EMAIL = "email", _("E-mail")
    KASPI = "kaspi", _("Kaspi.kz")
    SATU = "satu", _("Satu.kz")
    API = "api", _("API")


class Order(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONFIRMED = "confirmed", _("Confirmed")
        READY = "ready", _("Ready")
        SHIPPED = "shipped", _("Shipped")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        RETURNED = "returned", _("Returned")

    number = models.CharField(_("number"), max_length=32, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("customer"),
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    location = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("store"),
        help_text=_("Where it was sold or is handed out."),
    )
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    comment = models.TextField(_("comment"), blank=True)
    placed_at = models.DateTimeField(_("placed"), db_index=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=~Q(external_id=""), name="order_unique_external_id"
            ),
            models.CheckConstraint(condition=Q(total__gte=Decimal(0)), name="order_total_not_negative"),
        ]
        indexes = [models.Index(fields=["source", "placed_at"])]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=14, decimal_places=2, default=Decimal(0))
    location = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("sourced from"),
    )

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive")]

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity - self.discount
