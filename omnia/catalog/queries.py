"""Reading the catalog: lookups that name the field at fault when nothing is found, search, the tree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Lower

from omnia.catalog.errors import (
    BarcodeNotFound,
    CategoryNotFound,
    ImportNotFound,
    ProductNotFound,
    SkuNotFound,
    VariantNotFound,
)
from omnia.catalog.models import Barcode, Category, ChannelPrice, ImportJob, Product, ProductImage, Variant
from omnia.core import clock
from omnia.core.text import search_key


def _variants() -> QuerySet[Variant]:
    return Variant.objects.order_by("sku").prefetch_related(
        Prefetch("barcodes", queryset=Barcode.objects.order_by("id")), "channel_prices"
    )


def _products() -> QuerySet[Product]:
    return Product.objects.select_related("category").prefetch_related(
        Prefetch("variants", queryset=_variants()),
        Prefetch("images", queryset=ProductImage.objects.order_by("position", "id")),
    )


def search_products(text: str = "") -> QuerySet[Product]:
    """Products whose name (in any language) or brand contains `text`, or with a variant whose SKU starts
    with it or whose barcode is it (case-insensitive). Variants, barcodes and images come prefetched."""
    qs = _products()
    text = text.strip()
    if not text:
        return qs
    # A scanned barcode or a whole SKU is that product alone: indexed lookups, no scan.
    exact = set(Barcode.objects.filter(code=text).values_list("variant__product_id", flat=True))
    exact |= set(Variant.objects.filter(Q(barcode=text) | Q(sku=text)).values_list("product_id", flat=True))
    if exact:
        return qs.filter(pk__in=exact)
    # Otherwise names (any language) and brands containing the words, and SKUs starting with the text:
    # two single-table reads, no join to multiply rows (so no DISTINCT over the catalog).
    by_sku = Variant.objects.filter(sku__istartswith=text).values_list("product_id", flat=True)[:500]
    return qs.filter(Q(search_text__contains=search_key(text)) | Q(pk__in=set(by_sku)))


def list_products(
    q: str = "", *, category_id: int | None = None, brand: str = "", active: bool | None = None
) -> QuerySet[Product]:
    """Search plus filters: a category (and everything under it), a brand, on sale or not."""
    qs = search_products(q)
    if category_id is not None:
        qs = qs.filter(category_id__in=descendant_ids(get_category(category_id)))
    if brand.strip():
        qs = qs.filter(brand__iexact=brand.strip())
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def get_product(product_id: int, *, field: str = "product_id") -> Product:
    product = _products().filter(pk=product_id).first()
    if product is None:
        raise ProductNotFound(f"No product #{product_id}.", field=field)
    return product


def get_variant(variant_id: int, *, field: str = "variant_id") -> Variant:
    variant = _variants().select_related("product").filter(pk=variant_id).first()
    if variant is None:
        raise VariantNotFound(f"No variant #{variant_id}.", field=field)
    return variant


def find_variant_by_sku(sku: str) -> Variant | None:
    """The variant with this SKU (exactly, else ignoring case), or None."""
    sku = str(sku or "").strip()
    if not sku:
        return None
    qs = _variants().select_related("product")
    return qs.filter(sku=sku).first() or qs.filter(sku__iexact=sku).first()


def get_variant_by_sku(sku: str, *, field: str = "sku") -> Variant:
    """The variant with this SKU; SKU_NOT_FOUND naming `field` otherwise."""
    variant = find_variant_by_sku(sku)
    if variant is None:
        raise SkuNotFound(f"No variant has the SKU {str(sku or '').strip()!r}.", field=field)
    return variant


def find_variants_by_sku(skus: Iterable[str], *, related: bool = True) -> dict[str, Variant]:
    """{sku as asked: variant} for the SKUs that exist: exact match, then ignoring case (two queries).
    `related=False`: the variants alone, without their product, barcodes and channel prices (placing an
    order or moving stock needs none of them)."""
    wanted = {str(s or "").strip() for s in skus} - {""}
    qs = _variants().select_related("product") if related else Variant.objects.order_by("sku")
    found: dict[str, Variant] = {v.sku: v for v in qs.filter(sku__in=wanted)}
    missing = {sku.lower(): sku for sku in wanted - set(found)}
    if missing:
        for variant in qs.annotate(sku_folded=Lower("sku")).filter(sku_folded__in=list(missing)):
            asked = missing.get(variant.sku.lower())
            if asked is not None:
                found.setdefault(asked, variant)
    return found


def find_variant_by_barcode(code: str) -> Variant | None:
    """The variant scanned by `code` (any of its barcodes), or None."""
    code = "".join(str(code or "").split())
    if not code:
        return None
    qs = _variants().select_related("product")
    return qs.filter(barcodes__code=code).first() or qs.filter(barcode=code).first()


def get_variant_by_barcode(code: str, *, field: str = "barcode") -> Variant:
    variant = find_variant_by_barcode(code)
    if variant is None:
        raise BarcodeNotFound(f"No variant has the barcode {code!r}.", field=field)
    return variant


def search_variants(text: str = "") -> QuerySet[Variant]:
    """Variants whose product name (any language) or brand, variant name, SKU or barcode matches `text`."""
    qs = _variants().select_related("product", "product__category")
    text = text.strip()
    if text:
        qs = qs.filter(
            Q(product__search_text__contains=search_key(text))
            | Q(name__icontains=text)
            | Q(sku__istartswith=text)
            | Q(barcode=text)
            | Q(barcodes__code=text)
        ).distinct()
    return qs


def list_variants(
    q: str = "", *, sku: str = "", barcode: str = "", product_id: int | None = None, active: bool | None = None
) -> QuerySet[Variant]:
    qs = search_variants(q)
    if sku.strip():
        qs = qs.filter(Q(sku=sku.strip()) | Q(sku__iexact=sku.strip()))
    if barcode.strip():
        code = "".join(barcode.split())
        qs = qs.filter(Q(barcodes__code=code) | Q(barcode=code)).distinct()
    if product_id is not None:
        qs = qs.filter(product_id=product_id)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def barcodes_of(variant: Variant) -> list[str]:
    """The variant's barcodes, the main one first."""
    codes = [b.code for b in variant.barcodes.all()]
    if variant.barcode and variant.barcode in codes:
        codes.remove(variant.barcode)
        codes.insert(0, variant.barcode)
    elif variant.barcode:
        codes.insert(0, variant.barcode)
    return codes


