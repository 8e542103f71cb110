"""Reading a Satu order: amounts as Satu writes them, quantities, the buyer inline or under `client`,
delivery vs self-pickup, and payment options mapped to our methods; shapes it cannot read are refused
with a message naming the order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from omnia.orders.satu.importer import BadPayload, is_pickup, parse_order, payment_method


def payload(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 2000101,
        "date_created": "2026-11-25T10:15:00.123456+00:00",
        "status": "pending",
        "client": {"first_name": "Ерлан", "last_name": "Ахметов", "phone": "+77019876543"},
        "products": [{"sku": "GIR-10", "external_id": "", "quantity": "2", "total_price": "9 980 ₸"}],
        "price": "9 980 ₸",
        "delivery_option": {"id": 1, "name": "Самовывоз", "shipping_service": None},
        "delivery_address": "",
        "payment_option": {"id": 2, "name": "Kaspi Red"},
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        ("4 990 ₸", Decimal("4990")),
        ("1\u00a0999,50 тг.", Decimal("1999.50")),
        ("4,990.00 KZT", Decimal("4990.00")),
        (4990, Decimal("4990")),
        (4990.5, Decimal("4990.5")),
        ("договорная", None),
        (None, None),
    ],
)
def test_amounts_are_read_as_satu_writes_them(price: Any, expected: Decimal | None) -> None:
    order = parse_order(payload(products=[{"sku": "A", "quantity": 1, "total_price": price}], price=price))

    assert order.products[0].total == expected
    assert order.total == expected


def test_the_buyer_comes_from_the_client_when_the_order_has_no_top_level_fields() -> None:
    order = parse_order(payload())

    assert (order.phone, order.name, order.id) == ("+77019876543", "Ерлан Ахметов", 2000101)
    assert order.products[0].quantity == 2
    assert order.created is not None
    assert order.created.isoformat() == "2026-11-25T10:15:00.123456+00:00"
    assert is_pickup(order)


@pytest.mark.parametrize(
    ("name", "service", "pickup"),
    [
        ("Самовывоз", None, True),
        ("Өзі алып кету", None, True),
        ("Доставка курьером", None, False),
        ("Казпочта", "kazpost", False),
    ],
)
def test_delivery_or_self_pickup(name: str, service: str | None, pickup: bool) -> None:
    order = parse_order(payload(delivery_option={"id": 1, "name": name, "shipping_service": service}))

    assert is_pickup(order) is pickup


def test_a_delivery_city_is_the_first_part_of_the_address() -> None:
    order = parse_order(payload(delivery_option={"name": "Курьер"}, delivery_address="Астана, пр. Мангилик Ел 55"))

    assert (order.city, order.address) == ("Астана", "Астана, пр. Мангилик Ел 55")


@pytest.mark.parametrize(
    ("name", "pickup", "method"),
    [
        ("Наличными", False, "cash_on_delivery"),
        ("Наличными", True, "cash_in_store"),
        ("Kaspi Red", False, "kaspi_red"),
        ("Kaspi.kz перевод", False, "kaspi_pay"),
        ("Безналичный расчёт", False, "bank_transfer"),
        ("Оплата картой", False, "card_online"),
        ("Satu Pay", False, "card_online"),
        ("По договорённости", False, None),
    ],
)
def test_payment_options_map_to_our_methods(name: str, pickup: bool, method: str | None) -> None:
    assert payment_method(name, pickup=pickup) == method


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"id": None}, "without id"),
        ({"status": ""}, "no status"),
        ({"products": None}, "`products` is not a list"),
        ({"products": []}, "no products"),
        ({"products": ["GIR-10"]}, "not an object"),
        ({"products": [{"name": "Гирлянда", "quantity": 1}]}, "neither sku nor external_id"),
        ({"products": [{"sku": "GIR-10", "quantity": "1.5"}]}, "quantity '1.5'"),
        ({"products": [{"sku": "GIR-10", "quantity": -1}]}, "quantity -1"),
    ],
)
def test_a_shape_it_cannot_read_is_refused_naming_the_order(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(BadPayload, match=message):
        parse_order(payload(**overrides))
