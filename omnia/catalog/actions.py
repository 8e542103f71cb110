"""Every change of the catalog: products (with their ru/kk/en texts), variants (SKU, barcodes, the one
price and its promotion, weight and size), channel prices, images and the category tree.

`check_*` validate their input and raise a DomainError naming the field; `do_*` take values already
valid. Only a manager or the owner changes the catalog (`actor=None` is the system: the demo, an
import without a person behind it). Price changes are written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from omnia.catalog.errors import (
    BarcodeTaken,
    CatalogEditForbidden,
    CategoryCycle,
    CategoryInUse,
    ImageNotFound,
    InvalidCatalogInput,
    InvalidPrice,
    InvalidPromotion,
    SkuTaken,
    SlugTaken,
)
from omnia.catalog.models import Barcode, Category, ChannelPrice, Product, ProductImage, Variant
from omnia.core import clock
from omnia.core.audit import do_record_audit
from omnia.core.config import SUPPORTED_LANGUAGES
from omnia.core.errors import DomainError
from omnia.core.money import default_currency
from omnia.core.permissions import Role
from omnia.core.text import search_key, transliterate

EDITING_ROLES = frozenset({Role.OWNER, Role.MANAGER})
MAX_PRICE = Decimal("999999999999.99")
MAX_DESCRIPTION = 20_000
MAX_BARCODES = 20
MAX_ATTRIBUTES = 30
MAX_DIMENSION = 10_000_000  # grams or millimetres: ten tonnes, ten kilometres
PRODUCT_FIELDS = ("name", "description", "brand", "category", "translations", "external_id", "is_active")
VARIANT_FIELDS = (
    "sku", "barcodes", "name", "attributes", "price", "currency", "promo_price", "promo_starts_at", "promo_ends_at",
    "weight_grams", "length_mm", "width_mm", "height_mm", "is_active",
)  # fmt: skip
PRICE_FIELDS = ("price", "promo_price", "promo_starts_at", "promo_ends_at")
DIMENSION_FIELDS = ("weight_grams", "length_mm", "width_mm", "height_mm")
_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,15}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- who may ----------------------------------------------------------------------------------------


def require_catalog_editor(actor: Any) -> None:
    """CATALOG_FORBIDDEN unless `actor` is a manager or the owner (None is the system and may)."""
    if actor is None:
        return
    if getattr(actor, "role", None) not in EDITING_ROLES:
        raise CatalogEditForbidden("Only a manager or the owner changes the catalog and its prices.", field=None)


# --- cleaning values (also used by the import to check a row before writing anything) -----------------


def clean_text(value: Any, *, field: str, max_length: int, required: bool = False, label: str = "") -> str:
    """One line of text, spaces collapsed; NAME_REQUIRED when required and blank; too long → VALIDATION_FAILED."""
    text = " ".join(str(value if value is not None else "").split())
    if required and not text:
        raise InvalidCatalogInput(f"{label or field.capitalize()} is required.", field=field, code="NAME_REQUIRED")
    if len(text) > max_length:
        raise InvalidCatalogInput(f"At most {max_length} characters.", field=field, code="TOO_LONG")
    return text


def clean_description(value: Any, *, field: str = "description") -> str:
    text = str(value if value is not None else "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise InvalidCatalogInput(f"At most {MAX_DESCRIPTION} characters.", field=field, code="TOO_LONG")
    return text


def clean_translations(value: Any, *, field: str = "translations") -> dict[str, dict[str, str]]:
    """{"kk": {"name", "description"}, "en": {…}, "ru": {…}}: only those languages; an entry needs its name.

    Blank entries are dropped, so sending {"en": {"name": ""}} removes the English text.
    """
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise InvalidCatalogInput(
            'Translations are {"kk": {"name": …, "description": …}, …}.', field=field, code="TRANSLATION_INVALID"
        )
    cleaned: dict[str, dict[str, str]] = {}
    for language, entry in value.items():
        where = f"{field}.{language}"
        if language not in SUPPORTED_LANGUAGES:
            raise InvalidCatalogInput(
                f"Unknown language {language!r}: use {', '.join(SUPPORTED_LANGUAGES)}.",
                field=where,
                code="LANGUAGE_UNSUPPORTED",
            )
        if not isinstance(entry, dict):
            raise InvalidCatalogInput('A translation is {"name": …, "description": …}.', field=where,
                                      code="TRANSLATION_INVALID")  # fmt: skip
        unknown = sorted(set(entry) - {"name", "description"})
        if unknown:
            raise InvalidCatalogInput(
                f"A translation has a name and a description, not {unknown[0]!r}.",
                field=f"{where}.{unknown[0]}",
                code="TRANSLATION_INVALID",
            )
        name = clean_text(entry.get("name"), field=f"{where}.name", max_length=300)
        description = clean_description(entry.get("description"), field=f"{where}.description")
        if not name and not description:
            continue
        if not name:
            raise InvalidCatalogInput(
                "Give the name in this language too.", field=f"{where}.name", code="NAME_REQUIRED"
            )
        cleaned[language] = {"name": name, "description": description} if description else {"name": name}
    return cleaned


def price_places(currency: str) -> int:
    """Decimal places a price in `currency` has: the currency's own (KZT 2, JPY 0), at most 2."""
    return min(2, get_currency_precision(currency))


