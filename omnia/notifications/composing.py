"""Writing a notification: the snapshot of its variables (taken when the event happens), and its text for
one channel and language — the shop's template, or the built-in text — plus the approved WhatsApp
template and its values for writing outside the 24-hour window. Also the editor's preview."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings
from django.utils import translation

from omnia.channels.message_templates import PLACEHOLDER
from omnia.channels.models import MessageTemplate, Provider
from omnia.channels.sms.segments import segments
from omnia.core import clock
from omnia.core.config import SUPPORTED_LANGUAGES
from omnia.fulfillment import queries as fulfillment_queries
from omnia.fulfillment.models import DeliveryChoice
from omnia.notifications import texts, variables
from omnia.notifications.models import Event, Template
from omnia.orders.models import Order, Payment

if TYPE_CHECKING:
    from omnia.catalog.models import Variant
    from omnia.conversations.models import Message
    from omnia.customers.models import Customer
    from omnia.fulfillment.models import Parcel
    from omnia.inventory.models import Location

REPLY_PREVIEW = 100  # characters of the operator's reply quoted in reply_waiting
EMPTY_VALUE = "-"  # what fills an approved template's placeholder whose variable has no value (never empty)


# --- the snapshot --------------------------------------------------------------------------------------


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{Decimal(amount):.2f}"


def _names(variant: Variant) -> dict[str, str]:
    return {language: variant.product.name_in(language) for language in SUPPORTED_LANGUAGES}


def _point(point: Mapping[str, Any] | None) -> str:
    """A carrier pick-up point {code, name, address, city} as one line."""
    if not point:
        return ""
    parts = [str(point.get(key) or "").strip() for key in ("name", "address")]
    return ", ".join(p for p in parts if p)


def _location_address(location: Location) -> str:
    address = location.address.strip()
    if address and location.city and location.city.lower() not in address.lower():
        return f"{location.city}, {address}"
    return address or location.city


def _order_section(order: Order, choice: DeliveryChoice | None) -> dict[str, Any]:
    lines = order.lines.select_related("variant__product").order_by("id")
    items = []
    for line in lines:
        names = _names(line.variant)
        if line.variant.name:
            names = {lang: f"{name} {line.variant.name}" for lang, name in names.items()}
        items.append({"quantity": line.quantity, "name": names})
    section: dict[str, Any] = {
        "number": order.number,
        "total": _money(order.total),
        "currency": order.currency,
        "status": order.status,
        "items": items,
    }
    store = None
    if choice is not None and choice.kind == DeliveryChoice.Kind.STORE_PICKUP:
        store = choice.location or order.location
    elif choice is None and order.fulfillment in (Order.Fulfillment.PICKUP, Order.Fulfillment.TAKEAWAY):
        store = order.location
    if store is not None:
        section |= {
            "pickup_location": store.name,
            "pickup_address": _location_address(store),
            "opening_hours": store.opening_hours,
        }
    if choice is not None and choice.kind != DeliveryChoice.Kind.STORE_PICKUP:
        section |= {"delivery_from": choice.estimated_from.isoformat(), "delivery_to": choice.estimated_to.isoformat()}
    return section


def _parcel_section(parcel: Parcel, choice: DeliveryChoice | None) -> dict[str, Any]:
    number = parcel.tracking_number
    url = parcel.carrier.tracking_url
    expected: dt.date | None = parcel.estimated_on or (choice.estimated_to if choice else None)
    return {
        "tracking_number": number,
        "carrier": parcel.carrier.name,
        "tracking_url": url.replace("{tracking_number}", quote(number, safe="")) if url and number else "",
        "pickup_point": _point(parcel.pickup_point) or _point(choice.pickup_point if choice else None),
        "expected_date": expected.isoformat() if expected else None,
    }


def _preview_of(message: Message) -> str:
    text = " ".join((message.text or "").split())
    return text if len(text) <= REPLY_PREVIEW else text[: REPLY_PREVIEW - 1].rstrip() + "…"


def build_context(
    event: str,
    *,
    customer: Customer,
    order: Order | None = None,
    parcel: Parcel | None = None,
    variant: Variant | None = None,
    location: Location | None = None,
    message: Message | None = None,
) -> dict[str, Any]:
    """The values of the variables `event` allows, as raw JSON-safe data (strings, ISO dates, amounts as
    strings with their currency, product names in every language): formatted when the text is written."""
    context: dict[str, Any] = {
        "customer": {"first_name": customer.first_name.strip(), "last_name": customer.last_name.strip()},
        "shop": {"name": str(getattr(settings, "OMNIA_SHOP_NAME", "") or "")},
    }
    wanted = {name.split(".")[0] for name in variables.allowed(event)}
    if order is None and parcel is not None:
        order = parcel.shipment.order
    if order is not None and wanted & {"order", "parcel", "payment"}:
        choice = fulfillment_queries.get_choice(order.pk)
        context["order"] = _order_section(order, choice)
        if parcel is not None and "parcel" in wanted:
            context["parcel"] = _parcel_section(parcel, choice)
        if "payment" in wanted:
            payment = order.payments.filter(status=Payment.Status.PAID).order_by("-created_at", "-id").first()
            if payment is not None:
                context["payment"] = {"amount": _money(payment.amount), "currency": order.currency}
    if variant is not None and "product" in wanted:
        context["product"] = {"name": _names(variant)}
        context["variant"] = {"name": variant.name, "sku": variant.sku}
    if location is not None and "location" in wanted:
        context["location"] = {"name": location.name, "address": _location_address(location)}
    if message is not None and "reply" in wanted:
        context["reply"] = {"preview": _preview_of(message)}
    return context


def sample_context(event: str, language: str = "ru") -> dict[str, Any]:
    """A realistic snapshot for the editor's preview: every variable of every event has a value (Latin
    names and addresses for English, so that an SMS's encoding is the one an English text would get)."""
    today = clock.today()
    latin = language_of(language) == "en"
    address = "Almaty, 111 Dostyk Ave" if latin else "Алматы, пр. Достык, 111"
    names = {"ru": "Пуховик Arctic", "kk": "Arctic пуховигі", "en": "Arctic down jacket"}
    hats = {"ru": "Шапка вязаная", "kk": "Тоқыма бөрік", "en": "Knitted hat"}
    return {
        "customer": {"first_name": "Aigerim" if latin else "Айгерим", "last_name": "Sadykova" if latin else "Садыкова"},
        "shop": {"name": str(getattr(settings, "OMNIA_SHOP_NAME", "") or "") or "Omnia"},
        "order": {
            "number": "1042",
            "total": "45980.00",
            "currency": str(settings.OMNIA_CURRENCY),
            "status": Order.Status.CONFIRMED.value,
            "items": [
                {"quantity": 2, "name": {lang: f"{name} M" for lang, name in names.items()}},
                {"quantity": 1, "name": hats},
            ],
            "pickup_location": "Dostyk Plaza",
            "pickup_address": address,
            "opening_hours": "10:00–22:00",
            "delivery_from": (today + dt.timedelta(days=2)).isoformat(),
            "delivery_to": (today + dt.timedelta(days=3)).isoformat(),
        },
        "parcel": {
            "tracking_number": "1520348766",
            "carrier": "CDEK",
            "tracking_url": "https://www.cdek.kz/ru/tracking?order_id=1520348766",
            "pickup_point": "CDEK ALM12, " + ("Almaty, 58 Zhandosov St" if latin else "Алматы, ул. Жандосова, 58"),
            "expected_date": (today + dt.timedelta(days=3)).isoformat(),
        },
        "payment": {"amount": "45980.00", "currency": str(settings.OMNIA_CURRENCY)},
        "product": {"name": names},
        "variant": {"name": "M", "sku": "ARC-DJ-M-BLK"},
        "location": {"name": "Dostyk Plaza", "address": address},
        "reply": {
            "preview": "Yes, size M is in stock: we can hold it for you until tonight."
            if latin
            else "Да, размер M есть в наличии, можем отложить его для вас до вечера."
        },
    }


