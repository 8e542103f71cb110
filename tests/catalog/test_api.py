"""The catalog API contract: products with variants, prices, promotions, channel prices, images and
categories; refused input names the field and changes nothing; only managers and owners change it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from omnia.catalog.models import Barcode, Category, Product, Variant
from omnia.core.models import AuditEntry
from omnia.core.permissions import Role
from tests.factories import make_token

pytestmark = pytest.mark.django_db

PRODUCT_KEYS = {
    "id", "name", "description", "brand", "category", "category_id", "translations", "external_id", "is_active",
    "created_at", "updated_at", "images", "variants",
}  # fmt: skip
VARIANT_KEYS = {
    "id", "product_id", "sku", "barcode", "barcodes", "name", "attributes", "price", "currency", "promo_price",
    "promo_starts_at", "promo_ends_at", "price_now", "channel_prices", "weight_grams", "length_mm", "width_mm",
    "height_mm", "is_active",
}  # fmt: skip


def call(client: Client, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return getattr(client, method)(f"/api/v1{path}", content_type="application/json", **headers, **kwargs)


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field, body


@pytest.fixture
def token() -> str:
    return make_token(role=Role.MANAGER, scopes=["stock:write"])


GARLAND = {
    "name": "Гирлянда «Нить»",
    "brand": "Lumen",
    "description": "Тёплый белый свет",
    "translations": {"kk": {"name": "Шам «Жіп»"}, "en": {"name": "String lights", "description": "Warm white"}},
    "external_id": "1C-000123",
    "variants": [
        {"sku": "GRL-10", "price": "4990", "barcodes": ["4870001000012", "SUP-77"], "name": "10 м",
         "attributes": {"length": "10 м"}, "weight_grams": 350},
        {"sku": "GRL-20", "price": 7990.5, "promo_price": "6990", "name": "20 м"},
    ],
}  # fmt: skip


def create(client: Client, token: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    response = call(client, "post", "/products", token, data=data or GARLAND)
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_a_product_is_created_with_its_variants(client: Client, token: str) -> None:
    product = create(client, token)

    assert set(product) == PRODUCT_KEYS
    assert (product["name"], product["brand"], product["external_id"]) == ("Гирлянда «Нить»", "Lumen", "1C-000123")
    assert product["translations"]["en"] == {"name": "String lights", "description": "Warm white"}
    assert [set(v) for v in product["variants"]] == [VARIANT_KEYS, VARIANT_KEYS]
    first, second = product["variants"]
    assert (first["sku"], first["price"], first["currency"], first["price_now"]) == ("GRL-10", "4990.00", "KZT",
                                                                                    "4990.00")  # fmt: skip
    assert (first["barcode"], first["barcodes"]) == ("4870001000012", ["4870001000012", "SUP-77"])
    assert (first["attributes"], first["weight_grams"]) == ({"length": "10 м"}, 350)
    assert (second["price"], second["promo_price"], second["price_now"]) == ("7990.50", "6990.00", "6990.00")


def test_a_refused_variant_names_its_place_and_nothing_is_created(client: Client, token: str) -> None:
    data = {**GARLAND, "variants": [GARLAND["variants"][0], {**GARLAND["variants"][1], "sku": "grl-10"}]}

    assert_error(call(client, "post", "/products", token, data=data), 409, "SKU_TAKEN", "variants[1].sku")
    assert (Product.objects.count(), Variant.objects.count(), Barcode.objects.count()) == (0, 0, 0)


@pytest.mark.parametrize(
    ("variant", "status", "code", "field"),
    [
        ({"sku": "GRL-10", "price": "1"}, 409, "SKU_TAKEN", "sku"),
        ({"sku": "X-1", "price": "1", "barcodes": ["SUP-77"]}, 409, "BARCODE_TAKEN", "barcodes[0]"),
        ({"sku": "X-1", "price": "-1"}, 422, "PRICE_INVALID", "price"),
        ({"sku": "X-1", "price": "1.999"}, 422, "PRICE_INVALID", "price"),
        ({"sku": "X-1"}, 422, "VALIDATION_FAILED", "price"),
        ({"sku": "X-1", "price": "100", "promo_price": "100"}, 422, "PROMO_INVALID", "promo_price"),
        ({"sku": "X-1", "price": "100", "promo_price": "50", "promo_starts_at": "2031-02-01T00:00:00+05:00",
          "promo_ends_at": "2031-01-01T00:00:00+05:00"}, 422, "PROMO_INVALID", "promo_ends_at"),
        ({"sku": "X-1", "price": "100", "currency": "USD"}, 422, "CURRENCY_INVALID", "currency"),
        ({"sku": " ", "price": "100"}, 422, "SKU_REQUIRED", "sku"),
    ],
)  # fmt: skip
def test_a_bad_variant_names_the_field_and_changes_nothing(
    client: Client, token: str, variant: dict[str, Any], status: int, code: str, field: str
) -> None:
    product = create(client, token)

    response = call(client, "post", f"/products/{product['id']}/variants", token, data=variant)

    assert_error(response, status, code, field)
    assert Variant.objects.count() == 2


def test_a_variant_is_added_found_and_changed(client: Client, token: str) -> None:
    product = create(client, token)

    added = call(client, "post", f"/products/{product['id']}/variants", token,
                 data={"sku": "GRL-30", "price": "9990", "barcodes": ["4870001000029"]})  # fmt: skip
    assert added.status_code == 201, added.content
    variant_id = added.json()["id"]

    by_sku = call(client, "get", "/variants?sku=grl-30", token).json()["items"]
    by_barcode = call(client, "get", "/variants?barcode=SUP-77", token).json()["items"]
    assert [v["id"] for v in by_sku] == [variant_id]
    assert [v["sku"] for v in by_barcode] == ["GRL-10"]

    patch = {"price": "8990", "promo_price": "7990", "barcodes": ["4870001000036", "4870001000029"]}
    changed = call(client, "patch", f"/variants/{variant_id}", token, data=patch)
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert (body["price"], body["promo_price"], body["price_now"]) == ("8990.00", "7990.00", "7990.00")
    assert (body["barcode"], body["barcodes"]) == ("4870001000036", ["4870001000036", "4870001000029"])
    entry = AuditEntry.objects.get(action="catalog.price")
    assert entry.changes["price"] == ["9990.00", "8990.00"]

    cleared = call(client, "patch", f"/variants/{variant_id}", token, data={"promo_price": None}).json()
    assert (cleared["promo_price"], cleared["price_now"]) == (None, "8990.00")

    too_low = call(client, "patch", f"/variants/{variant_id}", token, data={"promo_price": "9000"})
    assert_error(too_low, 422, "PROMO_INVALID", "promo_price")
    assert_error(call(client, "patch", f"/variants/{variant_id}", token, data={"price": None}), 422,
                 "VALIDATION_FAILED", "price")  # fmt: skip
    taken = call(client, "patch", f"/variants/{variant_id}", token, data={"barcodes": ["SUP-77"]})
    assert_error(taken, 409, "BARCODE_TAKEN", "barcodes[0]")
    assert call(client, "get", f"/variants/{variant_id}", token).json()["barcodes"] == [
        "4870001000036", "4870001000029",
    ]  # fmt: skip
    off = call(client, "post", f"/variants/{variant_id}/deactivate", token).json()
    assert off["is_active"] is False


def test_a_channel_price_is_set_and_removed(client: Client, token: str) -> None:
    variant_id = create(client, token)["variants"][0]["id"]

    set_price = call(client, "put", f"/variants/{variant_id}/channel-prices/kaspi", token, data={"price": "5290"})
    assert set_price.status_code == 200, set_price.content
    assert set_price.json() == {"channel": "kaspi", "price": "5290.00"}
    variant = call(client, "get", f"/variants/{variant_id}", token).json()
    assert (variant["channel_prices"], variant["price_now"]) == ([{"channel": "kaspi", "price": "5290.00"}], "4990.00")

    assert call(client, "delete", f"/variants/{variant_id}/channel-prices/kaspi", token).status_code == 204
    assert call(client, "get", f"/variants/{variant_id}", token).json()["channel_prices"] == []
    assert_error(call(client, "put", f"/variants/{variant_id}/channel-prices/kaspi", token, data={"price": "-1"}), 422,
                 "PRICE_INVALID", "price")  # fmt: skip


def test_products_are_searched_filtered_and_paginated(client: Client, token: str) -> None:
    decor = call(client, "post", "/categories", token, data={"name": "Декор"}).json()
    lights = call(client, "post", "/categories", token, data={"name": "Гирлянды", "parent_id": decor["id"]}).json()
    garland = create(client, token, {**GARLAND, "category_id": lights["id"]})
    candle = create(client, token, {"name": "Свеча", "brand": "Nord", "variants": [{"sku": "CND-1", "price": "990"}]})

    def ids(query: str) -> list[int]:
        response = call(client, "get", f"/products{query}", token)
        assert response.status_code == 200, response.content
        return [p["id"] for p in response.json()["items"]]

    assert ids("?q=string lights") == [garland["id"]]
    assert ids("?q=SUP-77") == [garland["id"]]
    assert ids("?q=cnd") == [candle["id"]]
    assert ids(f"?category_id={decor['id']}") == [garland["id"]]
    assert ids("?brand=nord") == [candle["id"]]
    first = call(client, "get", "/products?limit=1", token).json()
    assert [p["id"] for p in first["items"]] == [garland["id"]]
    assert [
        p["id"] for p in call(client, "get", f"/products?limit=1&cursor={first['next']}", token).json()["items"]
    ] == [candle["id"]]
    assert_error(call(client, "get", "/products?category_id=999999", token), 404, "CATEGORY_NOT_FOUND", "category_id")


def test_a_product_is_changed_and_refused_input_names_the_field(client: Client, token: str) -> None:
    product = create(client, token)

    changed = call(client, "patch", f"/products/{product['id']}", token,
                   data={"brand": "Nordlicht", "translations": {"kk": {"name": "Жіп"}}})  # fmt: skip
    assert changed.status_code == 200, changed.content
    assert (changed.json()["brand"], changed.json()["translations"]) == ("Nordlicht", {"kk": {"name": "Жіп"}})

    for data, code, field in [
        ({"translations": {"de": {"name": "Lichterkette"}}}, "LANGUAGE_UNSUPPORTED", "translations.de"),
        ({"translations": {"en": {"description": "only"}}}, "NAME_REQUIRED", "translations.en.name"),
        ({"name": "  "}, "NAME_REQUIRED", "name"),
    ]:
        assert_error(call(client, "patch", f"/products/{product['id']}", token, data=data), 422, code, field)
    assert Product.objects.get().translations == {"kk": {"name": "Жіп"}}
    assert_error(call(client, "get", "/products/999999", token), 404, "PRODUCT_NOT_FOUND", "product_id")
    off = call(client, "post", f"/products/{product['id']}/deactivate", token).json()
    assert off["is_active"] is False


def test_images_are_added_reordered_and_removed(client: Client, token: str) -> None:
    product = create(client, token)
    path = f"/products/{product['id']}/images"
    a = call(client, "post", path, token, data={"url": "https://cdn.shop.kz/a.jpg"}).json()
    b = call(client, "post", path, token, data={"url": "https://cdn.shop.kz/b.jpg", "alt": "сбоку"}).json()

    ordered = call(client, "put", f"{path}/order", token, data={"image_ids": [b["id"], a["id"]]})
    assert [(i["id"], i["position"]) for i in ordered.json()] == [(b["id"], 0), (a["id"], 1)]
    assert call(client, "delete", f"{path}/{b['id']}", token).status_code == 204
    assert [i["id"] for i in call(client, "get", f"/products/{product['id']}", token).json()["images"]] == [a["id"]]
    assert_error(call(client, "post", path, token, data={"url": "ftp://x"}), 422, "URL_INVALID", "url")
    assert_error(call(client, "delete", f"{path}/{b['id']}", token), 404, "IMAGE_NOT_FOUND", "image_id")


def test_categories_form_a_tree(client: Client, token: str) -> None:
    decor = call(client, "post", "/categories", token, data={"name": "Декор"}).json()
    lights = call(client, "post", "/categories", token, data={"name": "Гирлянды", "parent_id": decor["id"]}).json()
    assert set(lights) == {"id", "name", "slug", "parent_id", "path"}
    assert (lights["slug"], lights["path"]) == ("girlyandy", ["Декор", "Гирлянды"])

    assert_error(call(client, "patch", f"/categories/{decor['id']}", token, data={"parent_id": lights["id"]}), 422,
                 "CATEGORY_CYCLE", "parent_id")  # fmt: skip
    moved = call(client, "patch", f"/categories/{lights['id']}", token, data={"parent_id": None, "name": "Свет"})
    assert (moved.json()["parent_id"], moved.json()["path"]) == (None, ["Свет"])
    create(client, token, {"name": "Свеча", "category_id": decor["id"]})
    assert_error(call(client, "delete", f"/categories/{decor['id']}", token), 409, "CATEGORY_IN_USE")
    assert call(client, "delete", f"/categories/{lights['id']}", token).status_code == 204
    assert [c["name"] for c in call(client, "get", "/categories", token).json()] == ["Декор"]
    assert Category.objects.count() == 1


def test_only_managers_and_owners_change_the_catalog(client: Client, token: str) -> None:
    product = create(client, token)
    operator = make_token(role=Role.OPERATOR, scopes=["stock:write"])
    reader = make_token(role=Role.MANAGER, scopes=["stock:read"])

    assert call(client, "get", "/products", operator).status_code == 200
    assert_error(call(client, "post", "/products", operator, data=GARLAND), 403, "CATALOG_FORBIDDEN")
    assert_error(call(client, "patch", f"/variants/{product['variants'][0]['id']}", operator, data={"price": "1"}), 403,
                 "CATALOG_FORBIDDEN")  # fmt: skip
    assert_error(call(client, "post", "/categories", reader, data={"name": "X"}), 403, "SCOPE_MISSING")
    assert Variant.objects.get(sku="GRL-10").price == 4990
