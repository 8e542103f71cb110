"""The store terminal ("endless aisle" at the counter): a clerk sells what is here, and what is not.

Scan or type a barcode, SKU or name: this store's quantity first, every other location below ("where else
is this size"). A cart per store kept in the session; the customer by phone (found or created by the
orders action through the customers actions) with an optional name; then take it away now (from this
store's shelf), pick it up here later or at another store (sourced from wherever it is), or have it
delivered. Paid at the terminal (cash, card terminal, Kaspi) and recorded as paid; a take-away paid in full
is handed over at once. Placed through `orders.actions.check_place_order` (source "store", placed by the
clerk, the cart's Idempotency-Key), confirmed with a receipt that links the order page.

Clerks sell for their own store; owners, managers and operators pick the store.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from omnia.console import order_composer_views as composer
from omnia.console.views import section_required
from omnia.core.errors import DomainError
from omnia.core.money import format_money
from omnia.core.permissions import Role, Section
from omnia.inventory import queries as inventory_queries
from omnia.inventory.models import Location
from omnia.orders import actions as orders_actions
from omnia.orders import actions_payments
from omnia.orders.models import Order, Payment, Source

# How the customer gets it, as the terminal offers it → (order fulfilment, which location).
TAKEAWAY, PICKUP_HERE, PICKUP_OTHER, DELIVERY = "takeaway", "pickup_here", "pickup_other", "delivery"
FULFILLMENTS = [
    (TAKEAWAY, _("Take away now, from this store")),
    (PICKUP_HERE, _("Pick up here later")),
    (PICKUP_OTHER, _("Pick up at another store")),
    (DELIVERY, _("Deliver to the customer")),
]
TERMINAL_METHODS = [
    (Payment.Method.CASH_IN_STORE, Payment.Method.CASH_IN_STORE.label),
    (Payment.Method.CARD_TERMINAL, Payment.Method.CARD_TERMINAL.label),
    (Payment.Method.KASPI_PAY, Payment.Method.KASPI_PAY.label),
]
MESSAGES = {
    "PAYMENT_REQUIRED": _("A take-away is paid at the counter: choose how the customer pays."),
    "PICKUP_HERE_NOT_OFFERED": _("This store does not offer pick-up: choose another store or delivery."),
    "PHONE_FOR_ORDER": _("Give the customer's phone number: they are told when the order is ready, and find it by it."),
}


def _stores() -> list[Location]:
    return composer.selling_stores()


def _store_for(request: HttpRequest, value: Any) -> Location | None:
    """The clerk's own store; for everyone else the store they picked (None until they do)."""
    user = request.user
    if getattr(user, "role", None) == Role.CLERK:
        return getattr(user, "store", None)
    pk = composer._int(value)
    return next((s for s in _stores() if s.pk == pk), None) if pk is not None else None


def _cart(request: HttpRequest, store: Location) -> composer.Cart:
    cart = composer.Cart.load(request, f"omnia.order_cart.terminal.{store.pk}")
    if cart.fulfillment not in dict(FULFILLMENTS):
        cart.fulfillment = TAKEAWAY
    return cart


def _receipt(cart: composer.Cart) -> dict[str, Any]:
    if not cart.placed:
        return {}
    order = (
        Order.objects.filter(pk=composer._int(cart.placed.get("order")) or 0)
        .select_related("customer", "location")
        .first()
    )
    if order is None:
        return {}
    lines = [
        {
            "line": line,
            "name": f"{line.variant.product.name}, {line.variant.name}"
            if line.variant.name
            else line.variant.product.name,
            "total": format_money(line.line_total, order.currency),
        }
        for line in order.lines.select_related("variant__product", "location")
    ]
    paid = actions_payments.paid_sum(order)
    return {
        "order": order,
        "receipt_lines": lines,
        "order_total": format_money(order.total, order.currency),
        "order_paid": format_money(paid, order.currency),
        "order_due": format_money(order.total - paid, order.currency),
        "order_url": reverse("console:order_detail", args=[order.pk]),
        "payments": list(order.payments.all()),
        "receipt_notes": [n for n in (cart.placed.get("payment_note", ""), cart.placed.get("handover_note", "")) if n],
    }


def _context(
    request: HttpRequest, store: Location, cart: composer.Cart, outcome: composer.Outcome | None = None
) -> dict[str, Any]:
    here = store.pk if cart.fulfillment in (TAKEAWAY, PICKUP_HERE) else None
    errors = outcome.line_errors if outcome else None
    lines, total = composer.cart_lines(cart, source=Source.STORE, errors=errors, at=here)
    return {
        "store": store,
        "cart": cart,
        "lines": lines,
        "total": total,
        "cart_url": reverse("console:terminal_cart"),
        "fulfillments": FULFILLMENTS,
        "other_stores": composer.pickup_choices(cart, [p for p in composer.pickup_locations() if p.pk != store.pk]),
        "methods": TERMINAL_METHODS,
        "delivery": composer.delivery_quote(cart),
        "error": outcome.error if outcome else "",
        "error_field": outcome.field if outcome else "",
        **_receipt(cart),
    }


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _back(store: Location) -> HttpResponse:
    return redirect(f"{reverse('console:terminal')}?store={store.pk}")


@require_GET
@section_required(Section.ORDERS)
def terminal(request: HttpRequest) -> HttpResponse:
    """The terminal page for the clerk's store (or the store picked)."""
    store = _store_for(request, request.GET.get("store"))
    context: dict[str, Any] = {
        "store": store,
        "stores": _stores(),
        "is_clerk": getattr(request.user, "role", None) == Role.CLERK,
        "topics": "stock",
    }
    if store is not None:
        cart = _cart(request, store)
        context.update(_context(request, store, cart))
        cart.save(request)
    return render(request, "console/terminal.html", context)