def clean_optional_price(value: Any, *, field: str, currency: str | None = None) -> Decimal | None:
    """clean_price, or None for a blank value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return clean_price(value, field=field, currency=currency)


def clean_price(value: Any, *, field: str = "price", currency: str | None = None) -> Decimal:
    """A price ≥ 0 with at most the currency's decimal places (2): PRICE_REQUIRED / PRICE_INVALID otherwise.

    Text may use a decimal comma and spaces between thousands ("4 990,50"), as Russian spreadsheets do.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidPrice("A price is required.", field=field, code="PRICE_REQUIRED")
    if isinstance(value, bool):
        raise InvalidPrice("A price is a number.", field=field)
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str):
        value = re.sub(r"[\s\u00a0\u202f]", "", value)
        if "," in value and "." not in value:
            value = value.replace(",", ".")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidPrice(f"{value!r} is not a price.", field=field) from None
    if not amount.is_finite():
        raise InvalidPrice(f"{value!r} is not a price.", field=field)
    if amount < 0:
        raise InvalidPrice("A price is zero or more.", field=field)
    if amount > MAX_PRICE:
        raise InvalidPrice("The price is too large.", field=field)
    places = price_places(currency or default_currency())
    step = Decimal(1).scaleb(-places)
    if amount != amount.quantize(step):
        raise InvalidPrice(f"A price has at most {places} decimal places.", field=field)
    return amount.quantize(Decimal("0.01"))


def clean_currency(value: Any, *, field: str = "currency") -> str:
    """The shop's currency: one price list, so a price in any other currency is refused."""
    currency = default_currency()
    if value in (None, "") or str(value).upper() == currency:
        return currency
    raise InvalidPrice(f"Prices are in the shop's currency, {currency}.", field=field, code="CURRENCY_INVALID")


def clean_sku(value: Any, *, field: str = "sku") -> str:
    sku = str(value if value is not None else "").strip()
    if not sku:
        raise InvalidCatalogInput("The SKU is required.", field=field, code="SKU_REQUIRED")
    if len(sku) > 64:
        raise InvalidCatalogInput("An SKU has at most 64 characters.", field=field, code="SKU_INVALID")
    if _CONTROL.search(sku):
        raise InvalidCatalogInput("An SKU is one line of printable characters.", field=field, code="SKU_INVALID")
    return sku


def clean_barcodes(values: Any, *, field: str = "barcodes") -> list[str]:
    """Barcodes in order (the first is the main one), duplicates dropped; each 1–32 letters or digits."""
    if values in (None, ""):
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple):
        raise InvalidCatalogInput("Barcodes are a list.", field=field, code="BARCODE_INVALID")
    codes: list[str] = []
    for index, raw in enumerate(values):
        code = "".join(str(raw if raw is not None else "").split())
        if not code:
            continue
        if len(code) > 32 or not re.fullmatch(r"[0-9A-Za-z\-./+]+", code):
            raise InvalidCatalogInput(
                f"{code!r} is not a barcode (up to 32 letters or digits).", field=f"{field}[{index}]",
                code="BARCODE_INVALID",
            )  # fmt: skip
        if code not in codes:
            codes.append(code)
    if len(codes) > MAX_BARCODES:
        raise InvalidCatalogInput(f"At most {MAX_BARCODES} barcodes.", field=field, code="BARCODE_INVALID")
    return codes


