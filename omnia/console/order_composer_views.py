"""The order composer in the inbox side panel: an operator builds an order for the conversation's customer.

Search the catalog (barcode, SKU or words of a name: the endless aisle's search), see the price and
what is available where, add lines to a cart kept in the session per conversation (a reload or a second
tab finds it again), choose delivery / pick-up / take-away, place it through
`orders.actions.check_place_order` (the cart's Idempotency-Key, made when the cart is opened, makes a
double click place once), then send the summary to the customer in the same chat through the normal
outbound action (its reply-window rules apply: when it may not go, the order stays and the operator is
told why).

The session cart, the search rows and the error texts are shared with the store terminal
(terminal_views).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from omnia.catalog import queries as catalog_queries
from omnia.catalog.errors import VariantNotFound
from omnia.catalog.models import Variant
from omnia.channels import api as channels_api
from omnia.channels.models import Provider
from omnia.console import inbox_views, stock_views
from omnia.console.views import section_required
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation
from omnia.core import permissions
from omnia.core.errors import DomainError
from omnia.core.money import format_money
from omnia.core.permissions import Section
from omnia.fulfillment import actions as fulfillment_actions
from omnia.fulfillment import queries as fulfillment_queries
from omnia.fulfillment import quotes as fulfillment_quotes
from omnia.inventory import availability as inventory_availability
from omnia.inventory import queries as inventory_queries
from omnia.inventory.models import Location
from omnia.notifications.variables import format_days
from omnia.orders import actions as orders_actions
from omnia.orders import actions_payments
from omnia.orders.models import Order, Payment, Source

SEARCH_PRODUCTS = 8
MAX_CART_LINES = 50
MAX_QUANTITY = 9999

# The conversation's channel → the order's source.
SOURCE_BY_PROVIDER: dict[str, str] = {
    Provider.WEBCHAT: Source.WEBCHAT,
    Provider.EMAIL: Source.EMAIL,
    Provider.TELEGRAM: Source.TELEGRAM,
    Provider.WHATSAPP: Source.WHATSAPP,
    Provider.INSTAGRAM: Source.INSTAGRAM,
    Provider.VIBER: Source.VIBER,
    Provider.VK: Source.VK,
    Provider.SMS: Source.PHONE,
}

# What the operator reads instead of the domain's English text (a line's own errors name the item).
ERROR_MESSAGES = {
    "LINES_REQUIRED": _("Add at least one item."),
    "PICKUP_NOT_OFFERED": _("Pick-up is not offered there: choose a location that offers it."),
    "STORE_REQUIRED": _("Choose the store it is taken away from."),
    "ADDRESS_REQUIRED": _("Where to deliver: give the city and the street and building."),
    "FULFILLMENT_INVALID": _("Choose delivery, pick-up or take-away."),
    "CUSTOMER_REQUIRED": _("Give the customer's phone number."),
    "PHONE_REQUIRED": _("Give the customer's phone number."),
    "PHONE_INVALID": _("That is not a valid phone number."),
    "PAYMENT_TOO_LARGE": _("The payment is more than the order's total."),
    "METHOD_INVALID": _("Choose a payment method from the list."),
    "SOURCE_INVALID": _("This channel cannot take orders."),
    "CUSTOMER_NOT_FOUND": _("The customer's card is gone (merged?): reload the page."),
}
LINE_MESSAGES = {
    "OUT_OF_STOCK": _("Not enough of %(sku)s available (%(quantity)d asked)."),
    "NOT_ON_SALE": _("%(sku)s is not on sale."),
    "QUANTITY_INVALID": _("%(sku)s: the quantity is a whole number of units above zero."),
}


# --- the cart, in the session ----------------------------------------------------------------------


@dataclass
class Cart:
    """What is being ordered, kept in the session under `name` until it is placed."""

    name: str
    key: str = field(default_factory=lambda: uuid.uuid4().hex)  # the Idempotency-Key
    lines: list[dict[str, int]] = field(default_factory=list)  # [{"variant": id, "quantity": n}]
    fulfillment: str = ""
    location: int | None = None
    address: dict[str, str] = field(default_factory=dict)  # city, line1, apartment, comment
    delivery_option: str = ""  # the key of the delivery option chosen (fulfillment.quotes)
    payment: str = ""
    comment: str = ""
    phone: str = ""  # the terminal's customer
    customer_name: str = ""
    placed: dict[str, Any] | None = None  # the last order placed from this cart: {"key", "order", "sent", …}

    @classmethod
    def load(cls, request: HttpRequest, name: str) -> Cart:
        stored = request.session.get(name)
        if not isinstance(stored, dict):
            return cls(name=name)
        known = {f for f in cls.__dataclass_fields__ if f != "name"}
        try:
            return cls(name=name, **{k: v for k, v in stored.items() if k in known})
        except TypeError:
            return cls(name=name)

    def save(self, request: HttpRequest) -> None:
        data = asdict(self)
        data.pop("name")
        request.session[self.name] = data

    def quantity_of(self, variant_id: int) -> int:
        return next((line["quantity"] for line in self.lines if line["variant"] == variant_id), 0)

    def add(self, variant: Variant, quantity: int) -> None:
        for line in self.lines:
            if line["variant"] == variant.pk:
                line["quantity"] = min(line["quantity"] + quantity, MAX_QUANTITY)
                return
        if len(self.lines) < MAX_CART_LINES:
            self.lines.append({"variant": variant.pk, "quantity": min(quantity, MAX_QUANTITY)})

    def remove(self, variant_id: int) -> None:
        self.lines = [line for line in self.lines if line["variant"] != variant_id]

    def take_details(self, data: Any) -> None:
        """The cart form's fields as typed: quantities, fulfilment, address, payment, comment, customer."""
        for line in list(self.lines):
            raw = data.get(f"qty-{line['variant']}")
            if raw is None:
                continue
            number = _int(raw)
            if number is None:
                continue
            if number <= 0:
                self.remove(line["variant"])
            else:
                line["quantity"] = min(number, MAX_QUANTITY)
        if "fulfillment" in data:
            self.fulfillment = str(data.get("fulfillment", ""))[:16]
        if "location" in data:
            self.location = _int(data.get("location"))
        if "city" in data:
            self.address = {
                name: str(data.get(name, "")).strip()[:300]
                for name in ("city", "line1", "apartment", "address_comment")
            }
        if "delivery_option" in data:
            self.delivery_option = str(data.get("delivery_option", "")).strip()[:80]
        if "payment" in data:
            self.payment = str(data.get("payment", ""))[:20]
        if "comment" in data:
            self.comment = str(data.get("comment", ""))[:2000]
        if "phone" in data:
            self.phone = str(data.get("phone", "")).strip()[:40]
        if "customer_name" in data:
            self.customer_name = str(data.get("customer_name", "")).strip()[:150]

    def clear(self, *, placed: dict[str, Any] | None = None) -> None:
        """Empty for the next order, with a new key; `placed` remembers the order just made."""
        self.__dict__.update(Cart(name=self.name).__dict__)
        self.placed = placed


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def apply_cart_post(cart: Cart, data: Any) -> None:
    """A cart form post: the details as typed, then add / remove / clear."""
    cart.take_details(data)
    added = _int(data.get("add"))
    if added is not None:
        try:
            variant = catalog_queries.get_variant(added)
        except VariantNotFound:
            variant = None
        if variant is not None and variant.is_active:
            quantity = _int(data.get(f"add-qty-{added}", data.get("add_qty", 1))) or 1
            cart.add(variant, max(1, quantity))
    # Not "remove" / "clear": a form control named "remove" would hide the form's own remove() from htmx.
    removed = _int(data.get("remove_line"))
    if removed is not None:
        cart.remove(removed)
    if data.get("clear_cart"):
        cart.lines = []
        cart.placed = None


