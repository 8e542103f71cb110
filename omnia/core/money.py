"""Money is a Decimal amount with an ISO 4217 currency; never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision
from django.conf import settings
from django.utils.translation import get_language


def default_currency() -> str:
    return str(settings.OMNIA_CURRENCY)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money.amount must be a Decimal")
        if len(self.currency) != 3:
            raise ValueError(f"bad currency code {self.currency!r}")

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str | None = None) -> Money:
        return cls(Decimal(amount), currency or default_currency())

    def quantized(self) -> Money:
        places = Decimal(1).scaleb(-get_currency_precision(self.currency))
        return Money(self.amount.quantize(places, rounding=ROUND_HALF_UP), self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        return Money(self.amount * factor, self.currency)

    def format(self, locale: str | None = None) -> str:
        """Localised text such as '12 990 ₸' (ru) or 'KZT 12,990.00' (en)."""
        return format_money(self.amount, self.currency, locale=locale)


@lru_cache(maxsize=64)
def _babel_locale(language: str, region: str) -> Locale:
    """'ru' in Kazakhstan is ru_KZ (so tenge shows as ₸); fall back to the bare language."""
    try:
        return Locale.parse(f"{language}_{region}")
    except (UnknownLocaleError, ValueError):
        return Locale.parse(language)


def format_money(amount: Decimal, currency: str, *, locale: str | None = None) -> str:
    lang = (locale or get_language() or "ru").replace("-", "_").split("_")[0]
    return format_currency(amount, currency, locale=_babel_locale(lang, str(settings.OMNIA_REGION)))
