from decimal import Decimal

import pytest

from omnia.core.errors import ValidationFailed
from omnia.core.money import Money
from omnia.core.phones import format_phone, normalize_phone


@pytest.mark.parametrize(
    "raw",
    ["8 701 123 45 67", "+7 (701) 123-45-67", "77011234567", "7011234567", "8(701)1234567", " +77011234567 "],
)
def test_kazakh_mobile_numbers_in_any_format_become_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+77011234567"


def test_other_countries_keep_their_code() -> None:
    assert normalize_phone("+48 512 345 678") == "+48512345678"
    assert normalize_phone("79161234567") == "+79161234567"


@pytest.mark.parametrize("raw", ["", "12", "hello", "+7 000 000"])
def test_invalid_phones_are_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_phone(raw, field="contact_phone")

    assert caught.value.field == "contact_phone"


def test_phone_display() -> None:
    assert format_phone("+77011234567") == "+7 701 123 4567"


def test_money_is_decimal_with_a_currency() -> None:
    price = Money(Decimal("4990"), "KZT")

    assert (price * 3).amount == Decimal("14970")
    assert (price + Money(Decimal("10"), "KZT")).amount == Decimal("5000")
    with pytest.raises(ValueError, match="cannot mix"):
        _ = price + Money(Decimal(1), "RUB")
    with pytest.raises(TypeError):
        Money(4990.0, "KZT")  # type: ignore[arg-type]


def test_money_is_formatted_for_the_language() -> None:
    price = Money(Decimal("12990.5"), "KZT").quantized()

    assert price.amount == Decimal("12990.50")
    assert "₸" in price.format("ru")
    assert "12" in price.format("en")


def test_search_keys_fold_cyrillic_case_and_yo() -> None:
    from omnia.core.text import search_key

    assert search_key("Гирлянда  «Нить»", "Ёлочка") == "гирлянда «нить» елочка"
    assert search_key("ҚАЗАҚША") == "қазақша"