def clean_attributes(value: Any, *, field: str = "attributes") -> dict[str, str]:
    """{"size": "M", "colour": "тёплый белый"}: text keys and values; blank values are dropped."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise InvalidCatalogInput('Attributes are {"size": "M", …}.', field=field, code="ATTRIBUTES_INVALID")
    cleaned: dict[str, str] = {}
    for key, raw in value.items():
        name = clean_text(key, field=f"{field}.{key}", max_length=60)
        if not name:
            raise InvalidCatalogInput("An attribute needs a name.", field=field, code="ATTRIBUTES_INVALID")
        text = clean_text(raw, field=f"{field}.{key}", max_length=200)
        if text:
            cleaned[name] = text
    if len(cleaned) > MAX_ATTRIBUTES:
        raise InvalidCatalogInput(f"At most {MAX_ATTRIBUTES} attributes.", field=field, code="ATTRIBUTES_INVALID")
    return cleaned


def clean_dimension(value: Any, *, field: str) -> int | None:
    """Grams or millimetres: a whole number ≥ 0, or None (unknown)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidCatalogInput("A whole number is expected.", field=field, code="DIMENSION_INVALID")
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise InvalidCatalogInput(f"{value!r} is not a number.", field=field, code="DIMENSION_INVALID") from None
    if not number.is_finite() or number != number.to_integral_value() or not 0 <= number <= MAX_DIMENSION:
        raise InvalidCatalogInput("A whole number, zero or more, is expected.", field=field, code="DIMENSION_INVALID")
    return int(number)


