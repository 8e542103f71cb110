"""Catalog changes: products and their translations, variants with SKUs, barcodes and the one price,
promotions, channel prices, images and the category tree. Refused input names the field and changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from omnia.catalog import actions, queries
from omnia.catalog.models import Barcode, Category, ChannelPrice, Product, Variant
from omnia.core import clock
from omnia.core.errors import DomainError
from omnia.core.models import AuditEntry
from omnia.core.permissions import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager() -> Any:
    return make_user(Role.MANAGER)


@pytest.fixture
def product(manager: Any) -> Product:
    return actions.check_create_product(actor=manager, name="Гирлянда «Нить»", brand="Lumen")


def variant_of(product: Product, actor: Any = None, **fields: Any) -> Variant:
    values: dict[str, Any] = {"sku": "GRL-001", "price": "4990"}
    values.update(fields)
    return actions.check_create_variant(actor=actor, product=product, **values)


def refused(code: str, field: str | None = None) -> Any:
    """Context: the call raises a DomainError with this code (and field)."""

    class _Check:
        def __enter__(self) -> None:
            return None

        def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
            assert isinstance(exc, DomainError), f"expected {code}, got {exc!r}"
            assert exc.code == code, (exc.code, exc.message)
            if field is not None:
                assert exc.field == field, exc.field
            return True

    return _Check()


# --- products --------------------------------------------------------------------------------------


def test_a_product_has_texts_in_russian_kazakh_and_english(manager: Any) -> None:
    product = actions.check_create_product(
        actor=manager,
        name="  Гирлянда   «Нить» ",
        translations={"kk": {"name": "Шам «Жіп»", "description": "Жылы ақ"}, "en": {"name": "String lights"}},
    )

    assert product.name == "Гирлянда «Нить»"
    assert product.name_in("kk") == "Шам «Жіп»"
    assert product.description_in("kk") == "Жылы ақ"
    assert product.name_in("en") == "String lights"
    assert list(queries.search_products("string lights")) == [product]
    assert list(queries.search_products("жіп")) == [product]


@pytest.mark.parametrize(
    ("translations", "code", "field"),
    [
        ({"de": {"name": "Lichterkette"}}, "LANGUAGE_UNSUPPORTED", "translations.de"),
        ({"kk": {"description": "Жылы ақ"}}, "NAME_REQUIRED", "translations.kk.name"),
        ({"kk": {"name": "Шам", "title": "x"}}, "TRANSLATION_INVALID", "translations.kk.title"),
        ({"kk": "Шам"}, "TRANSLATION_INVALID", "translations.kk"),
        (["kk"], "TRANSLATION_INVALID", "translations"),
    ],
)
def test_translations_are_ru_kk_en_with_a_name(manager: Any, translations: Any, code: str, field: str) -> None:
    with refused(code, field):
        actions.check_create_product(actor=manager, name="Гирлянда", translations=translations)
    assert Product.objects.count() == 0


def test_a_product_needs_a_name(manager: Any, product: Product) -> None:
    with refused("NAME_REQUIRED", "name"):
        actions.check_create_product(actor=manager, name="   ")
    with refused("NAME_REQUIRED", "name"):
        actions.check_update_product(actor=manager, product=product, name="")
    product.refresh_from_db()
    assert product.name == "Гирлянда «Нить»"


def test_updating_a_product_changes_only_what_is_given(manager: Any, product: Product) -> None:
    actions.check_update_product(actor=manager, product=product, brand="Nordlicht", translations={"en": {"name": "X"}})

    product.refresh_from_db()
    assert (product.name, product.brand, product.translations) == (
        "Гирлянда «Нить»",
        "Nordlicht",
        {"en": {"name": "X"}},
    )
    assert product.updated_at is not None


@pytest.mark.parametrize("role", [Role.CLERK, Role.OPERATOR])
def test_only_a_manager_or_the_owner_changes_the_catalog(role: str, product: Product) -> None:
    someone = make_user(role)
    variant = variant_of(product)

    with refused("CATALOG_FORBIDDEN"):
        actions.check_create_product(actor=someone, name="Свеча")
    with refused("CATALOG_FORBIDDEN"):
        actions.check_update_variant(actor=someone, variant=variant, price="1")
    with refused("CATALOG_FORBIDDEN"):
        actions.do_set_channel_price(actor=someone, variant=variant, channel="kaspi", price="1")

    variant.refresh_from_db()
    assert variant.price == Decimal("4990.00")
    assert Product.objects.count() == 1


def test_deactivating_keeps_the_product(manager: Any, product: Product) -> None:
    actions.do_deactivate_product(actor=manager, product=product)

    product.refresh_from_db()
    assert product.is_active is False


# --- variants, SKUs and barcodes --------------------------------------------------------------------


def test_a_variant_has_a_unique_sku_and_the_shop_currency(manager: Any, product: Product) -> None:
    variant = variant_of(product, manager, barcodes=["4870001000012", "SUP-77"], attributes={"size": "10 м"})

    assert (variant.sku, variant.price, variant.currency) == ("GRL-001", Decimal("4990.00"), "KZT")
    assert variant.attributes == {"size": "10 м"}
    with refused("SKU_TAKEN", "sku"):
        variant_of(product, manager, sku="grl-001")
    assert Variant.objects.count() == 1


def test_barcodes_are_unique_across_variants_and_the_first_is_the_main_one(manager: Any, product: Product) -> None:
    first = variant_of(product, manager, barcodes=["4870001000012", "SUP-77"])

    assert first.barcode == "4870001000012"
    assert list(Barcode.objects.filter(variant=first).values_list("code", flat=True)) == ["4870001000012", "SUP-77"]
    assert queries.find_variant_by_barcode("SUP-77") == first

    with refused("BARCODE_TAKEN", "barcodes[1]"):
        variant_of(product, manager, sku="GRL-002", barcodes=["4870001000029", "SUP-77"])
    assert Variant.objects.count() == 1
    assert Barcode.objects.count() == 2

    actions.check_update_variant(actor=manager, variant=first, barcodes=["SUP-77", "4870001000036"])
    first.refresh_from_db()
    assert first.barcode == "SUP-77"
    assert queries.barcodes_of(queries.get_variant(first.pk)) == ["SUP-77", "4870001000036"]
    assert queries.find_variant_by_barcode("4870001000012") is None


def test_changing_the_sku_to_a_taken_one_changes_nothing(manager: Any, product: Product) -> None:
    variant_of(product, manager)
    other = variant_of(product, manager, sku="GRL-002", price="100")

    with refused("SKU_TAKEN", "sku"):
        actions.check_update_variant(actor=manager, variant=other, sku="GRL-001", price="200")

    other.refresh_from_db()
    assert (other.sku, other.price) == ("GRL-002", Decimal("100.00"))


@pytest.mark.parametrize(
    ("price", "code"),
    [
        ("-1", "PRICE_INVALID"),
        ("12.345", "PRICE_INVALID"),
        ("abc", "PRICE_INVALID"),
        ("", "PRICE_REQUIRED"),
        (None, "PRICE_REQUIRED"),
        (True, "PRICE_INVALID"),
        ("1e20", "PRICE_INVALID"),
        ("NaN", "PRICE_INVALID"),
    ],
)
def test_a_price_is_zero_or_more_with_two_decimals(manager: Any, product: Product, price: Any, code: str) -> None:
    with refused(code, "price"):
        variant_of(product, manager, price=price)
    assert Variant.objects.count() == 0


@pytest.mark.parametrize(("typed", "stored"), [("4 990,50", "4990.50"), (4990, "4990.00"), ("0", "0.00")])
def test_prices_as_spreadsheets_write_them(manager: Any, product: Product, typed: Any, stored: str) -> None:
    assert variant_of(product, manager, price=typed).price == Decimal(stored)


def test_a_price_in_another_currency_is_refused(manager: Any, product: Product) -> None:
    with refused("CURRENCY_INVALID", "currency"):
        variant_of(product, manager, currency="USD")


def test_the_promotional_price_runs_between_its_dates(manager: Any, product: Product) -> None:
    now = clock.now()
    variant = variant_of(
        product, manager, promo_price="3990", promo_starts_at=now - dt.timedelta(days=1),
        promo_ends_at=now + dt.timedelta(days=1),
    )  # fmt: skip

    running = queries.price_now(variant)
    assert (running.price, running.regular_price, running.promo_ends_at) == (
        Decimal("3990.00"), Decimal("4990.00"), variant.promo_ends_at,
    )  # fmt: skip
    later = queries.price_now(variant, at=now + dt.timedelta(days=2))
    assert (later.price, later.promo_ends_at) == (Decimal("4990.00"), None)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"promo_price": "4990"}, "promo_price"),
        ({"promo_price": "5000"}, "promo_price"),
        ({"promo_starts_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, "promo_price"),
        (
            {"promo_price": "100", "promo_starts_at": dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
             "promo_ends_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
            "promo_ends_at",
        ),
    ],
)  # fmt: skip
def test_a_promotion_is_cheaper_and_ends_after_it_starts(
    manager: Any, product: Product, fields: dict[str, Any], field: str
) -> None:
    with refused("PROMO_INVALID", field):
        variant_of(product, manager, **fields)
    assert Variant.objects.count() == 0


def test_lowering_the_price_below_a_running_promotion_is_refused(manager: Any, product: Product) -> None:
    variant = variant_of(product, manager, promo_price="3990")

    with refused("PROMO_INVALID", "promo_price"):
        actions.check_update_variant(actor=manager, variant=variant, price="3000")

    variant.refresh_from_db()
    assert variant.price == Decimal("4990.00")


def test_price_changes_are_audited_with_who_and_what(manager: Any, product: Product) -> None:
    variant = variant_of(product, manager)

    actions.check_update_variant(actor=manager, variant=variant, price="5490", name="10 м")
    actions.check_update_variant(actor=manager, variant=variant, price="5490.00")  # the same price: no entry

    entries = list(AuditEntry.objects.filter(action="catalog.price"))
    assert len(entries) == 1
    assert entries[0].actor == manager
    assert entries[0].changes == {"sku": "GRL-001", "price": ["4990.00", "5490.00"]}


def test_unknown_fields_are_refused(manager: Any, product: Product) -> None:
    variant = variant_of(product, manager)
    with refused("FIELD_UNKNOWN", "colour"):
        actions.check_update_variant(actor=manager, variant=variant, colour="red")


@pytest.mark.parametrize("weight", ["-1", "1.5", "heavy"])
def test_weight_and_dimensions_are_whole_numbers(manager: Any, product: Product, weight: str) -> None:
    with refused("DIMENSION_INVALID", "weight_grams"):
        variant_of(product, manager, weight_grams=weight)


# --- channel prices -----------------------------------------------------------------------------------


def test_a_channel_price_only_when_a_manager_sets_one(manager: Any, product: Product) -> None:
    variant = variant_of(product, manager)

    actions.do_set_channel_price(actor=manager, variant=variant, channel="Kaspi", price="5290")
    variant = queries.get_variant(variant.pk)
    assert queries.price_now(variant, channel="kaspi").price == Decimal("5290.00")
    assert queries.price_now(variant, channel="web").price == Decimal("4990.00")
    assert queries.price_now(variant).price == Decimal("4990.00")

    assert actions.do_remove_channel_price(actor=manager, variant=variant, channel="kaspi") is True
    assert ChannelPrice.objects.count() == 0
    assert actions.do_remove_channel_price(actor=manager, variant=variant, channel="kaspi") is False
    assert AuditEntry.objects.filter(action="catalog.channel_price").count() == 2


def test_a_channel_price_needs_a_channel_code_and_a_valid_price(manager: Any, product: Product) -> None:
    variant = variant_of(product, manager)
    with refused("CHANNEL_INVALID", "channel"):
        actions.do_set_channel_price(actor=manager, variant=variant, channel="Каспи магазин", price="1")
    with refused("PRICE_INVALID", "price"):
        actions.do_set_channel_price(actor=manager, variant=variant, channel="kaspi", price="-5")
    assert ChannelPrice.objects.count() == 0


# --- images -------------------------------------------------------------------------------------------------


def test_images_are_added_in_order_reordered_and_removed(manager: Any, product: Product) -> None:
    a = actions.do_add_image(actor=manager, product=product, url="https://cdn.shop.kz/a.jpg")
    b = actions.do_add_image(actor=manager, product=product, url="https://cdn.shop.kz/b.jpg", alt="сбоку")
    c = actions.do_add_image(actor=manager, product=product, url="https://cdn.shop.kz/c.jpg")

    assert [i.pk for i in actions.do_reorder_images(actor=manager, product=product, image_ids=[c.pk, a.pk, b.pk])] == [
        c.pk, a.pk, b.pk,
    ]  # fmt: skip
    actions.do_remove_image(actor=manager, product=product, image_id=a.pk)
    assert [(i.pk, i.position) for i in product.images.order_by("position")] == [(c.pk, 0), (b.pk, 1)]

    with refused("IMAGE_ORDER_INVALID", "image_ids"):
        actions.do_reorder_images(actor=manager, product=product, image_ids=[b.pk])
    with refused("IMAGE_NOT_FOUND", "image_id"):
        actions.do_remove_image(actor=manager, product=product, image_id=a.pk)
    with refused("URL_INVALID", "url"):
        actions.do_add_image(actor=manager, product=product, url="javascript:alert(1)")


# --- categories ---------------------------------------------------------------------------------------------


def test_categories_form_a_tree_without_cycles(manager: Any) -> None:
    decor = actions.check_create_category(actor=manager, name="Декор")
    lights = actions.check_create_category(actor=manager, name="Гирлянды", parent=decor)
    strings = actions.check_create_category(actor=manager, name="Нити", parent=lights)

    assert decor.slug == "dekor"
    with refused("CATEGORY_CYCLE", "parent_id"):
        actions.check_update_category(actor=manager, category=decor, parent=strings)
    with refused("CATEGORY_CYCLE", "parent_id"):
        actions.check_update_category(actor=manager, category=decor, parent=decor)
    decor.refresh_from_db()
    assert decor.parent is None

    tree = queries.category_tree()
    assert [(n.category.name, [c.category.name for c in n.children]) for n in tree] == [("Декор", ["Гирлянды"])]
    assert queries.category_path(strings) == ["Декор", "Гирлянды", "Нити"]
    assert queries.descendant_ids(decor) == {decor.pk, lights.pk, strings.pk}


def test_a_category_in_use_is_not_deleted(manager: Any) -> None:
    decor = actions.check_create_category(actor=manager, name="Декор")
    actions.check_create_product(actor=manager, name="Свеча", category=decor)

    with refused("CATEGORY_IN_USE", "category_id"):
        actions.check_delete_category(actor=manager, category=decor)
    assert Category.objects.count() == 1


def test_a_category_path_is_found_or_made_once(manager: Any) -> None:
    first = actions.check_category_path(actor=manager, path=["Декор", "Гирлянды"])
    again = actions.check_category_path(actor=manager, path=["декор", " ГИРЛЯНДЫ "])

    assert first == again
    assert Category.objects.count() == 2


def test_slugs_are_unique(manager: Any) -> None:
    actions.check_create_category(actor=manager, name="Декор")
    second = actions.check_create_category(actor=manager, name="Декор")
    assert second.slug == "dekor-2"
    with refused("SLUG_TAKEN", "slug"):
        actions.check_create_category(actor=manager, name="Другое", slug="dekor")


# --- lookups ------------------------------------------------------------------------------------------------


def test_an_unknown_sku_names_the_field(product: Product) -> None:
    with refused("SKU_NOT_FOUND", "lines[0].sku"):
        queries.get_variant_by_sku("NOPE-1", field="lines[0].sku")


def test_skus_are_found_exactly_or_ignoring_case(manager: Any, product: Product) -> None:
    variant = variant_of(product, manager)
    assert queries.get_variant_by_sku(" grl-001 ") == variant
    assert queries.find_variants_by_sku(["GRL-001", "grl-001", "NOPE"]) == {"GRL-001": variant, "grl-001": variant}


def test_search_finds_variants_by_barcode_and_sku_prefix(manager: Any, product: Product) -> None:
    variant = variant_of(product, manager, barcodes=["4870001000012", "SUP-77"])

    assert list(queries.search_products("SUP-77")) == [product]
    assert list(queries.search_products("GRL")) == [product]
    assert list(queries.search_variants("sup-77")) == []  # barcodes match exactly
    assert list(queries.search_variants("SUP-77")) == [variant]
    assert list(queries.search_variants("нить")) == [variant]
