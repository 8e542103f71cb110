from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from omnia.core.text import search_key


class Customer(models.Model):
    first_name = models.CharField(_("first name"), max_length=120, blank=True)
    last_name = models.CharField(_("last name"), max_length=120, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    loyalty_card = models.CharField(_("loyalty card"), max_length=40, blank=True, db_index=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_source = models.CharField(_("came from"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created"), db_index=True)
    search_text = models.TextField(editable=False, default="", help_text="core.text.search_key(names)")

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.full_name or f"#{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_text = search_key(self.first_name, self.last_name)
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


class Identity(models.Model):
    """A handle that reaches a customer. One normalised (kind, value) belongs to one customer."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("E-mail")
        TELEGRAM = "telegram", _("Telegram")
        WHATSAPP = "whatsapp", _("WhatsApp")
        INSTAGRAM = "instagram", _("Instagram")
        VIBER = "viber", _("Viber")
        VK = "vk", _("VK")
        WEBCHAT = "webchat", _("Web chat visitor")
        KASPI = "kaspi", _("Kaspi.kz")
        EXTERNAL = "external", _("External id")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=255)
    raw_value = models.CharField(_("as received"), max_length=255, blank=True)
    verified = models.BooleanField(_("verified"), default=False)
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last seen"))
    channel = models.CharField(_("came through"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_value")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"