def clean_moment(value: Any, *, field: str) -> dt.datetime | None:
    """An aware datetime (a naive one is in the shop's time zone), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if not isinstance(value, dt.datetime):
        raise InvalidPromotion("A date and time is expected.", field=field)
    moment: dt.datetime = timezone.make_aware(value) if timezone.is_naive(value) else value
    return moment


def check_promotion(
    *, price: Decimal, promo_price: Decimal | None, starts: dt.datetime | None, ends: dt.datetime | None
) -> None:
    """PROMO_INVALID unless the promotional price is below the price and the promotion ends after it starts."""
    if promo_price is None:
        if starts is not None or ends is not None:
            raise InvalidPromotion("Promotion dates need a promotional price.", field="promo_price")
        return
    if promo_price >= price:
        raise InvalidPromotion("The promotional price must be below the price.", field="promo_price")
    if starts is not None and ends is not None and ends <= starts:
        raise InvalidPromotion("The promotion must end after it starts.", field="promo_ends_at")


# --- products --------------------------------------------------------------------------------------


def _clean_product(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(PRODUCT_FIELDS))
    if unknown:
        raise InvalidCatalogInput(f"Unknown field {unknown[0]!r}.", field=unknown[0], code="FIELD_UNKNOWN")
    cleaned = dict(fields)
    if "name" in cleaned:
        cleaned["name"] = clean_text(cleaned["name"], field="name", max_length=300, required=True, label="The name")
    if "description" in cleaned:
        cleaned["description"] = clean_description(cleaned["description"])
    if "brand" in cleaned:
        cleaned["brand"] = clean_text(cleaned["brand"], field="brand", max_length=120)
    if "external_id" in cleaned:
        cleaned["external_id"] = clean_text(cleaned["external_id"], field="external_id", max_length=100)
    if "translations" in cleaned:
        cleaned["translations"] = clean_translations(cleaned["translations"])
    if "category" in cleaned and cleaned["category"] is not None and not isinstance(cleaned["category"], Category):
        raise InvalidCatalogInput("Not a category.", field="category_id", code="CATEGORY_INVALID")
    if "is_active" in cleaned:
        cleaned["is_active"] = bool(cleaned["is_active"])
    return cleaned


@transaction.atomic
def check_create_product(
    *,
    actor: Any,
    name: str,
    description: str = "",
    brand: str = "",
    category: Category | None = None,
    translations: dict[str, Any] | None = None,
    external_id: str = "",
    is_active: bool = True,
    variants: Sequence[dict[str, Any]] = (),
) -> Product:
    """A new product, with `variants` (each the keyword arguments of check_create_variant) in one go:
    a refused variant names its place (variants[1].sku) and nothing is created."""
    require_catalog_editor(actor)
    fields = _clean_product(
        {"name": name, "description": description, "brand": brand, "category": category,
         "translations": translations, "external_id": external_id, "is_active": is_active}
    )  # fmt: skip
    product = Product.objects.create(created_at=clock.now(), **fields)
    for index, values in enumerate(variants):
        try:
            check_create_variant(actor=actor, product=product, **values)
        except DomainError as exc:
            exc.field = f"variants[{index}].{exc.field}" if exc.field else f"variants[{index}]"
            raise
    return product


@transaction.atomic
def check_update_product(*, actor: Any, product: Product, **changes: Any) -> Product:
    """Change the fields given (name, description, brand, category, translations, external_id, is_active)."""
    require_catalog_editor(actor)
    fields = _clean_product(changes)
    changed = [name for name, value in fields.items() if getattr(product, name) != value]
    if not changed:
        return product
    for name in changed:
        setattr(product, name, fields[name])
    product.updated_at = clock.now()
    product.save()
    return product


def do_deactivate_product(*, actor: Any, product: Product) -> Product:
    """Take the product off sale (it stays in the catalog, its stock history is kept)."""
    return check_update_product(actor=actor, product=product, is_active=False)


# --- variants -------------------------------------------------------------------------------------------


def _clean_variant(fields: dict[str, Any], *, current: Variant | None) -> dict[str, Any]:
    """Validate the given fields and the promotion as it would stand after the change."""
    unknown = sorted(set(fields) - set(VARIANT_FIELDS))
    if unknown:
        raise InvalidCatalogInput(f"Unknown field {unknown[0]!r}.", field=unknown[0], code="FIELD_UNKNOWN")
    cleaned = dict(fields)
    if "sku" in cleaned:
        cleaned["sku"] = clean_sku(cleaned["sku"])
    if "barcodes" in cleaned:
        cleaned["barcodes"] = clean_barcodes(cleaned["barcodes"])
    if "name" in cleaned:
        cleaned["name"] = clean_text(cleaned["name"], field="name", max_length=200)
    if "attributes" in cleaned:
        cleaned["attributes"] = clean_attributes(cleaned["attributes"])
    if "currency" in cleaned:
        cleaned["currency"] = clean_currency(cleaned["currency"])
    currency = current.currency if current is not None else default_currency()
    if "price" in cleaned:
        cleaned["price"] = clean_price(cleaned["price"], currency=currency)
    if "promo_price" in cleaned:
        cleaned["promo_price"] = clean_optional_price(cleaned["promo_price"], field="promo_price", currency=currency)
    for name in ("promo_starts_at", "promo_ends_at"):
        if name in cleaned:
            cleaned[name] = clean_moment(cleaned[name], field=name)
    for name in DIMENSION_FIELDS:
        if name in cleaned:
            cleaned[name] = clean_dimension(cleaned[name], field=name)
    if "is_active" in cleaned:
        cleaned["is_active"] = bool(cleaned["is_active"])

    def after(name: str) -> Any:
        return cleaned[name] if name in cleaned else getattr(current, name, None)

    check_promotion(
        price=after("price"), promo_price=after("promo_price"), starts=after("promo_starts_at"),
        ends=after("promo_ends_at"),
    )  # fmt: skip
    return cleaned


def _others(variant_id: int | None) -> QuerySet[Variant]:
    return Variant.objects.all() if variant_id is None else Variant.objects.exclude(pk=variant_id)


def _check_sku_free(sku: str, *, variant_id: int | None) -> None:
    taken = _others(variant_id).filter(sku__iexact=sku).values_list("sku", flat=True).first()
    if taken is None and not sku.isascii():  # SQLite's iexact folds ASCII only: compare exactly too
        taken = _others(variant_id).filter(sku=sku).values_list("sku", flat=True).first()
    if taken is not None:
        raise SkuTaken(f"The SKU {taken} is already used by another variant.", field="sku")


def _check_barcodes_free(codes: list[str], *, variant_id: int | None) -> None:
    if not codes:
        return
    barcodes = Barcode.objects.filter(code__in=codes)
    if variant_id is not None:
        barcodes = barcodes.exclude(variant_id=variant_id)
    owners = dict(barcodes.values_list("code", "variant__sku"))
    for code, sku in _others(variant_id).filter(barcode__in=codes).values_list("barcode", "sku"):
        owners.setdefault(code, sku)
    for index, code in enumerate(codes):
        if code in owners:
            raise BarcodeTaken(f"The barcode {code} belongs to {owners[code]}.", field=f"barcodes[{index}]")


def _set_barcodes(variant: Variant, codes: list[str], *, created: bool = False) -> None:
    """Make the variant's barcodes exactly `codes` (in order) and its main barcode the first."""
    current = [] if created else list(variant.barcodes.order_by("id").values_list("code", flat=True))
    if current != codes:
        if not created:
            variant.barcodes.all().delete()
        Barcode.objects.bulk_create(Barcode(variant=variant, code=code) for code in codes)
    main = codes[0] if codes else ""
    if variant.barcode != main:
        variant.barcode = main
        Variant.objects.filter(pk=variant.pk).update(barcode=main)