# --- reading: search rows and cart lines ---------------------------------------------------------------


def _name(variant: Variant) -> str:
    product = variant.product.name_in(translation.get_language() or "")
    return f"{product}, {variant.name}" if variant.name else product


def _price(variant: Variant, source: str) -> dict[str, Any]:
    """The price this order would pay now (the channel's own price where a manager set one, else the
    promotional price while it runs), and the regular one during a promotion."""
    price = catalog_queries.price_now(variant, channel=source)
    promo = price.price != price.regular_price
    return {
        "amount": price.price,
        "now": format_money(price.price, price.currency),
        "regular": format_money(price.regular_price, price.currency) if promo else "",
        "promo_ends": price.promo_ends_at,
    }


def _place_row(stock: inventory_availability.LocationStock) -> dict[str, Any]:
    return {
        "location": stock.location,
        "available": stock.available,
        "pickup": stock.pickup,
        "ships": stock.ships,
        "next_arrival": stock.next_arrival if stock.available <= 0 else None,
    }


def search_rows(text: str, *, source: str, cart: Cart, store: Location | None = None) -> list[dict[str, Any]]:
    """The variants a barcode, a SKU or the words of a name find (the endless aisle's search), each with
    its price and stock per location: `store`'s own first (always shown), then every other location that
    has it or expects it."""
    text = text.strip()[:100]
    if not text:
        return []
    found, matched = stock_views._search_products(text)
    products = list(found[:SEARCH_PRODUCTS])
    variants = []
    for product in products:
        for variant in product.variants.all():
            if not matched or variant.pk in matched:
                variant.product = product
                variants.append(variant)
    stock = inventory_availability.availability([v.pk for v in variants])
    rows = []
    for variant in variants:
        places = stock.get(variant.pk, [])
        here = next((p for p in places if store is not None and p.location.pk == store.pk), None)
        others = [p for p in places if p is not here]
        shown = [p for p in others if p.available > 0 or p.next_arrival is not None]
        rows.append(
            {
                "variant": variant,
                "name": _name(variant),
                "attributes": stock_views._attributes(variant),
                "price": _price(variant, source),
                "here": _place_row(here) if here is not None else None,
                "places": [_place_row(p) for p in shown],
                "hidden": len(others) - len(shown),
                "available": sum(max(p.available, 0) for p in places),
                "in_cart": cart.quantity_of(variant.pk),
            }
        )
    return rows


