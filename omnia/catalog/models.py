from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from omnia.core.text import search_key


class Category(models.Model):
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent"),
    )
    slug = models.SlugField(_("slug"), max_length=200, unique=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(_("name"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    brand = models.CharField(_("brand"), max_length=120, blank=True)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("category"),
    )
    is_active = models.BooleanField(_("on sale"), default=True)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"), null=True, blank=True)
    translations = models.JSONField(
        _("translations"),
        default=dict,
        blank=True,
        help_text=_('Name and description in other languages: {"kk": {"name": …, "description": …}, "en": {…}}'),
    )
    external_id = models.CharField(
        _("external id"), max_length=100, blank=True, help_text=_("The product's id in 1C, МойСклад or the import file")
    )
    search_text = models.TextField(editable=False, default="", help_text="core.text.search_key(name, brand)")

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        translated = [str(t.get("name", "")) for t in (self.translations or {}).values() if isinstance(t, dict)]
        self.search_text = search_key(self.name, self.brand, *translated)
        super().save(*args, **kwargs)

    def name_in(self, language: str) -> str:
        """The name in `language`, else the main name."""
        return str((self.translations or {}).get(language, {}).get("name") or self.name)

    def description_in(self, language: str) -> str:
        return str((self.translations or {}).get(language, {}).get("description") or self.description)


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    url = models.URLField(_("image address"), max_length=500)
    alt = models.CharField(_("description"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["product_id", "position", "id"]

    def __str__(self) -> str:
        return self.url


class Variant(models.Model):
    """One sellable unit (a size or colour of a product) with its SKU and the one price."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants", verbose_name=_("product"))
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    barcode = models.CharField(_("barcode"), max_length=32, blank=True, db_index=True)
    name = models.CharField(
        _("variant"), max_length=200, blank=True, help_text=_("What tells this variant apart, e.g. '10 m, warm white'.")
    )
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    price = models.DecimalField(_("price"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    promo_price = models.DecimalField(_("promotional price"), max_digits=14, decimal_places=2, null=True, blank=True)
    promo_starts_at = models.DateTimeField(_("promotion starts"), null=True, blank=True)
    promo_ends_at = models.DateTimeField(_("promotion ends"), null=True, blank=True)
    weight_grams = models.PositiveIntegerField(_("weight, g"), null=True, blank=True)
    length_mm = models.PositiveIntegerField(_("length, mm"), null=True, blank=True)
    width_mm = models.PositiveIntegerField(_("width, mm"), null=True, blank=True)
    height_mm = models.PositiveIntegerField(_("height, mm"), null=True, blank=True)
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["product_id", "sku"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=Decimal(0)), name="variant_price_not_negative"),
            models.CheckConstraint(
                condition=Q(promo_price__isnull=True) | Q(promo_price__gte=Decimal(0)),
                name="variant_promo_price_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(promo_starts_at__isnull=True)
                | Q(promo_ends_at__isnull=True)
                | Q(promo_ends_at__gt=F("promo_starts_at")),
                name="variant_promo_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} — {self.name}" if self.name else self.product.name

    def price_at(self, at: dt.datetime) -> Decimal:
        """What the customer pays at `at`: the promotional price while the promotion runs, else the price."""
        if self.promo_price is None:
            return self.price
        if self.promo_starts_at is not None and at < self.promo_starts_at:
            return self.price
        if self.promo_ends_at is not None and at >= self.promo_ends_at:
            return self.price
        return self.promo_price


class Barcode(models.Model):
    """Every barcode a variant is scanned by (EAN-13, the supplier's, the shop's own label); one variant each."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="barcodes")
    code = models.CharField(_("barcode"), max_length=32, unique=True)

    class Meta:
        verbose_name = _("barcode")
        verbose_name_plural = _("barcodes")
        ordering = ["variant_id", "id"]

    def __str__(self) -> str:
        return self.code


class ChannelPrice(models.Model):
    """A price a manager set explicitly for one sales channel (e.g. Kaspi.kz); everywhere else the one price."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="channel_prices")
    channel = models.CharField(_("sales channel"), max_length=16, help_text=_("kaspi, satu, web, store…"))
    price = models.DecimalField(_("price"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("channel price")
        verbose_name_plural = _("channel prices")
        constraints = [
            models.UniqueConstraint(fields=["variant", "channel"], name="channel_price_once"),
            models.CheckConstraint(condition=Q(price__gte=Decimal(0)), name="channel_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.channel}: {self.price}"


class ImportJob(models.Model):
    """A catalog import (CSV/XLSX from 1C, МойСклад or our own export): uploaded → previewed → running →
    done/failed, with progress and per-row errors. Rows are matched by SKU, so importing again updates."""

    class Status(models.TextChoices):
        PREVIEW = "preview", _("Awaiting confirmation")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"))
    file = models.FileField(upload_to="imports/catalog/%Y/%m/")
    filename = models.CharField(_("file"), max_length=255)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PREVIEW)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("processed"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{'row', 'field', 'column', 'message'}]")
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("catalog import")
        verbose_name_plural = _("catalog imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import:{self.pk}"