# --- the text ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Composed:
    text: str
    subject: str
    whatsapp_template: MessageTemplate | None  # the approved template outside the 24 h window, if named
    whatsapp_values: list[str] = field(default_factory=list)  # its placeholder values, already rendered


def language_of(language: str) -> str:
    """`language` if it is one of ru, kk, en (a 'ru-RU' counts as ru), else the shop's language."""
    code = base_language(language)
    return code if code in SUPPORTED_LANGUAGES else str(settings.LANGUAGE_CODE).split("-")[0]


def base_language(code: str) -> str:
    """'en_US' → 'en': the language of an approved template's code."""
    return re.split(r"[-_]", (code or "").strip().lower())[0]


def whatsapp_usable(template: MessageTemplate | None, language: str) -> bool:
    """An approved template we may send: in use, of an active WhatsApp channel, in `language`."""
    return (
        template is not None
        and template.is_active
        and template.channel.provider == Provider.WHATSAPP
        and template.channel.is_active
        and base_language(template.language) == language
    )


def shop_templates(event: str, channel_kind: str, language: str) -> list[Template]:
    """The shop's active templates that apply, the most specific first: this channel's, then every channel's."""
    found = Template.objects.filter(
        event=event, language=language, channel__in={channel_kind, Template.ANY_CHANNEL}, is_active=True
    ).select_related("whatsapp_template__channel")
    return sorted(found, key=lambda t: t.channel != channel_kind)