def cart_lines(
    cart: Cart, *, source: str, errors: dict[int, str] | None = None, at: int | None = None
) -> tuple[list[dict[str, Any]], str]:
    """The cart's lines with names, prices, what is available in all and at `at` (else the cart's chosen
    location), and the estimated total."""
    at = at if at is not None else cart.location
    ids = [line["variant"] for line in cart.lines]
    variants = {v.pk: v for v in catalog_queries.list_variants().filter(pk__in=ids)}
    cart.lines = [line for line in cart.lines if line["variant"] in variants]
    stock = inventory_availability.availability(ids)
    rows = []
    total = Decimal(0)
    currency = str(settings.OMNIA_CURRENCY)
    for line in cart.lines:
        variant = variants[line["variant"]]
        price = _price(variant, source)
        places = stock.get(variant.pk, [])
        chosen = next((p for p in places if p.location.pk == at), None)
        line_total = price["amount"] * line["quantity"]
        total += line_total
        currency = variant.currency
        rows.append(
            {
                "variant": variant,
                "name": _name(variant),
                "quantity": line["quantity"],
                "price": price,
                "total": format_money(line_total, variant.currency),
                "available": sum(max(p.available, 0) for p in places),
                "at_location": chosen.available if chosen is not None else None,
                "error": (errors or {}).get(variant.pk, ""),
            }
        )
    return rows, format_money(total, currency)


def pickup_locations() -> list[Location]:
    return list(inventory_queries.list_locations().filter(offers_pickup=True).order_by("city", "name"))


def pickup_choices(cart: Cart, locations: list[Location]) -> list[dict[str, Any]]:
    """Pick-up places with how many of the cart's lines are there in full now (the rest is brought)."""
    wanted = {line["variant"]: line["quantity"] for line in cart.lines}
    stock = inventory_availability.availability(list(wanted), locations=locations, arrivals=False)
    choices = []
    for location in locations:
        ready = sum(
            1
            for variant_id, quantity in wanted.items()
            if any(p.location.pk == location.pk and p.available >= quantity for p in stock.get(variant_id, []))
        )
        choices.append({"location": location, "ready": ready, "lines": len(wanted)})
    return choices


def selling_stores() -> list[Location]:
    return list(
        inventory_queries.list_locations().filter(sells=True, kind=Location.Kind.STORE).order_by("city", "name")
    )


# --- placing ------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    placed: orders_actions.Placed | None = None
    error: str = ""
    delivery_note: str = ""  # placed, but the delivery option could not be kept (the operator chooses again)
    line_errors: dict[int, str] = field(default_factory=dict)  # variant id → message
    field: str = ""


