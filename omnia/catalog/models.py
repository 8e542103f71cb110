from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Q
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
    search_text = models.TextField(editable=False, default="", help_text="core.text.search_key(name, brand)")

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_text = search_key(self.name, self.brand)
        super().save(*args, **kwargs)


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
    weight_grams = models.PositiveIntegerField(_("weight, g"), null=True, blank=True)
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["product_id", "sku"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=Decimal(0)), name="variant_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} — {self.name}" if self.name else self.product.name
