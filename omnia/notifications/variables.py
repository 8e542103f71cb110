"""The {{variables}} a notification text may use: the allow-list per event, and how each is read from the
snapshot a notification keeps (Notification.context) and written out in the customer's language.

The syntax is the canned responses' one ({{customer.first_name}}, see conversations.queries_canned): a
name in double braces, nothing else evaluated. The snapshot holds raw JSON-safe values (strings, ISO
dates, amounts as strings with their currency, product names in every language) so that formatting —
money, dates, statuses — happens when the text is written, in the language it is written in.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext

from omnia.conversations.queries_canned import VARIABLE
from omnia.core import clock
from omnia.core.money import format_money
from omnia.notifications.models import Event
from omnia.orders.models import Order

NAME = re.compile(r"^\s*([a-z_]+\.[a-z_]+)\s*$")
ITEMS_SHOWN = 3  # order.items names this many lines, then "and N more"

# What each variable is, for the editor's chips and GET /notifications/variables.
LABELS: dict[str, Promise] = {
    "customer.greeting": _("Greeting: “Hello, Aigerim!”, or “Hello!” without a first name"),
    "customer.first_name": _("Customer's first name"),
    "customer.last_name": _("Customer's last name"),
    "customer.full_name": _("Customer's full name"),
    "shop.name": _("The shop's name"),
    "order.number": _("Order number"),
    "order.total": _("Order total, with currency"),
    "order.status": _("Order status"),
    "order.items": _("What was ordered: “2 × Jacket M, 1 × Hat”"),
    "order.pickup_location": _("Pick-up store"),
    "order.pickup_address": _("Pick-up store's address"),
    "order.opening_hours": _("Pick-up store's opening hours"),
    "order.delivery_date": _("Expected delivery date (or dates)"),
    "parcel.tracking_number": _("Tracking number"),
    "parcel.carrier": _("Carrier"),
    "parcel.tracking_url": _("Tracking page address"),
    "parcel.pickup_point": _("Carrier's pick-up point"),
    "parcel.expected_date": _("Expected arrival date"),
    "payment.amount": _("Amount paid, with currency"),
    "product.name": _("Product name"),
    "variant.name": _("Variant (size, colour…)"),
    "variant.sku": _("SKU"),
    "location.name": _("Store where it is back"),
    "location.address": _("That store's address"),
    "reply.preview": _("Beginning of the unread reply"),
}

_CUSTOMER = ("customer.greeting", "customer.first_name", "customer.last_name", "customer.full_name", "shop.name")
_ORDER = ("order.number", "order.total", "order.status", "order.items")
_PICKUP = ("order.pickup_location", "order.pickup_address", "order.opening_hours")
_PARCEL = (
    "parcel.tracking_number",
    "parcel.carrier",
    "parcel.tracking_url",
    "parcel.pickup_point",
    "parcel.expected_date",
)

ALLOWED: dict[str, tuple[str, ...]] = {
    Event.ORDER_CONFIRMED: (*_CUSTOMER, *_ORDER, *_PICKUP, "order.delivery_date"),
    Event.READY_FOR_PICKUP: (*_CUSTOMER, *_ORDER, *_PICKUP),
    Event.SHIPPED: (*_CUSTOMER, *_ORDER, "order.delivery_date", *_PARCEL),
    Event.AT_PICKUP_POINT: (*_CUSTOMER, *_ORDER, *_PARCEL),
    Event.DELIVERED: (*_CUSTOMER, *_ORDER, *_PARCEL),
    Event.DELAYED: (*_CUSTOMER, *_ORDER, "order.delivery_date", *_PARCEL),
    Event.PAYMENT_RECEIVED: (*_CUSTOMER, *_ORDER, "payment.amount"),
    Event.BACK_IN_STOCK: (
        *_CUSTOMER,
        "product.name",
        "variant.name",
        "variant.sku",
        "location.name",
        "location.address",
    ),
    Event.REPLY_WAITING: (*_CUSTOMER, "reply.preview"),
}


def allowed(event: str) -> tuple[str, ...]:
    """The variables a text for `event` may use (none for an unknown event)."""
    return ALLOWED.get(event, ())


def names_in(text: str) -> list[str]:
    """Every {{…}} of `text` as written inside the braces (stripped), in order."""
    return [match.group(1).strip() for match in VARIABLE.finditer(text)]


def unknown_variables(event: str, text: str) -> list[str]:
    """The {{…}} of `text` that `event` does not allow, each once, in order of appearance."""
    known = set(allowed(event))
    unknown: list[str] = []
    for match in VARIABLE.finditer(text):
        name = NAME.match(match.group(1))
        written = match.group(1).strip()
        if (name is None or name.group(1) not in known) and written not in unknown:
            unknown.append(written)
    return unknown


# --- reading the snapshot ------------------------------------------------------------------------------


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("ru")


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def format_day(value: Any, language: str) -> str:
    """'28 ноября' / '28 қараша' / 'November 28' (the year only when it is not this one)."""
    day = _date(value)
    if day is None:
        return ""
    skeleton = "MMMMd" if day.year == clock.today().year else "yMMMMd"
    return str(format_date(day, _locale(language).datetime_skeletons[skeleton], locale=_locale(language)))


def format_days(start: Any, end: Any, language: str) -> str:
    """One day, or a range such as '27–29 ноября'."""
    first, last = _date(start), _date(end)
    if first is None:
        return format_day(last, language)
    if last is None or last == first:
        return format_day(first, language)
    if (first.year, first.month) == (last.year, last.month):  # 27–29 ноября, November 27–29
        if _locale(language).language == "en":
            return f"{format_day(first, language)}–{last.day}"
        return f"{first.day}–{format_day(last, language)}"
    return f"{format_day(first, language)} – {format_day(last, language)}"


def _money(section: Mapping[str, Any], field: str, language: str) -> str:
    try:
        amount = Decimal(str(section.get(field)))
    except (InvalidOperation, ValueError):
        return ""
    return format_money(amount, str(section.get("currency") or "KZT"), locale=language)


def _in_language(value: Any, language: str) -> str:
    """A {"ru": …, "kk": …, "en": …} name in `language` (else Russian, else any), or a plain string."""
    if isinstance(value, Mapping):
        return str(value.get(language) or value.get("ru") or next((v for v in value.values() if v), "") or "")
    return "" if value is None else str(value)


def _items(order: Mapping[str, Any], language: str) -> str:
    lines = [line for line in order.get("items") or [] if isinstance(line, Mapping)]
    shown = [f"{line.get('quantity', 1)} × {_in_language(line.get('name'), language)}" for line in lines[:ITEMS_SHOWN]]
    rest = len(lines) - len(shown)
    text = ", ".join(shown)
    if rest > 0:
        text += " " + ngettext("and %(count)d more item", "and %(count)d more items", rest) % {"count": rest}
    return text


def _greeting(customer: Mapping[str, Any]) -> str:
    first = str(customer.get("first_name") or "").strip()
    if first:
        return pgettext("notification", "Hello, %(name)s!") % {"name": first}
    return pgettext("notification", "Hello!")


def _status(order: Mapping[str, Any]) -> str:
    status = str(order.get("status") or "")
    return str(Order.Status(status).label) if status in Order.Status.values else status


def _plain(section: str, field: str) -> Callable[[Mapping[str, Any], str], str]:
    def read(context: Mapping[str, Any], language: str) -> str:
        value = (context.get(section) or {}).get(field)
        return _in_language(value, language)

    return read


def _full_name(context: Mapping[str, Any], language: str) -> str:
    customer = context.get("customer") or {}
    return " ".join(str(customer.get(p) or "").strip() for p in ("first_name", "last_name") if customer.get(p))


READERS: dict[str, Callable[[Mapping[str, Any], str], str]] = {name: _plain(*name.split(".")) for name in LABELS} | {
    "customer.greeting": lambda c, lang: _greeting(c.get("customer") or {}),
    "customer.full_name": _full_name,
    "order.total": lambda c, lang: _money(c.get("order") or {}, "total", lang),
    "order.status": lambda c, lang: _status(c.get("order") or {}),
    "order.items": lambda c, lang: _items(c.get("order") or {}, lang),
    "order.delivery_date": lambda c, lang: format_days(
        (c.get("order") or {}).get("delivery_from"), (c.get("order") or {}).get("delivery_to"), lang
    ),
    "parcel.expected_date": lambda c, lang: format_day((c.get("parcel") or {}).get("expected_date"), lang),
    "payment.amount": lambda c, lang: _money(c.get("payment") or {}, "amount", lang),
}


def value(name: str, context: Mapping[str, Any], language: str) -> str:
    """The variable `name` written out from the snapshot, in the active translation; '' when it has none.

    Call it inside translation.override(language): statuses and the greeting are translated strings."""
    reader = READERS.get(name)
    # Babel's no-break spaces ("54 970 ₸") would make an SMS UCS-2 by themselves: plain spaces instead.
    return reader(context, language).translate(_PLAIN_SPACES).strip() if reader else ""


_PLAIN_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})
_SPACE_BEFORE_MARK = re.compile(r"[ \t]+([,.!?:;)])")
_COMMA_BEFORE_END = re.compile(r",+\s*([.!?:;)]|$)", re.MULTILINE)
_EMPTY_BRACKETS = re.compile(r"[ \t]*\(\s*\)")
_SPACES = re.compile(r"[ \t]{2,}")


def tidy(text: str) -> str:
    """What an empty value leaves behind, smoothed: 'Hello, !' → 'Hello!', '()' dropped, double spaces."""
    text = _EMPTY_BRACKETS.sub("", text)
    text = _SPACE_BEFORE_MARK.sub(r"\1", text)
    text = _COMMA_BEFORE_END.sub(r"\1", text)
    text = _SPACES.sub(" ", text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


_LABEL_LEFT = re.compile(r"^[^\w]*$|:\W*$")  # nothing but marks, or a label whose value is gone ("Адрес:")


def render(text: str, context: Mapping[str, Any], language: str, *, event: str | None = None) -> str:
    """`text` with its variables filled in (an allowed variable without a value becomes empty and the text
    is tidied around it: "Hello, !" → "Hello!"; a line whose every variable is empty is left out when
    nothing but a label remains, "Tracking number: ."). With `event`, a variable it does not allow is
    left as written."""
    known = set(allowed(event)) if event else set(READERS)

    def fill(match: re.Match[str]) -> str:
        name = NAME.match(match.group(1))
        if name is None or name.group(1) not in known:
            return match.group(0)
        return value(name.group(1), context, language)

    lines = []
    for line in text.splitlines() or [""]:
        filled = tidy(VARIABLE.sub(fill, line))
        used = [n for n in names_in(line) if n in known]
        if used and not any(value(n, context, language) for n in used) and _LABEL_LEFT.search(filled):
            continue
        lines.append(filled)
    return tidy("\n".join(lines))


def empty_variables(text: str, context: Mapping[str, Any], language: str) -> list[str]:
    """The variables of `text` that have no value in `context` (a line naming one is dropped from a
    built-in text)."""
    return [n for n in names_in(text) if n in READERS and not value(n, context, language)]