def _line_error(exc: DomainError, cart: Cart, variants: list[Variant]) -> tuple[int, str] | None:
    """The cart line a line error (field 'lines[i]…') names, with the message naming the item."""
    if not exc.field or not exc.field.startswith("lines["):
        return None
    index = _int(exc.field[len("lines[") :].split("]", 1)[0])
    if index is None or not 0 <= index < len(variants):
        return None
    variant = variants[index]
    template = LINE_MESSAGES.get(exc.code)
    text = str(template) % {"sku": variant.sku, "quantity": cart.lines[index]["quantity"]} if template else exc.message
    return variant.pk, text


def error_text(exc: DomainError) -> str:
    return str(ERROR_MESSAGES.get(exc.code) or inbox_views.ERROR_MESSAGES.get(exc.code) or exc.message)


def fulfillment_of(cart: Cart) -> orders_actions.FulfillmentIn:
    location = (
        inventory_queries.list_locations().filter(pk=cart.location).first() if cart.location is not None else None
    )
    if cart.fulfillment == Order.Fulfillment.DELIVERY:
        address = {
            "city": cart.address.get("city", ""),
            "line1": cart.address.get("line1", ""),
            "apartment": cart.address.get("apartment", ""),
            "comment": cart.address.get("address_comment", ""),
        }
        return orders_actions.FulfillmentIn(
            type=cart.fulfillment, address={k: v for k, v in address.items() if v}, location=None
        )
    return orders_actions.FulfillmentIn(type=cart.fulfillment, location=location)


def place_cart(
    *,
    actor: Any,
    cart: Cart,
    source: str,
    customer: orders_actions.CustomerIn,
    fulfillment: orders_actions.FulfillmentIn,
    conversation: Conversation | None = None,
    location: Location | None = None,
) -> Outcome:
    """check_place_order with the cart's lines and key; a refusal becomes the text the panel shows."""
    known = [(line, _variant(line["variant"])) for line in cart.lines]
    cart.lines = [line for line, variant in known if variant is not None]  # a variant deleted meanwhile
    variants = [variant for _, variant in known if variant is not None]
    if fulfillment.type == Order.Fulfillment.DELIVERY and (
        not fulfillment.address.get("city") or not fulfillment.address.get("line1")
    ):
        return Outcome(error=str(ERROR_MESSAGES["ADDRESS_REQUIRED"]), field="fulfillment.address")
    lines = [
        orders_actions.LineIn(variant=v, quantity=line["quantity"])
        for v, line in zip(variants, cart.lines, strict=True)
    ]
    try:
        placed = orders_actions.check_place_order(
            actor=actor,
            customer=customer,
            source=source,
            lines=lines,
            fulfillment=fulfillment,
            idempotency_key=cart.key,
            conversation=conversation,
            location=location,
            comment=cart.comment,
        )
    except DomainError as exc:
        named = _line_error(exc, cart, variants)
        if named is not None:
            return Outcome(error=named[1], line_errors={named[0]: named[1]}, field=exc.field or "")
        return Outcome(error=error_text(exc), field=exc.field or "")
    note = ""
    if fulfillment.type == Order.Fulfillment.DELIVERY and cart.delivery_option and placed.created:
        try:
            fulfillment_actions.check_choose_delivery(actor=actor, order=placed.order, option_key=cart.delivery_option)
        except DomainError as exc:
            note = gettext(
                "The order is placed, but its delivery was not chosen: %(reason)s Choose it on the order page."
            ) % {"reason": error_text(exc)}
        placed.order.refresh_from_db()
    return Outcome(placed=placed, delivery_note=note)