def _save_variant(variant: Variant, codes: list[str] | None, *, created: bool) -> None:
    """Write the row (and its barcodes) in a savepoint: a unique clash raced past the checks → SKU/BARCODE_TAKEN."""
    try:
        with transaction.atomic():
            variant.save()
            if codes is not None:
                _set_barcodes(variant, codes, created=created)
    except IntegrityError as exc:
        if created:
            variant.pk = None
        text = str(exc).lower()
        if "barcode" in text:
            raise BarcodeTaken("A barcode was just given to another variant.", field="barcodes") from exc
        raise SkuTaken(f"The SKU {variant.sku} is already used by another variant.", field="sku") from exc


def _price_state(variant: Variant) -> dict[str, str | None]:
    return {name: (None if getattr(variant, name) is None else str(getattr(variant, name))) for name in PRICE_FIELDS}


@transaction.atomic
def check_create_variant(*, actor: Any, product: Product, sku: str, price: Any, **fields: Any) -> Variant:
    """A new variant of `product` with a unique SKU and price in the shop currency.

    Optional fields: barcodes (list, the first is the main one), name, attributes, promo_price,
    promo_starts_at, promo_ends_at, weight_grams, length_mm, width_mm, height_mm, is_active.
    """
    require_catalog_editor(actor)
    cleaned = _clean_variant({"sku": sku, "price": price, **fields}, current=None)
    codes = cleaned.pop("barcodes", [])
    cleaned["currency"] = default_currency()
    _check_sku_free(cleaned["sku"], variant_id=None)
    _check_barcodes_free(codes, variant_id=None)
    variant = Variant(product=product, barcode=codes[0] if codes else "", **cleaned)
    _save_variant(variant, codes, created=True)
    return variant


@transaction.atomic
def check_update_variant(*, actor: Any, variant: Variant, **changes: Any) -> Variant:
    """Change the fields given; `barcodes` replaces the whole list. Price changes are audited."""
    require_catalog_editor(actor)
    cleaned = _clean_variant(changes, current=variant)
    codes = cleaned.pop("barcodes", None)
    cleaned.pop("currency", None)
    if "sku" in cleaned and cleaned["sku"] != variant.sku:
        _check_sku_free(cleaned["sku"], variant_id=variant.pk)
    if codes is not None:
        _check_barcodes_free(codes, variant_id=variant.pk)
    before = _price_state(variant)
    changed = [name for name, value in cleaned.items() if getattr(variant, name) != value]
    barcodes_changed = (
        codes is not None and list(variant.barcodes.order_by("id").values_list("code", flat=True)) != codes
    )
    if not changed and not barcodes_changed:
        return variant
    for name in changed:
        setattr(variant, name, cleaned[name])
    _save_variant(variant, codes if barcodes_changed else None, created=False)
    after = _price_state(variant)
    if after != before:
        do_record_audit(
            actor=actor,
            action="catalog.price",
            target=variant,
            changes={
                "sku": variant.sku,
                **{name: [before[name], after[name]] for name in PRICE_FIELDS if before[name] != after[name]},
            },
        )
    return variant