def _render_values(values: Sequence[Any], event: str, context: Mapping[str, Any], language: str) -> list[str]:
    return [variables.render(str(v), context, language, event=event) or EMPTY_VALUE for v in values]


def compose(*, event: str, channel_kind: str, language: str, context: dict[str, Any]) -> Composed:
    """The text of `event` for `channel_kind` in `language`: the shop's template for this channel, else its
    template for every channel, else the built-in text; the e-mail subject the same way."""
    language = language_of(language)
    candidates = shop_templates(event, channel_kind, language)
    with translation.override(language):
        built_body, built_subject = texts.render_built_in(event, context, language)
        template = candidates[0] if candidates else None
        if template is None:
            body, subject = built_body, built_subject
        else:
            body = variables.render(template.body, context, language, event=event)
            subject = variables.render(template.subject, context, language, event=event) or built_subject
        approved, values = None, []
        if channel_kind == Provider.WHATSAPP:
            for candidate in candidates:
                if whatsapp_usable(candidate.whatsapp_template, language):
                    approved = candidate.whatsapp_template
                    values = _render_values(candidate.whatsapp_values or [], event, context, language)
                    break
    return Composed(text=body, subject=subject, whatsapp_template=approved, whatsapp_values=values)


# --- the editor's preview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    text: str
    subject: str
    unknown: list[str]  # variables the event does not allow, as written
    is_built_in: bool
    sms_encoding: str = ""  # GSM-7 or UCS-2, for SMS
    sms_segments: int = 0
    whatsapp_text: str = ""  # the approved template as the customer would read it


def preview(
    event: str,
    channel: str,
    language: str,
    *,
    body: str | None = None,
    subject: str | None = None,
    whatsapp_template: MessageTemplate | None = None,
    whatsapp_values: Sequence[str] = (),
) -> Preview:
    """`body` (or, without one, what would be sent now: the shop's template or the built-in text) rendered
    with the sample data; unknown variables stay as written and are listed."""
    if event not in Event.values:
        raise ValueError(f"unknown event {event!r}")
    language = language_of(language)
    context = sample_context(event, language)
    is_built_in = False
    with translation.override(language):
        if body is None:
            composed = compose(event=event, channel_kind=channel, language=language, context=context)
            text, rendered_subject = composed.text, composed.subject
            is_built_in = not shop_templates(event, channel, language)
            unknown: list[str] = []
        else:
            text = variables.render(body, context, language, event=event)
            _, built_subject = texts.render_built_in(event, context, language)
            rendered_subject = variables.render(subject, context, language, event=event) if subject else built_subject
            unknown = variables.unknown_variables(event, f"{body}\n{subject or ''}")
        whatsapp_text = ""
        if whatsapp_template is not None:
            values = _render_values(whatsapp_values, event, context, language)
            unknown += [n for v in whatsapp_values for n in variables.unknown_variables(event, str(v))]
            whatsapp_text = PLACEHOLDER.sub(
                lambda m: values[int(m.group(1)) - 1] if int(m.group(1)) <= len(values) else m.group(0),
                whatsapp_template.body,
            )
    encoding, count = segments(text) if channel == Provider.SMS else ("", 0)
    return Preview(
        text=text,
        subject=rendered_subject,
        unknown=list(dict.fromkeys(unknown)),
        is_built_in=is_built_in,
        sms_encoding=encoding,
        sms_segments=count,
        whatsapp_text=whatsapp_text,
    )