def delivery_quote(cart: Cart) -> dict[str, Any] | None:
    """The delivery options for the cart to its city (carriers only: a store pick-up is the other
    fulfilment), the chosen one kept while it is still offered, else the cheapest."""
    city = (cart.address or {}).get("city", "").strip()
    if cart.fulfillment != Order.Fulfillment.DELIVERY or not cart.lines or not city:
        return None
    variants = {v.pk: v for v in Variant.objects.filter(pk__in=[line["variant"] for line in cart.lines])}
    lines = [
        fulfillment_quotes.QuoteLine(variant=variants[line["variant"]], quantity=line["quantity"])
        for line in cart.lines
        if line["variant"] in variants
    ]
    result = fulfillment_quotes.narrowed(fulfillment_quotes.quote(lines, city=city), fulfillment=cart.fulfillment)
    keys = [option.key for option in result.options]
    if cart.delivery_option not in keys:
        cart.delivery_option = keys[0] if keys else ""
    return {
        "options": [
            {
                "key": option.key,
                "name": option.name,
                "kind": option.kind_label,
                "price": format_money(option.price, option.currency),
                "free": option.free,
                "dates": format_days(option.estimated_from, option.estimated_to, translation.get_language() or ""),
                "point": option.pickup_point,
                "cheapest": option.cheapest,
                "fastest": option.fastest,
            }
            for option in result.options
        ],
        "reason": result.reason.message if result.reason is not None else "",
        "chosen": cart.delivery_option,
    }


def _variant(variant_id: int) -> Variant | None:
    try:
        return catalog_queries.get_variant(variant_id)
    except VariantNotFound:
        return None


def record_payment(*, actor: Any, placed: orders_actions.Placed, method: str, paid: bool) -> str:
    """The payment chosen with the order, for its total (paid at a terminal, else pending); only by the
    request that created the order, so a repeated placing records it once. The error text, or ''."""
    order = placed.order
    if not method or not placed.created or order.payments.exists():
        return ""
    try:
        actions_payments.check_add_payment(
            actor=actor,
            order=order,
            method=method,
            amount=order.total,
            status=Payment.Status.PAID if paid else Payment.Status.PENDING,
        )
    except DomainError as exc:
        return error_text(exc)
    return ""


# --- the summary sent to the customer -------------------------------------------------------------------


def _customer_language(customer: Any) -> str:
    language = getattr(customer, "language", "") or ""
    return language if language in dict(settings.LANGUAGES) else ""


def summary_text(order: Order, *, language: str = "") -> str:
    """The order as the customer reads it in the chat: number, lines, total, how they get it."""
    with translation.override(language or translation.get_language()):
        lines = [gettext("Your order %(number)s is placed.") % {"number": order.number}, ""]
        for line in order.lines.select_related("variant__product"):
            variant = line.variant
            name = variant.product.name_in(language or translation.get_language() or "")
            if variant.name:
                name = f"{name}, {variant.name}"
            lines.append(
                gettext("%(name)s × %(quantity)d — %(total)s")
                % {"name": name, "quantity": line.quantity, "total": format_money(line.line_total, order.currency)}
            )
        lines += ["", gettext("Total: %(total)s") % {"total": format_money(order.total, order.currency)}]
        place = order.location
        if order.fulfillment == Order.Fulfillment.PICKUP and place is not None:
            parts = [p for p in (place.name, place.address) if p]
            if place.city and not any(place.city in p for p in parts):
                parts.append(place.city)
            where = ", ".join(parts)
            lines.append(gettext("Pick-up: %(place)s") % {"place": where})
            if place.opening_hours:
                lines.append(gettext("Opening hours: %(hours)s") % {"hours": place.opening_hours})
            lines.append(gettext("We will write to you when it is ready for pick-up."))
        elif order.fulfillment == Order.Fulfillment.DELIVERY:
            address = order.delivery_address or {}
            where = ", ".join(str(address.get(k, "")) for k in ("city", "line1", "apartment") if address.get(k))
            lines.append(gettext("Delivery to: %(address)s") % {"address": where})
            choice = fulfillment_queries.get_choice(order.pk)
            if choice is not None:
                lines.append(
                    gettext("%(carrier)s, %(price)s, expected %(dates)s")
                    % {
                        "carrier": choice.carrier.name if choice.carrier is not None else choice.get_kind_display(),
                        "price": format_money(choice.price, choice.currency),
                        "dates": format_days(
                            choice.estimated_from, choice.estimated_to, language or translation.get_language() or ""
                        ),
                    }
                )
        elif place is not None:
            lines.append(
                pgettext("order summary", "Take-away at %(place)s")
                % {"place": ", ".join(p for p in (place.name, place.address) if p)}
            )
        return "\n".join(lines)