def do_deactivate_variant(*, actor: Any, variant: Variant) -> Variant:
    """Take the variant off sale; its stock and history stay."""
    return check_update_variant(actor=actor, variant=variant, is_active=False)


def clean_channel(value: Any, *, field: str = "channel") -> str:
    channel = str(value or "").strip().lower()
    if not _CHANNEL.match(channel):
        raise InvalidCatalogInput(
            "A sales channel is a short code such as kaspi, satu or web.", field=field, code="CHANNEL_INVALID"
        )
    return channel


@transaction.atomic
def do_set_channel_price(*, actor: Any, variant: Variant, channel: str, price: Any) -> ChannelPrice:
    """A price for one sales channel only (set explicitly by a manager); everywhere else the one price."""
    require_catalog_editor(actor)
    channel = clean_channel(channel)
    amount = clean_price(price, currency=variant.currency)
    existing = ChannelPrice.objects.select_for_update().filter(variant=variant, channel=channel).first()
    if existing is not None and existing.price == amount:
        return existing
    before = None if existing is None else str(existing.price)
    if existing is None:
        existing = ChannelPrice.objects.create(variant=variant, channel=channel, price=amount)
    else:
        existing.price = amount
        existing.save(update_fields=["price"])
    do_record_audit(
        actor=actor, action="catalog.channel_price", target=variant,
        changes={"sku": variant.sku, "channel": channel, "price": [before, str(amount)]},
    )  # fmt: skip
    return existing


@transaction.atomic
def do_remove_channel_price(*, actor: Any, variant: Variant, channel: str) -> bool:
    """The channel sells at the one price again. False if it had no price of its own."""
    require_catalog_editor(actor)
    channel = clean_channel(channel)
    existing = ChannelPrice.objects.filter(variant=variant, channel=channel).first()
    if existing is None:
        return False
    existing.delete()
    do_record_audit(
        actor=actor, action="catalog.channel_price", target=variant,
        changes={"sku": variant.sku, "channel": channel, "price": [str(existing.price), None]},
    )  # fmt: skip
    return True


# --- images ---------------------------------------------------------------------------------------------


def clean_url(value: Any, *, field: str = "url") -> str:
    url = str(value or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise InvalidCatalogInput("An image address starts with http:// or https://.", field=field,
                                  code="URL_INVALID") from None  # fmt: skip
    if len(url) > 500:
        raise InvalidCatalogInput("At most 500 characters.", field=field, code="URL_INVALID")
    return url


@transaction.atomic
def do_add_image(*, actor: Any, product: Product, url: str, alt: str = "") -> ProductImage:
    """Add an image after the product's others."""
    require_catalog_editor(actor)
    url = clean_url(url)
    alt = clean_text(alt, field="alt", max_length=200)
    last = ProductImage.objects.filter(product=product).aggregate(last=Max("position"))["last"]
    return ProductImage.objects.create(product=product, url=url, alt=alt, position=0 if last is None else last + 1)


@transaction.atomic
def do_remove_image(*, actor: Any, product: Product, image_id: int) -> None:
    require_catalog_editor(actor)
    deleted, _ = ProductImage.objects.filter(product=product, pk=image_id).delete()
    if not deleted:
        raise ImageNotFound(f"Product #{product.pk} has no image #{image_id}.", field="image_id")
    _renumber(product, list(ProductImage.objects.filter(product=product).values_list("pk", flat=True)))


def _renumber(product: Product, ids: Sequence[int]) -> None:
    for position, image_id in enumerate(ids):
        ProductImage.objects.filter(product=product, pk=image_id).exclude(position=position).update(position=position)


@transaction.atomic
def do_reorder_images(*, actor: Any, product: Product, image_ids: Sequence[int]) -> list[ProductImage]:
    """Put the product's images in this order (the first is the main one); every image exactly once."""
    require_catalog_editor(actor)
    current = set(ProductImage.objects.filter(product=product).values_list("pk", flat=True))
    if len(image_ids) != len(set(image_ids)) or set(image_ids) != current:
        raise InvalidCatalogInput(
            "List every image of the product exactly once.", field="image_ids", code="IMAGE_ORDER_INVALID"
        )
    _renumber(product, image_ids)
    return list(ProductImage.objects.filter(product=product).order_by("position", "id"))


# --- categories ---------------------------------------------------------------------------------------


def _slug_used(slug: str, *, exclude_id: int | None) -> bool:
    qs = Category.objects.filter(slug=slug)
    return (qs if exclude_id is None else qs.exclude(pk=exclude_id)).exists()


def _unique_slug(name: str, *, exclude_id: int | None = None) -> str:
    base = slugify(transliterate(name))[:190] or "category"
    slug, n = base, 2
    while _slug_used(slug, exclude_id=exclude_id):
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_slug(slug: str, *, exclude_id: int | None) -> str:
    slug = slug.strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,199}", slug):
        raise InvalidCatalogInput("A slug is Latin letters, digits and dashes.", field="slug", code="SLUG_INVALID")
    if _slug_used(slug, exclude_id=exclude_id):
        raise SlugTaken("Another category has this slug.", field="slug")
    return slug


