import pytest

from omnia.catalog import queries
from omnia.catalog.models import Product
from omnia.core import clock
from tests.factories import make_variant

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["гирлянда", "ГИРЛЯНДА", "нить", "Гирлянда «Нить»", "GRL-00042", "grl-00042"])
def test_catalog_search_finds_cyrillic_names_in_any_case_and_skus(typed: str) -> None:
    make_variant(name="Гирлянда «Нить» LED 10 м", sku="GRL-00042")
    make_variant(name="Набор бокалов", sku="KIT-00001")

    found = list(queries.search_products(typed))

    assert [p.name for p in found] == ["Гирлянда «Нить» LED 10 м"]


def test_renaming_a_product_updates_what_search_finds() -> None:
    product = Product.objects.create(name="Свеча", created_at=clock.now())
    product.name = "Ёлочная игрушка"
    product.save()

    assert list(queries.search_products("елочная")) == [product]
    assert list(queries.search_products("свеча")) == []