def send_summary(*, actor: Any, conversation: Conversation, order: Order) -> tuple[bool, str]:
    """Queue the summary in the conversation's own chat under its channel's rules: (sent, why not)."""
    rules = channels_api.reply_window_for(conversation.channel.provider)
    text = summary_text(order, language=_customer_language(conversation.customer))
    try:
        conversations_actions.check_send_message(
            actor=actor,
            conversation=conversation,
            text=text,
            window=rules.window,
            extended_window=rules.extended_window,
            extended_tag=rules.extended_tag,
            idempotency_key=f"order-summary-{order.pk}",
        )
    except IntegrityError:
        return True, ""  # a concurrent repeat of the same placing queued it a moment earlier
    except DomainError as exc:
        if exc.code == "REPLY_WINDOW_CLOSED":
            hours = int(rules.window.total_seconds() // 3600) if rules.window else 0
            return False, gettext(
                "The summary was not sent: the customer last wrote more than %(hours)d hours ago and "
                "%(channel)s then takes only approved templates. Send it when they write again."
            ) % {"hours": hours, "channel": conversation.channel.get_provider_display()}
        return False, gettext("The summary was not sent: %(reason)s") % {"reason": error_text(exc)}
    return True, ""


# --- the panel -----------------------------------------------------------------------------------------


def _cart_name(conversation: Conversation) -> str:
    return f"omnia.order_cart.conversation.{conversation.pk}"


def source_of(conversation: Conversation) -> str:
    return str(SOURCE_BY_PROVIDER.get(conversation.channel.provider, Source.PHONE))


def _address_fields(address: Any) -> dict[str, str]:
    return {
        "city": address.city,
        "line1": address.line,
        "apartment": address.apartment,
        "address_comment": address.comment,
    }


def _prefill(cart: Cart, conversation: Conversation) -> None:
    """A new cart is delivered to the customer's default address when they have one, else picked up; a
    delivery without an address yet starts from that address (or the customer's city)."""
    address = conversation.customer.addresses.first()
    if not cart.fulfillment:
        cart.fulfillment = Order.Fulfillment.DELIVERY if address is not None else Order.Fulfillment.PICKUP
    if cart.fulfillment == Order.Fulfillment.DELIVERY and not any(cart.address.values()):
        if address is not None:
            cart.address = _address_fields(address)
        elif conversation.customer.city:
            cart.address = {"city": conversation.customer.city}


def _use_saved_address(cart: Cart, conversation: Conversation, value: Any) -> None:
    """The operator picked one of the customer's saved addresses."""
    pk = _int(value)
    address = conversation.customer.addresses.filter(pk=pk).first() if pk is not None else None
    if address is not None:
        cart.fulfillment = Order.Fulfillment.DELIVERY
        cart.address = _address_fields(address)


def _placed_context(cart: Cart) -> dict[str, Any]:
    if not cart.placed:
        return {}
    order = Order.objects.filter(pk=_int(cart.placed.get("order")) or 0).first()
    if order is None:
        return {}
    return {
        "order": order,
        "order_total": format_money(order.total, order.currency),
        "order_url": reverse("console:order_detail", args=[order.pk]),
        "summary_sent": cart.placed.get("sent", False),
        "summary_note": cart.placed.get("note", ""),
        "payment_note": cart.placed.get("payment_note", ""),
    }


def composer_context(
    request: HttpRequest, conversation: Conversation, *, cart: Cart | None = None, outcome: Outcome | None = None
) -> dict[str, Any]:
    """What _order_composer.html shows: the cart, its fulfilment choices, the last order placed."""
    cart = cart or Cart.load(request, _cart_name(conversation))
    _prefill(cart, conversation)
    source = source_of(conversation)
    lines, total = cart_lines(cart, source=source, errors=outcome.line_errors if outcome else None)
    return {
        "conversation": conversation,
        "cart": cart,
        "lines": lines,
        "total": total,
        "source_label": Source(source).label,
        "fulfillments": Order.Fulfillment.choices,
        "pickup_locations": pickup_choices(cart, pickup_locations()),
        "stores": selling_stores(),
        "addresses": list(conversation.customer.addresses.all()[:5]),
        "payment_methods": Payment.Method.choices,
        "error": outcome.error if outcome else "",
        "error_field": outcome.field if outcome else "",
        "delivery": delivery_quote(cart),
        **_placed_context(cart),
    }


def _conversation(conversation_id: int) -> Conversation:
    return inbox_views._conversation(conversation_id)


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _back(conversation: Conversation) -> HttpResponse:
    return redirect(f"{reverse('console:inbox_conversation', args=[conversation.pk])}#order-composer")


def _orders_section(view: Any) -> Any:
    """The inbox, and orders: an operator who may not take orders sees no composer."""
    inner = section_required(Section.ORDERS)(view)
    return section_required(Section.INBOX)(inner)


@require_GET
@_orders_section
def order_panel(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The "New order" section of the side panel, as it stands (the inbox page loads it beside the card)."""
    current = _conversation(conversation_id)
    cart = Cart.load(request, _cart_name(current))
    context = composer_context(request, current, cart=cart)
    cart.save(request)
    return HttpResponse(render_to_string("console/_order_composer.html", context, request=request))


@require_GET
@_orders_section
def order_search(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The composer's search results: price and availability per location for each variant found."""
    current = _conversation(conversation_id)
    if not _htmx(request):
        return _back(current)
    q = request.GET.get("q", "")
    cart = Cart.load(request, _cart_name(current))
    html = render_to_string(
        "console/_order_composer_results.html",
        {
            "conversation": current,
            "q": q.strip(),
            "rows": search_rows(q, source=source_of(current), cart=cart),
            "add_url": reverse("console:inbox_order_cart", args=[current.pk]),
            "cart_target": "#order-cart",
        },
        request=request,
    )
    return HttpResponse(html)


def _cart_response(request: HttpRequest, conversation: Conversation, context: dict[str, Any]) -> HttpResponse:
    return HttpResponse(render_to_string("console/_order_composer_cart.html", context, request=request))


@require_POST
@_orders_section
def order_cart(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Change the cart (add, remove, quantities, fulfilment, address, payment, comment): kept in the session."""
    current = _conversation(conversation_id)
    cart = Cart.load(request, _cart_name(current))
    apply_cart_post(cart, request.POST)
    if "use_address" in request.POST:
        _use_saved_address(cart, current, request.POST["use_address"])
    if cart.lines:
        cart.placed = None  # a new order is being built: the last one's confirmation goes
    context = composer_context(request, current, cart=cart)
    cart.save(request)
    if not _htmx(request):
        return _back(current)
    return _cart_response(request, current, context)


@require_POST
@_orders_section
def order_place(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Place the cart's order for the conversation's customer; then send the summary in this chat."""
    current = _conversation(conversation_id)
    cart = Cart.load(request, _cart_name(current))
    posted_key = request.POST.get("idempotency_key", "")
    outcome: Outcome | None = None
    if cart.placed and posted_key == cart.placed.get("key"):
        pass  # a second click on a form already placed: show that order again
    else:
        cart.take_details(request.POST)
        _prefill(cart, current)
        outcome = place_cart(
            actor=request.user,
            cart=cart,
            source=source_of(current),
            customer=orders_actions.CustomerIn(id=current.customer_id),
            fulfillment=fulfillment_of(cart),
            conversation=current,
        )
        if outcome.placed is not None:
            order = outcome.placed.order
            payment_note = record_payment(actor=request.user, placed=outcome.placed, method=cart.payment, paid=False)
            sent, note = send_summary(actor=request.user, conversation=current, order=order)
            payment_note = " ".join(n for n in (outcome.delivery_note, payment_note) if n)
            placed = {"key": cart.key, "order": order.pk, "sent": sent, "note": note, "payment_note": payment_note}
            cart.clear(placed=placed)
            outcome = None
    context = composer_context(request, current, cart=cart, outcome=outcome)
    cart.save(request)
    if not _htmx(request):
        return _back(current)
    parts: list[str] = [render_to_string("console/_order_composer_cart.html", context, request=request)]
    if cart.placed:
        fresh = _conversation(conversation_id)
        card = {
            **inbox_views._card_context(fresh),
            "can_customers": permissions.can(request.user, Section.CUSTOMERS),  # type: ignore[arg-type]
        }
        parts.append(
            '<div id="inbox-card" hx-swap-oob="innerHTML">'
            + render_to_string("console/_inbox_card.html", card, request=request)
            + "</div>"
        )
        parts.append(
            render_to_string(
                "console/_inbox_messages.html",
                {**inbox_views._messages_context(fresh), "oob": True, "me": request.user},
                request=request,
            )
        )
    return HttpResponse("".join(parts))