def _check_parent(category: Category | None, parent: Category | None) -> None:
    """CATEGORY_CYCLE if `parent` is the category itself or one of its descendants."""
    if category is None or parent is None:
        return
    seen: set[int] = set()
    node: Category | None = parent
    while node is not None and node.pk not in seen:
        if node.pk == category.pk:
            raise CategoryCycle("A category cannot sit inside itself or its own sub-category.", field="parent_id")
        seen.add(node.pk)
        node = node.parent


@transaction.atomic
def check_create_category(*, actor: Any, name: str, parent: Category | None = None, slug: str = "") -> Category:
    """A category under `parent` (or at the top); the slug is made from the name unless given."""
    require_catalog_editor(actor)
    name = clean_text(name, field="name", max_length=200, required=True, label="The name")
    slug = _check_slug(slug, exclude_id=None) if slug.strip() else _unique_slug(name)
    return Category.objects.create(name=name, parent=parent, slug=slug)


@transaction.atomic
def check_update_category(*, actor: Any, category: Category, **changes: Any) -> Category:
    """Rename, move (a new `parent`, None for the top; never under itself) or re-slug a category."""
    require_catalog_editor(actor)
    unknown = sorted(set(changes) - {"name", "parent", "slug"})
    if unknown:
        raise InvalidCatalogInput(f"Unknown field {unknown[0]!r}.", field=unknown[0], code="FIELD_UNKNOWN")
    if "name" in changes:
        category.name = clean_text(changes["name"], field="name", max_length=200, required=True, label="The name")
    if "slug" in changes:
        category.slug = _check_slug(str(changes["slug"] or ""), exclude_id=category.pk)
    if "parent" in changes:
        _check_parent(category, changes["parent"])
        category.parent = changes["parent"]
    category.save()
    return category


@transaction.atomic
def check_delete_category(*, actor: Any, category: Category) -> None:
    """Delete an empty category; CATEGORY_IN_USE while it holds products or sub-categories."""
    require_catalog_editor(actor)
    if category.children.exists() or category.products.exists():
        raise CategoryInUse("Move its products and sub-categories elsewhere first.", field="category_id")
    category.delete()


def check_category_path(*, actor: Any, path: Sequence[str]) -> Category | None:
    """The category at `path` ("Декор" › "Гирлянды"), created where missing; names compared case-insensitively."""
    parent: Category | None = None
    for index, raw in enumerate(path):
        name = clean_text(raw, field=f"category[{index}]", max_length=200)
        if not name:
            continue
        wanted = search_key(name)
        siblings = Category.objects.filter(parent=parent)
        found = next((c for c in siblings if search_key(c.name) == wanted), None)
        parent = found or check_create_category(actor=actor, name=name, parent=parent)
    return parent
