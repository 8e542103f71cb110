"""Catalog over the API: products with their variants, prices, images and categories."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import Field

from omnia.catalog import queries
from omnia.catalog.models import Category, ChannelPrice, Product, ProductImage, Variant
from omnia.core.errors import ValidationFailed

PRICE = "A decimal as a string in the shop currency, e.g. '4990.00'"


def money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def sent_fields(payload: Schema, *, nullable: set[str]) -> dict[str, Any]:
    """The fields a PATCH sent; VALIDATION_FAILED naming a field that cannot be null but was."""
    sent: dict[str, Any] = payload.model_dump(exclude_unset=True)
    for name, value in sent.items():
        if value is None and name not in nullable:
            raise ValidationFailed(f"{name} cannot be null: leave it out to keep it.", field=name)
    return sent


class TranslationIn(Schema):
    name: str = ""
    description: str = ""


class ChannelPriceOut(Schema):
    channel: str
    price: str = Field(description=PRICE)

    @staticmethod
    def of(cp: ChannelPrice) -> ChannelPriceOut:
        return ChannelPriceOut(channel=cp.channel, price=f"{cp.price:.2f}")


class VariantOut(Schema):
    id: int
    product_id: int
    sku: str
    barcode: str = Field(description="The main barcode (the first of `barcodes`)")
    barcodes: list[str]
    name: str
    attributes: dict[str, str]
    price: str = Field(description=PRICE)
    currency: str
    promo_price: str | None
    promo_starts_at: dt.datetime | None
    promo_ends_at: dt.datetime | None
    price_now: str = Field(description="What a customer pays now: the promotional price while it runs")
    channel_prices: list[ChannelPriceOut] = Field(description="Prices a manager set for one sales channel only")
    weight_grams: int | None
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None
    is_active: bool

    @staticmethod
    def of(v: Variant) -> VariantOut:
        return VariantOut(
            id=v.pk, product_id=v.product_id, sku=v.sku, barcode=v.barcode, barcodes=queries.barcodes_of(v),
            name=v.name, attributes=v.attributes or {}, price=f"{v.price:.2f}", currency=v.currency,
            promo_price=money(v.promo_price), promo_starts_at=v.promo_starts_at, promo_ends_at=v.promo_ends_at,
            price_now=f"{queries.price_now(v).price:.2f}",
            channel_prices=[ChannelPriceOut.of(cp) for cp in queries.channel_prices(v)],
            weight_grams=v.weight_grams, length_mm=v.length_mm, width_mm=v.width_mm, height_mm=v.height_mm,
            is_active=v.is_active,
        )  # fmt: skip


class ImageOut(Schema):
    id: int
    url: str
    alt: str
    position: int

    @staticmethod
    def of(i: ProductImage) -> ImageOut:
        return ImageOut(id=i.pk, url=i.url, alt=i.alt, position=i.position)


class ProductOut(Schema):
    id: int
    name: str
    description: str
    brand: str
    category: str | None = Field(description="The category's name")
    category_id: int | None
    translations: dict[str, dict[str, str]] = Field(description='{"kk": {"name", "description"}, "en": {…}}')
    external_id: str
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime | None
    images: list[ImageOut]
    variants: list[VariantOut]

    @staticmethod
    def of(p: Product) -> ProductOut:
        return ProductOut(
            id=p.pk, name=p.name, description=p.description, brand=p.brand,
            category=p.category.name if p.category else None, category_id=p.category_id,
            translations=p.translations or {}, external_id=p.external_id, is_active=p.is_active,
            created_at=p.created_at, updated_at=p.updated_at, images=[ImageOut.of(i) for i in p.images.all()],
            variants=[VariantOut.of(v) for v in p.variants.all()],
        )  # fmt: skip


class VariantIn(Schema):
    sku: str
    price: Decimal = Field(description="Zero or more, at most 2 decimal places, in the shop currency")
    currency: str | None = Field(None, description="Optional; must be the shop currency")
    barcodes: list[str] = Field(default_factory=list, description="The first is the main one")
    name: str = Field("", description="What tells this variant apart, e.g. '10 m, warm white'")
    attributes: dict[str, str] = Field(default_factory=dict, description='{"size": "M", "colour": "red"}')
    promo_price: Decimal | None = Field(None, description="Below the price")
    promo_starts_at: dt.datetime | None = None
    promo_ends_at: dt.datetime | None = None
    weight_grams: int | None = None
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    is_active: bool = True


class VariantPatch(Schema):
    sku: str | None = None
    price: Decimal | None = None
    barcodes: list[str] | None = Field(None, description="Replaces the whole list")
    name: str | None = None
    attributes: dict[str, str] | None = Field(None, description="Replaces all attributes")
    promo_price: Decimal | None = Field(None, description="null removes the promotion (with its dates)")
    promo_starts_at: dt.datetime | None = None
    promo_ends_at: dt.datetime | None = None
    weight_grams: int | None = None
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    is_active: bool | None = None

    def changes(self) -> dict[str, Any]:
        """The fields sent (null only where a value may be empty); no promotional price clears its dates too."""
        changes = sent_fields(self, nullable={"promo_price", "promo_starts_at", "promo_ends_at", "weight_grams",
                                              "length_mm", "width_mm", "height_mm"})  # fmt: skip
        if "promo_price" in changes and changes["promo_price"] is None:
            changes.setdefault("promo_starts_at", None)
            changes.setdefault("promo_ends_at", None)
        return changes


class ProductIn(Schema):
    name: str
    description: str = ""
    brand: str = ""
    category_id: int | None = None
    translations: dict[str, TranslationIn] = Field(default_factory=dict, description="ru, kk, en")
    external_id: str = Field("", description="The product's id in 1C, МойСклад…")
    is_active: bool = True
    variants: list[VariantIn] = Field(default_factory=list, description="Created with the product, in one go")

    def translation_values(self) -> dict[str, dict[str, str]]:
        return {lang: t.model_dump() for lang, t in self.translations.items()}


class ProductPatch(Schema):
    name: str | None = None
    description: str | None = None
    brand: str | None = None
    category_id: int | None = Field(None, description="null takes the product out of its category")
    translations: dict[str, TranslationIn] | None = Field(None, description="Replaces all translations")
    external_id: str | None = None
    is_active: bool | None = None


class ChannelPriceIn(Schema):
    price: Decimal


class ImageIn(Schema):
    url: str
    alt: str = ""


class ImageOrderIn(Schema):
    image_ids: list[int] = Field(description="Every image of the product, in the new order")


class CategoryOut(Schema):
    id: int
    name: str
    slug: str
    parent_id: int | None
    path: list[str] = Field(description="Names from the top down to this category")

    @staticmethod
    def of(c: Category, path: list[str]) -> CategoryOut:
        return CategoryOut(id=c.pk, name=c.name, slug=c.slug, parent_id=c.parent_id, path=path)


class CategoryIn(Schema):
    name: str
    parent_id: int | None = None
    slug: str = Field("", description="Made from the name when empty")


class CategoryPatch(Schema):
    name: str | None = None
    parent_id: int | None = Field(None, description="null moves the category to the top")
    slug: str | None = None
