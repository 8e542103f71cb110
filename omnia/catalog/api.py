"""The catalog over REST: products (ru/kk/en texts, brand, category, images), variants (SKU, barcodes,
attributes, weight and size), the one price with its promotion, channel prices and the category tree.

Reads need `stock:read`; changes `stock:write` and the manager or owner role (CATALOG_FORBIDDEN
otherwise). Errors use the common shape: SKU_TAKEN / BARCODE_TAKEN → 409, PRICE_INVALID /
PROMO_INVALID / NAME_REQUIRED → 422, *_NOT_FOUND → 404, each naming the field.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from omnia.catalog import actions, queries
from omnia.catalog.schemas import (
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    ChannelPriceIn,
    ChannelPriceOut,
    ImageIn,
    ImageOrderIn,
    ImageOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    VariantIn,
    VariantOut,
    VariantPatch,
    sent_fields,
)
from omnia.core.pagination import Page, paginate
from omnia.core.permissions import Section, actor_of, authorize

router = Router(tags=["catalog"])


def _product(product_id: int) -> ProductOut:
    return ProductOut.of(queries.get_product(product_id))


def _variant(variant_id: int) -> VariantOut:
    return VariantOut.of(queries.get_variant(variant_id))


# --- products --------------------------------------------------------------------------------------------


@router.get(
    "/products",
    response=Page[ProductOut],
    summary="Products with their variants and prices",
    description=(
        "`q` finds a name in any language, a brand, an SKU (or its beginning) or a barcode. `category_id` "
        "includes its sub-categories. Ordered by id (keyset pages)."
    ),
)
def list_products(
    request: HttpRequest,
    q: str = "",
    category_id: int | None = None,
    brand: str = "",
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = Query(50),
) -> dict[str, object]:
    authorize(actor_of(request), Section.STOCK)
    products = queries.list_products(q, category_id=category_id, brand=brand, active=active)
    return paginate(products, cursor=cursor, limit=limit, serialize=ProductOut.of, newest_first=False)


@router.post(
    "/products",
    response={201: ProductOut},
    summary="Create a product, optionally with its variants",
    description="A refused variant names its place (`variants[1].sku`) and nothing is created.",
)
def create_product(request: HttpRequest, payload: ProductIn) -> Status[ProductOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    category = queries.get_category(payload.category_id) if payload.category_id is not None else None
    product = actions.check_create_product(
        actor=actor, name=payload.name, description=payload.description, brand=payload.brand, category=category,
        translations=payload.translation_values(), external_id=payload.external_id, is_active=payload.is_active,
        variants=[v.model_dump() for v in payload.variants],
    )  # fmt: skip
    return Status(201, _product(product.pk))


@router.get("/products/{product_id}", response=ProductOut, summary="A product with its variants and images")
def get_product(request: HttpRequest, product_id: int) -> ProductOut:
    authorize(actor_of(request), Section.STOCK)
    return _product(product_id)


@router.patch("/products/{product_id}", response=ProductOut, summary="Change the fields sent")
def update_product(request: HttpRequest, product_id: int, payload: ProductPatch) -> ProductOut:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    product = queries.get_product(product_id)
    changes = sent_fields(payload, nullable={"category_id"})
    if "category_id" in changes:
        category_id = changes.pop("category_id")
        changes["category"] = queries.get_category(category_id) if category_id is not None else None
    if payload.translations is not None:
        changes["translations"] = {lang: t.model_dump() for lang, t in payload.translations.items()}
    actions.check_update_product(actor=actor, product=product, **changes)
    return _product(product_id)


@router.post(
    "/products/{product_id}/deactivate",
    response=ProductOut,
    summary="Take a product off sale (it stays, with its stock history); PATCH is_active=true brings it back",
)
def deactivate_product(request: HttpRequest, product_id: int) -> ProductOut:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    actions.do_deactivate_product(actor=actor, product=queries.get_product(product_id))
    return _product(product_id)


# --- images ---------------------------------------------------------------------------------------------------


@router.post("/products/{product_id}/images", response={201: ImageOut}, summary="Add an image after the others")
def add_image(request: HttpRequest, product_id: int, payload: ImageIn) -> Status[ImageOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    image = actions.do_add_image(actor=actor, product=queries.get_product(product_id), url=payload.url, alt=payload.alt)
    return Status(201, ImageOut.of(image))


@router.put(
    "/products/{product_id}/images/order",
    response=list[ImageOut],
    summary="Put the images in this order (the first is the main one)",
)
def reorder_images(request: HttpRequest, product_id: int, payload: ImageOrderIn) -> list[ImageOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    images = actions.do_reorder_images(
        actor=actor, product=queries.get_product(product_id), image_ids=payload.image_ids
    )
    return [ImageOut.of(i) for i in images]


@router.delete("/products/{product_id}/images/{image_id}", response={204: None}, summary="Remove an image")
def remove_image(request: HttpRequest, product_id: int, image_id: int) -> Status[None]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    actions.do_remove_image(actor=actor, product=queries.get_product(product_id), image_id=image_id)
    return Status(204, None)


# --- variants -------------------------------------------------------------------------------------------------


@router.get(
    "/variants",
    response=Page[VariantOut],
    summary="Variants: search, or look one up by SKU or barcode",
    description="`q` as for products; `sku` matches exactly (ignoring case); `barcode` any of a variant's barcodes.",
)
def list_variants(
    request: HttpRequest,
    q: str = "",
    sku: str = "",
    barcode: str = "",
    product_id: int | None = None,
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = Query(50),
) -> dict[str, object]:
    authorize(actor_of(request), Section.STOCK)
    variants = queries.list_variants(q, sku=sku, barcode=barcode, product_id=product_id, active=active)
    return paginate(variants, cursor=cursor, limit=limit, serialize=VariantOut.of, newest_first=False)


@router.post(
    "/products/{product_id}/variants",
    response={201: VariantOut},
    summary="Add a variant: a unique SKU, its barcodes and the price",
    description="409 SKU_TAKEN / BARCODE_TAKEN (naming barcodes[i]) when another variant has them.",
)
def create_variant(request: HttpRequest, product_id: int, payload: VariantIn) -> Status[VariantOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    variant = actions.check_create_variant(actor=actor, product=queries.get_product(product_id), **payload.model_dump())
    return Status(201, _variant(variant.pk))


@router.get("/variants/{variant_id}", response=VariantOut, summary="One variant")
def get_variant(request: HttpRequest, variant_id: int) -> VariantOut:
    authorize(actor_of(request), Section.STOCK)
    return _variant(variant_id)


@router.patch(
    "/variants/{variant_id}",
    response=VariantOut,
    summary="Change the fields sent; price changes are written to the audit log",
    description="The promotion is checked as it stands after the change: below the price, ending after it starts.",
)
def update_variant(request: HttpRequest, variant_id: int, payload: VariantPatch) -> VariantOut:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    actions.check_update_variant(actor=actor, variant=queries.get_variant(variant_id), **payload.changes())
    return _variant(variant_id)


@router.post("/variants/{variant_id}/deactivate", response=VariantOut, summary="Take a variant off sale")
def deactivate_variant(request: HttpRequest, variant_id: int) -> VariantOut:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    actions.do_deactivate_variant(actor=actor, variant=queries.get_variant(variant_id))
    return _variant(variant_id)


@router.put(
    "/variants/{variant_id}/channel-prices/{channel}",
    response=ChannelPriceOut,
    summary="Set a price for one sales channel only (kaspi, satu, web…); elsewhere the one price",
)
def set_channel_price(request: HttpRequest, variant_id: int, channel: str, payload: ChannelPriceIn) -> ChannelPriceOut:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    price = actions.do_set_channel_price(
        actor=actor, variant=queries.get_variant(variant_id), channel=channel, price=payload.price
    )
    return ChannelPriceOut.of(price)


@router.delete(
    "/variants/{variant_id}/channel-prices/{channel}",
    response={204: None},
    summary="The channel sells at the one price again",
)
def remove_channel_price(request: HttpRequest, variant_id: int, channel: str) -> Status[None]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    actions.do_remove_channel_price(actor=actor, variant=queries.get_variant(variant_id), channel=channel)
    return Status(204, None)


# --- categories -----------------------------------------------------------------------------------------------


@router.get("/categories", response=list[CategoryOut], summary="Every category with its path from the top")
def list_categories(request: HttpRequest) -> list[CategoryOut]:
    authorize(actor_of(request), Section.STOCK)
    paths = queries.category_paths()
    return [CategoryOut.of(c, paths.get(c.pk, [c.name])) for c in queries.list_categories()]


@router.post("/categories", response={201: CategoryOut}, summary="Create a category (under `parent_id`)")
def create_category(request: HttpRequest, payload: CategoryIn) -> Status[CategoryOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    parent = queries.get_category(payload.parent_id, field="parent_id") if payload.parent_id is not None else None
    category = actions.check_create_category(actor=actor, name=payload.name, parent=parent, slug=payload.slug)
    return Status(201, CategoryOut.of(category, queries.category_path(category)))


@router.patch(
    "/categories/{category_id}",
    response=CategoryOut,
    summary="Rename or move a category (never under itself: 422 CATEGORY_CYCLE)",
)
def update_category(request: HttpRequest, category_id: int, payload: CategoryPatch) -> CategoryOut:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    category = queries.get_category(category_id)
    changes = sent_fields(payload, nullable={"parent_id"})
    if "parent_id" in changes:
        parent_id = changes.pop("parent_id")
        changes["parent"] = queries.get_category(parent_id, field="parent_id") if parent_id is not None else None
    category = actions.check_update_category(actor=actor, category=category, **changes)
    return CategoryOut.of(category, queries.category_path(category))


@router.delete(
    "/categories/{category_id}",
    response={204: None},
    summary="Delete an empty category (409 CATEGORY_IN_USE while it has products or sub-categories)",
)
def delete_category(request: HttpRequest, category_id: int) -> Status[None]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    actions.check_delete_category(actor=actor, category=queries.get_category(category_id))
    return Status(204, None)