# --- prices --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceNow:
    """What a customer pays now, and what it is when no promotion runs."""

    price: Decimal
    regular_price: Decimal
    currency: str
    promo_ends_at: dt.datetime | None  # set while a promotion runs


def price_now(variant: Variant, *, channel: str = "", at: dt.datetime | None = None) -> PriceNow:
    """The price at `at` (now): the channel's own price if a manager set one, else the promotional price
    while the promotion runs, else the price."""
    at = at or clock.now()
    if channel:
        own = next((cp for cp in variant.channel_prices.all() if cp.channel == channel), None)
        if own is not None:
            return PriceNow(price=own.price, regular_price=own.price, currency=variant.currency, promo_ends_at=None)
    current = variant.price_at(at)
    running = variant.promo_price is not None and current == variant.promo_price and current != variant.price
    return PriceNow(
        price=current,
        regular_price=variant.price,
        currency=variant.currency,
        promo_ends_at=variant.promo_ends_at if running else None,
    )


def channel_prices(variant: Variant) -> list[ChannelPrice]:
    return sorted(variant.channel_prices.all(), key=lambda cp: cp.channel)


# --- categories ----------------------------------------------------------------------------------------


def get_category(category_id: int, *, field: str = "category_id") -> Category:
    category = Category.objects.select_related("parent").filter(pk=category_id).first()
    if category is None:
        raise CategoryNotFound(f"No category #{category_id}.", field=field)
    return category


def list_categories() -> list[Category]:
    return list(Category.objects.order_by("name", "id"))


@dataclass
class CategoryNode:
    category: Category
    path: list[str]
    children: list[CategoryNode] = field(default_factory=list)


def category_tree() -> list[CategoryNode]:
    """The categories as a tree, each level by name (one query)."""
    categories = list_categories()
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)

    def build(parent_id: int | None, path: list[str], seen: frozenset[int]) -> list[CategoryNode]:
        nodes = []
        for category in children.get(parent_id, []):
            if category.pk in seen:  # pragma: no cover - the actions never make a cycle
                continue
            here = [*path, category.name]
            nodes.append(CategoryNode(category, here, build(category.pk, here, seen | {category.pk})))
        return nodes

    return build(None, [], frozenset())


def category_paths() -> dict[int, list[str]]:
    """{category_id: names from the top down} for every category (one query)."""
    by_id = {c.pk: c for c in list_categories()}
    paths: dict[int, list[str]] = {}
    for category_id in by_id:
        names: list[str] = []
        node: Category | None = by_id[category_id]
        seen: set[int] = set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            names.append(node.name)
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
        paths[category_id] = names[::-1]
    return paths


def category_path(category: Category | None) -> list[str]:
    """Names from the top down to `category`."""
    if category is None:
        return []
    return category_paths().get(category.pk, [category.name])


def descendant_ids(category: Category) -> set[int]:
    """The category and everything under it."""
    parents = dict(Category.objects.values_list("pk", "parent_id"))
    found = {category.pk}
    grew = True
    while grew:
        grew = False
        for pk, parent_id in parents.items():
            if parent_id in found and pk not in found:
                found.add(pk)
                grew = True
    return found


# --- imports ------------------------------------------------------------------------------------------------


def get_import_job(job_id: int, *, field: str = "job_id") -> ImportJob:
    job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None:
        raise ImportNotFound(f"No catalog import #{job_id}.", field=field)
    return job


def list_import_jobs() -> QuerySet[ImportJob]:
    return ImportJob.objects.select_related("created_by").order_by("-id")
