"""The built-in notification texts: what the customer gets for an event when the shop wrote no template.

Written in English and translated (ru, kk) through gettext like every other string. A text is a list of
lines; a line is one or more alternatives, and the first whose variables all have a value is used (so a
customer without a first name is greeted "Hello!", an order without a pick-up address simply does not
mention one). A line with none is left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from omnia.notifications import variables
from omnia.notifications.models import Event

Line = tuple[str | Promise, ...]


@dataclass(frozen=True)
class BuiltIn:
    subject: Line
    lines: tuple[Line, ...]


GREETING: Line = ("{{customer.greeting}}",)  # "Hello, Aigerim!" or "Hello!", translated

BUILT_IN: dict[str, BuiltIn] = {
    Event.ORDER_CONFIRMED: BuiltIn(
        subject=(pgettext_lazy("notification text", "Order {{order.number}} is confirmed"),),
        lines=(
            GREETING,
            (
                pgettext_lazy(
                    "notification text", "Thank you! Your order {{order.number}} is confirmed: {{order.items}}."
                ),
                pgettext_lazy("notification text", "Thank you! Your order {{order.number}} is confirmed."),
            ),
            (pgettext_lazy("notification text", "Total: {{order.total}}."),),
            (
                pgettext_lazy("notification text", "Expected delivery: {{order.delivery_date}}."),
                pgettext_lazy(
                    "notification text", "You can pick it up at {{order.pickup_location}}, {{order.pickup_address}}."
                ),
                pgettext_lazy("notification text", "You can pick it up at {{order.pickup_location}}."),
            ),
            (pgettext_lazy("notification text", "We will let you know when it is on its way or ready."),),
        ),
    ),
    Event.READY_FOR_PICKUP: BuiltIn(
        subject=(pgettext_lazy("notification text", "Order {{order.number}} is ready for pick-up"),),
        lines=(
            GREETING,
            (
                pgettext_lazy(
                    "notification text",
                    "Your order {{order.number}} is ready and waiting for you at {{order.pickup_location}}.",
                ),
                pgettext_lazy("notification text", "Your order {{order.number}} is ready for pick-up."),
            ),
            (pgettext_lazy("notification text", "Address: {{order.pickup_address}}."),),
            (pgettext_lazy("notification text", "Opening hours: {{order.opening_hours}}."),),
            (pgettext_lazy("notification text", "Please give the order number when you come."),),
        ),
    ),
    Event.SHIPPED: BuiltIn(
        subject=(pgettext_lazy("notification text", "Order {{order.number}} is on its way"),),
        lines=(
            GREETING,
            (
                pgettext_lazy(
                    "notification text", "Your order {{order.number}} has been handed to {{parcel.carrier}}."
                ),
                pgettext_lazy("notification text", "Your order {{order.number}} is on its way."),
            ),
            (pgettext_lazy("notification text", "Tracking number: {{parcel.tracking_number}}."),),
            (pgettext_lazy("notification text", "Track it here: {{parcel.tracking_url}}"),),
            (
                pgettext_lazy("notification text", "Expected delivery: {{parcel.expected_date}}."),
                pgettext_lazy("notification text", "Expected delivery: {{order.delivery_date}}."),
            ),
        ),
    ),
    Event.AT_PICKUP_POINT: BuiltIn(
        subject=(pgettext_lazy("notification text", "Order {{order.number}} is waiting at the pick-up point"),),
        lines=(
            GREETING,
            (
                pgettext_lazy(
                    "notification text",
                    "Your order {{order.number}} has arrived at the pick-up point: {{parcel.pickup_point}}.",
                ),
                pgettext_lazy("notification text", "Your order {{order.number}} has arrived at the pick-up point."),
            ),
            (pgettext_lazy("notification text", "Tracking number: {{parcel.tracking_number}}."),),
            (
                pgettext_lazy(
                    "notification text", "Please collect it soon: pick-up points keep parcels for a limited time."
                ),
            ),
        ),
    ),
    Event.DELIVERED: BuiltIn(
        subject=(pgettext_lazy("notification text", "Order {{order.number}} has been delivered"),),
        lines=(
            GREETING,
            (pgettext_lazy("notification text", "Your order {{order.number}} has been delivered."),),
            (
                pgettext_lazy("notification text", "Thank you for shopping at {{shop.name}}!"),
                pgettext_lazy("notification text", "Thank you for shopping with us!"),
            ),
        ),
    ),
    Event.DELAYED: BuiltIn(
        subject=(pgettext_lazy("notification text", "Order {{order.number}} is delayed"),),
        lines=(
            GREETING,
            (
                pgettext_lazy(
                    "notification text",
                    "We are sorry: the delivery of your order {{order.number}} is taking longer than planned.",
                ),
            ),
            (pgettext_lazy("notification text", "It is now expected on {{parcel.expected_date}}."),),
            (pgettext_lazy("notification text", "Track it here: {{parcel.tracking_url}}"),),
        ),
    ),
    Event.PAYMENT_RECEIVED: BuiltIn(
        subject=(pgettext_lazy("notification text", "Payment for order {{order.number}} received"),),
        lines=(
            GREETING,
            (
                pgettext_lazy(
                    "notification text",
                    "We have received your payment of {{payment.amount}} for order {{order.number}}. Thank you!",
                ),
                pgettext_lazy(
                    "notification text", "We have received your payment for order {{order.number}}. Thank you!"
                ),
            ),
        ),
    ),
    Event.BACK_IN_STOCK: BuiltIn(
        subject=(pgettext_lazy("notification text", "{{product.name}} is back in stock"),),
        lines=(
            GREETING,
            (
                pgettext_lazy(
                    "notification text", "{{product.name}} ({{variant.name}}) is back in stock at {{location.name}}."
                ),
                pgettext_lazy("notification text", "{{product.name}} is back in stock at {{location.name}}."),
                pgettext_lazy("notification text", "{{product.name}} ({{variant.name}}) is back in stock."),
                pgettext_lazy("notification text", "{{product.name}} is back in stock."),
            ),
            (pgettext_lazy("notification text", "Address: {{location.address}}."),),
            (pgettext_lazy("notification text", "Quantities are limited: we do not hold it for you."),),
        ),
    ),
    Event.REPLY_WAITING: BuiltIn(
        subject=(
            pgettext_lazy("notification text", "{{shop.name}} replied to you"),
            pgettext_lazy("notification text", "You have a new reply"),
        ),
        lines=(
            GREETING,
            (
                pgettext_lazy("notification text", "We have replied to your message: “{{reply.preview}}”"),
                pgettext_lazy("notification text", "We have replied to your message."),
            ),
            (pgettext_lazy("notification text", "Open the chat on our website to continue."),),
        ),
    ),
}


def _first_filled(line: Line, context: Mapping[str, Any], language: str) -> str | None:
    for alternative in line:
        text = str(alternative)
        if not variables.empty_variables(text, context, language):
            return text
    return None


# An order handed out in a store raises "delivered" too: it is thanked for being picked up.
PICKED_UP = BuiltIn(
    subject=(pgettext_lazy("notification text", "Order {{order.number}} has been picked up"),),
    lines=(
        GREETING,
        (pgettext_lazy("notification text", "You have picked up your order {{order.number}}."),),
        (
            pgettext_lazy("notification text", "Thank you for shopping at {{shop.name}}!"),
            pgettext_lazy("notification text", "Thank you for shopping with us!"),
        ),
    ),
)


def built_in_for(event: str, context: Mapping[str, Any]) -> BuiltIn:
    """The built-in text for `event` (for "delivered", the picked-up one when the order was handed out)."""
    if event == Event.DELIVERED and (context.get("order") or {}).get("status") == "picked_up":
        return PICKED_UP
    return BUILT_IN[event]


def render_built_in(event: str, context: Mapping[str, Any], language: str) -> tuple[str, str]:
    """(text, subject) of the built-in text for `event`, filled in; call it inside translation.override."""
    built_in = built_in_for(event, context)
    lines = [_first_filled(line, context, language) for line in built_in.lines]
    body = "\n".join(variables.render(line, context, language) for line in lines if line is not None)
    subject = _first_filled(built_in.subject, context, language) or str(built_in.subject[-1])
    return body, variables.render(subject, context, language)


def source_of(event: str) -> tuple[str, str]:
    """(body, subject) of the built-in text as an editable template, in the active language: the first
    alternative of every line (the editor starts from it when the shop has none)."""
    built_in = BUILT_IN[event]
    return "\n".join(str(line[0]) for line in built_in.lines), str(built_in.subject[0])


def lines_of(event: str) -> Sequence[Line]:
    return BUILT_IN[event].lines