@require_GET
@section_required(Section.ORDERS)
def terminal_search(request: HttpRequest) -> HttpResponse:
    """Search results: this store's quantity first, then where else it is."""
    store = _store_for(request, request.GET.get("store"))
    if store is None:
        return HttpResponse(status=400)
    if not _htmx(request):
        return _back(store)
    q = request.GET.get("q", "")
    rows = composer.search_rows(q, source=Source.STORE, cart=_cart(request, store), store=store)
    context = {
        "q": q.strip(),
        "rows": rows,
        "add_url": reverse("console:terminal_cart"),
        "cart_target": "#terminal-cart",
        "scan_box": "terminal-q",  # after an add, the next scan goes to the search box
    }
    return HttpResponse(render_to_string("console/_order_composer_results.html", context, request=request))


def _cart_response(request: HttpRequest, store: Location, context: dict[str, Any]) -> HttpResponse:
    if not _htmx(request):
        return _back(store)
    return HttpResponse(render_to_string("console/terminal_cart.html", context, request=request))


@require_POST
@section_required(Section.ORDERS)
def terminal_cart(request: HttpRequest) -> HttpResponse:
    """Change the cart: add, remove, quantities, the customer, how they get it, how they pay."""
    store = _store_for(request, request.POST.get("store"))
    if store is None:
        return HttpResponse(status=400)
    cart = _cart(request, store)
    composer.apply_cart_post(cart, request.POST)
    if cart.lines:
        cart.placed = None
    context = _context(request, store, cart)
    cart.save(request)
    return _cart_response(request, store, context)


def _fulfillment(cart: composer.Cart, store: Location) -> orders_actions.FulfillmentIn:
    if cart.fulfillment == TAKEAWAY:
        return orders_actions.FulfillmentIn(type=Order.Fulfillment.TAKEAWAY, location=store)
    if cart.fulfillment == PICKUP_HERE:
        return orders_actions.FulfillmentIn(type=Order.Fulfillment.PICKUP, location=store)
    if cart.fulfillment == PICKUP_OTHER:
        location = inventory_queries.list_locations().filter(pk=cart.location).first() if cart.location else None
        return orders_actions.FulfillmentIn(type=Order.Fulfillment.PICKUP, location=location)
    delivery = composer.Cart(name="", fulfillment=Order.Fulfillment.DELIVERY, address=cart.address)
    return composer.fulfillment_of(delivery)


def _refusal(cart: composer.Cart, store: Location) -> composer.Outcome | None:
    """What the terminal itself asks for before placing (the action checks the rest)."""
    if cart.fulfillment == TAKEAWAY and cart.payment not in dict(TERMINAL_METHODS):
        return composer.Outcome(error=str(MESSAGES["PAYMENT_REQUIRED"]), field="payment")
    if cart.fulfillment == PICKUP_HERE and not store.offers_pickup:
        return composer.Outcome(error=str(MESSAGES["PICKUP_HERE_NOT_OFFERED"]), field="fulfillment.location")
    if cart.lines and not cart.phone and cart.fulfillment != TAKEAWAY:  # a take-away needs no card
        return composer.Outcome(error=str(MESSAGES["PHONE_FOR_ORDER"]), field="customer.phone")
    return None


def _hand_over(*, actor: Any, order: Order) -> str:
    """A take-away paid in full leaves with the customer: the order is completed (stock sold)."""
    if order.status == Order.Status.COMPLETED or actions_payments.paid_sum(order) < order.total:
        return ""
    try:
        orders_actions.check_transition(
            actor=actor, order=order, to=Order.Status.COMPLETED, reason="sold at the counter"
        )
    except DomainError as exc:
        return composer.error_text(exc)
    return ""


@require_POST
@section_required(Section.ORDERS)
def terminal_place(request: HttpRequest) -> HttpResponse:
    """Place the sale: the order (source store, this clerk), its payment, and a take-away handed over."""
    store = _store_for(request, request.POST.get("store"))
    if store is None:
        return HttpResponse(status=400)
    cart = _cart(request, store)
    outcome: composer.Outcome | None = None
    if not (cart.placed and request.POST.get("idempotency_key", "") == cart.placed.get("key")):
        cart.take_details(request.POST)
        outcome = _refusal(cart, store) or composer.place_cart(
            actor=request.user,
            cart=cart,
            source=Source.STORE,
            customer=orders_actions.CustomerIn(phone=cart.phone, name=cart.customer_name),
            fulfillment=_fulfillment(cart, store),
            location=store,  # sold here, wherever it is picked up or shipped from
        )
        if outcome.placed is not None:
            order = outcome.placed.order
            payment_note = ""
            if cart.payment in dict(TERMINAL_METHODS):
                payment_note = composer.record_payment(
                    actor=request.user, placed=outcome.placed, method=cart.payment, paid=True
                )
            handover = cart.fulfillment == TAKEAWAY and outcome.placed.created
            handover_note = _hand_over(actor=request.user, order=order) if handover else ""
            payment_note = " ".join(n for n in (outcome.delivery_note, payment_note) if n)
            placed = {"key": cart.key, "order": order.pk, "payment_note": payment_note, "handover_note": handover_note}
            cart.clear(placed=placed)
            cart.fulfillment = TAKEAWAY
            outcome = None
    context = _context(request, store, cart, outcome)
    cart.save(request)
    return _cart_response(request, store, context)
