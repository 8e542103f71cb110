"""Console pages for the order book: the list (filters, saved views), the order page and its actions
(status moves, payments, the duplicate flag, returns and exchanges).

Thin: parse the request (order_forms), call orders queries/actions, render. Every change is a POST through
an orders action; a refusal is shown on the form and changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from omnia.console import order_forms as forms
from omnia.console.views import section_required
from omnia.core.errors import DomainError
from omnia.core.money import format_money
from omnia.core.permissions import Role, Section
from omnia.inventory.models import Location
from omnia.orders import actions as orders_actions
from omnia.orders import actions_payments, actions_returns, actions_shipments, actions_views
from omnia.orders import queries as orders_queries
from omnia.orders.models import Order, OrderLine, Payment, Shipment
from omnia.orders.queries import OrderNotFound, PaymentNotFound, ShipmentNotFound

PER_PAGE = 50
PAYMENT_LABELS = dict(forms.PAYMENT_STATES)
# Payment moves offered as buttons from each payment status.
PAYMENT_BUTTONS: dict[str, list[str]] = {
    Payment.Status.PENDING: [Payment.Status.PAID, Payment.Status.FAILED],
    Payment.Status.PAID: [Payment.Status.REFUNDED],
}


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _money(amount: Any, currency: str | None = None) -> str:
    return format_money(Decimal(amount), currency or str(settings.OMNIA_CURRENCY))


def _my_store(request: HttpRequest) -> Location | None:
    """A clerk's own store; None for everyone else."""
    user = request.user
    if getattr(user, "role", None) != Role.CLERK:
        return None
    return getattr(user, "store", None)


def _order(pk: int) -> Order:
    try:
        return orders_queries.get_order(pk)
    except OrderNotFound as exc:
        raise Http404(exc.message) from exc


# --- the list --------------------------------------------------------------------------------------------


def _row(order: Order) -> dict[str, Any]:
    state = orders_queries.payment_state(order)
    return {
        "order": order,
        "customer": (order.customer.full_name or f"#{order.customer.pk}") if order.customer else "",
        "total": _money(order.total, order.currency),
        "payment_state": state,
        "payment_label": PAYMENT_LABELS.get(state, state),
    }


@require_GET
@section_required(Section.ORDERS)
def order_list(request: HttpRequest) -> HttpResponse:
    """The order book: filters in the URL, newest first, saved views as tabs; a clerk starts on their store."""
    form = forms.OrderFilterForm(request.GET or None)
    store = _my_store(request)
    mine = store is not None and request.GET.get("mine", "1") == "1" and not request.GET.get("location")
    filters = form.filters(default_location=store if mine else None)
    page = Paginator(orders_queries.search_orders(filters), PER_PAGE).get_page(request.GET.get("page"))
    query = actions_views.clean_query(request.GET.urlencode())
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "rows": [_row(order) for order in page.object_list],
        "query": query,
        "mine": mine,
        "store": store,
        "all_query": urlencode({"mine": "0"}) if store is not None else "",
        "topics": "orders",
    }
    views = list(actions_views.visible_views(request.user))
    context.update(
        views=views,
        active_view=next((v for v in views if v.query == query), None),
        can_share=actions_views.can_share(request.user),
    )
    if _htmx(request) and request.headers.get("HX-Target") == "order-book":
        return render(request, "console/_order_book.html", context)
    return render(request, "console/orders.html", context)


@require_POST
@section_required(Section.ORDERS)
def order_view_save(request: HttpRequest) -> HttpResponse:
    form = forms.SaveViewForm(request.POST)
    query = actions_views.clean_query(request.POST.get("query", ""))
    if form.is_valid():
        try:
            view = actions_views.check_save_view(
                actor=request.user, name=form.cleaned_data["name"], query=query, shared=form.cleaned_data["shared"]
            )
        except DomainError as exc:
            messages.error(request, forms.error_message(exc))
        else:
            messages.success(request, gettext("The view “%(name)s” is saved.") % {"name": view.name})
            return redirect(f"{reverse('console:orders')}?{view.query}" if view.query else reverse("console:orders"))
    else:
        messages.error(request, gettext("Name the view."))
    return redirect(f"{reverse('console:orders')}?{query}")


@require_POST
@section_required(Section.ORDERS)
def order_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    view = actions_views.visible_views(request.user).filter(pk=view_id).first()
    if view is None:
        raise Http404(gettext("No such view."))
    try:
        actions_views.check_delete_view(actor=request.user, view=view)
    except DomainError as exc:
        messages.error(request, forms.error_message(exc))
    else:
        messages.success(request, gettext("The view “%(name)s” is deleted.") % {"name": view.name})
    return redirect("console:orders")


# --- the order page ----------------------------------------------------------------------------------------


def _lines(order: Order) -> list[OrderLine]:
    return list(order.lines.select_related("variant__product", "location").order_by("pk"))


def _returnable(order: Order, lines: list[OrderLine]) -> list[tuple[OrderLine, int]]:
    returned = actions_returns.returned_quantities(order)
    return [(line, line.quantity - returned.get(line.pk, 0)) for line in lines]


def _history(order: Order) -> list[dict[str, Any]]:
    """Status changes, payments and returns in one list, oldest first."""
    labels = dict(Order.Status.choices)
    events: list[dict[str, Any]] = []
    for change in order.history.all():
        events.append(
            {
                "at": change.at,
                "kind": "status",
                "old": labels.get(change.old, change.old),
                "new": labels.get(change.new, change.new),
                "new_value": change.new,
                "actor": change.actor,
                "reason": change.reason,
            }
        )
    refunds = {record.refund_id for record in order.returns.all() if record.refund_id}
    for payment in order.payments.all():
        if payment.pk in refunds:
            continue  # a refund shows with its return
        events.append({"at": payment.created_at, "kind": "payment", "payment": payment,
                       "amount": _money(payment.amount, order.currency)})  # fmt: skip
    for record in order.returns.all():
        events.append(
            {
                "at": record.at,
                "kind": "return",
                "record": record,
                "actor": record.actor,
                "refund": _money(record.refund.amount, order.currency) if record.refund else "",
            }
        )
    shipment_labels = dict(Shipment.Status.choices)
    for move in orders_queries.shipment_history(order):
        events.append(
            {
                "at": move.at,
                "kind": "shipment",
                "location": move.shipment.location.name,
                "old": shipment_labels.get(move.old, move.old),
                "new": shipment_labels.get(move.new, move.new),
                "actor": move.actor,
                "reason": move.reason,
            }
        )
    if not any(event["kind"] == "status" for event in events):  # an imported order without its history
        events.append({"at": order.placed_at, "kind": "placed", "actor": order.placed_by})
    events.sort(key=lambda event: event["at"])
    return events


def _detail_context(request: HttpRequest, order: Order, **forms_given: Any) -> dict[str, Any]:
    lines = _lines(order)
    returnable = _returnable(order, lines)
    returned = dict((line.pk, line.quantity - left) for line, left in returnable)
    paid = actions_payments.paid_sum(order)
    refunded = sum((p.amount for p in order.payments.all() if p.status == Payment.Status.REFUNDED), Decimal(0))
    first_paid = next(
        (p for p in order.payments.all() if p.status in (Payment.Status.PAID, Payment.Status.REFUNDED)), None
    )
    store = _my_store(request)
    allowed = orders_actions.allowed_transitions(order)
    labels = dict(Order.Status.choices)
    can_return = "return_form" in forms_given or (
        order.status in actions_returns.RETURNABLE and any(left > 0 for _line, left in returnable)
    )
    return_form = forms_given.get("return_form") or forms.ReturnForm(
        lines=returnable,
        initial={
            "location": store if store is not None and store.accepts_returns else None,
            "refund_method": first_paid.method if first_paid else Payment.Method.CASH_IN_STORE,
            "outcome": "refund" if paid > 0 else "none",  # nothing was paid: nothing to give back by default
        },
    )
    kaspi = getattr(order, "kaspi", None)  # a missing one-to-one raises an AttributeError subclass
    shipment_labels = dict(Shipment.Status.choices)
    shipments = list(order.shipments.all())
    return {
        "order": order,
        "lines": [
            {
                "line": line,
                "attributes": line.variant.attributes or {},
                "unit_price": _money(line.unit_price, order.currency),
                "discount": _money(line.discount, order.currency) if line.discount else "",
                "total": _money(line.line_total, order.currency),
                "returned": returned.get(line.pk, 0),
            }
            for line in lines
        ],
        "total": _money(order.total, order.currency),
        "paid": _money(paid, order.currency),
        "due": _money(max(order.total - paid, Decimal(0)), order.currency),
        "due_amount": max(order.total - paid, Decimal(0)),
        "refunded": _money(refunded, order.currency) if refunded else "",
        "payment_state": PAYMENT_LABELS.get(orders_queries.payment_state(order)),
        "payments": [
            {"payment": p, "amount": _money(p.amount, order.currency), "moves": PAYMENT_BUTTONS.get(p.status, [])}
            for p in order.payments.all()
        ],
        "payment_labels": dict(Payment.Status.choices),
        "history": _history(order),
        # Cancelling asks for a reason (its own form); "returned" comes from the returns form, which restocks.
        # "paid" last: recording the payment is the usual way there (it moves the order by itself).
        "moves": sorted(
            [(to, labels[to]) for to in allowed if to not in (Order.Status.CANCELLED, Order.Status.RETURNED)],
            key=lambda move: move[0] == Order.Status.PAID,
        ),
        "has_discount": any(line.discount for line in lines),
        "can_cancel": Order.Status.CANCELLED in allowed,
        "transition_form": forms_given.get("transition_form") or forms.TransitionForm(),
        "payment_form": forms_given.get("payment_form")
        or forms.PaymentForm(initial={"amount": max(order.total - paid, Decimal(0)) or None, "paid": True}),
        "takes_payments": order.status not in actions_payments.CLOSED,
        "can_return": can_return,
        "return_form": return_form,
        "open_return": "return_form" in forms_given,
        "kaspi": kaspi,
        "replacements": [r.replacement for r in order.returns.all() if r.replacement_id],
        "replaces": list(order.replaces.select_related("order")),
        # A split order (parts from several locations): each part with its lines and the moves it allows.
        "shipments": [
            {
                "shipment": shipment,
                "lines": [line for line in lines if line.location_id == shipment.location_id],
                "moves": [(to, shipment_labels[to]) for to in actions_shipments.allowed_moves(shipment, order)],
            }
            for shipment in shipments
        ]
        if len(shipments) > 1
        else [],
        "fulfilment": orders_queries.fulfilment_summary(order),
        "topics": "orders",
    }


@require_GET
@section_required(Section.ORDERS)
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(pk)
    return render(request, "console/order_detail.html", _detail_context(request, order))


def _back(order: Order) -> HttpResponse:
    return redirect("console:order_detail", order.pk)


def _refused(request: HttpRequest, order: Order, **forms_given: Any) -> HttpResponse:
    order = _order(order.pk)  # as it is now: nothing was changed
    return render(request, "console/order_detail.html", _detail_context(request, order, **forms_given), status=422)


@require_POST
@section_required(Section.ORDERS)
def order_transition(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(pk)
    form = forms.TransitionForm(request.POST)
    if not form.is_valid():
        return _refused(request, order, transition_form=form)
    to = form.cleaned_data["to"]
    try:
        orders_actions.check_transition(actor=request.user, order=order, to=to, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        form.add_domain_error(exc)
        return _refused(request, order, transition_form=form)
    messages.success(
        request,
        gettext("Order %(number)s is now %(status)s.") % {"number": order.number, "status": Order.Status(to).label},
    )
    return _back(order)


@require_POST
@section_required(Section.ORDERS)
def order_shipment_move(request: HttpRequest, pk: int, shipment_id: int) -> HttpResponse:
    """Move one location's part on; a refusal is shown as a message and changes nothing."""
    order = _order(pk)
    try:
        shipment = orders_queries.get_shipment(order, shipment_id)
    except ShipmentNotFound as exc:
        raise Http404(exc.message) from exc
    to = request.POST.get("to", "")
    try:
        actions_shipments.check_move_shipment(
            actor=request.user, shipment=shipment, to=to, reason=request.POST.get("reason", "")[:300]
        )
    except DomainError as exc:
        refused = gettext("The part from %(location)s cannot move there from its current status.") % {
            "location": shipment.location.name
        }
        messages.error(request, refused if exc.code == "TRANSITION_NOT_ALLOWED" else forms.error_message(exc))
        return _back(order)
    messages.success(
        request,
        gettext("The part from %(location)s is now %(status)s.")
        % {"location": shipment.location.name, "status": Shipment.Status(to).label},
    )
    return _back(order)


@require_POST
@section_required(Section.ORDERS)
def order_payment_add(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(pk)
    form = forms.PaymentForm(request.POST)
    if not form.is_valid():
        return _refused(request, order, payment_form=form)
    data = form.cleaned_data
    try:
        payment = actions_payments.check_add_payment(
            actor=request.user,
            order=order,
            method=data["method"],
            amount=data["amount"],
            reference=data["reference"],
            status=Payment.Status.PAID if data["paid"] else Payment.Status.PENDING,
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return _refused(request, order, payment_form=form)
    order.refresh_from_db()
    text = gettext("Payment of %(amount)s (%(method)s) recorded.") % {
        "amount": _money(payment.amount, order.currency),
        "method": payment.get_method_display(),
    }
    if order.status == Order.Status.PAID and payment.status == Payment.Status.PAID:
        text = f"{text} {gettext('The order is paid in full.')}"
    messages.success(request, text)
    return _back(order)


@require_POST
@section_required(Section.ORDERS)
def order_payment_status(request: HttpRequest, pk: int, payment_id: int) -> HttpResponse:
    order = _order(pk)
    try:
        payment = orders_queries.get_payment(order, payment_id)
    except PaymentNotFound as exc:
        raise Http404(exc.message) from exc
    form = forms.PaymentStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choose what the payment becomes."))
        return _back(order)
    try:
        payment = actions_payments.check_set_payment_status(
            actor=request.user, payment=payment, status=form.cleaned_data["status"]
        )
    except DomainError as exc:
        messages.error(request, forms.error_message(exc))
        return _back(order)
    messages.success(
        request,
        gettext("The payment of %(amount)s is now %(status)s.")
        % {"amount": _money(payment.amount, order.currency), "status": payment.get_status_display()},
    )
    return _back(order)


@require_POST
@section_required(Section.ORDERS)
def order_not_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(pk)
    orders_actions.check_clear_duplicate(actor=request.user, order=order)
    messages.success(request, gettext("Order %(number)s is marked as not a duplicate.") % {"number": order.number})
    return _back(order)


@require_POST
@section_required(Section.ORDERS)
def order_return(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(pk)
    returnable = _returnable(order, _lines(order))
    form = forms.ReturnForm(request.POST, lines=returnable)
    if not form.is_valid():
        return _refused(request, order, return_form=form)
    data = form.cleaned_data
    lines = [actions_returns.ReturnLineIn(line.variant, quantity) for line, quantity in form.returned]
    refund = None
    if data["outcome"] == "refund":
        amount = data["refund_amount"] or _return_value(order, form.returned)
        refund = actions_returns.RefundIn(method=data["refund_method"], amount=amount) if amount > 0 else None
    exchange = None
    if data["outcome"] == "exchange":
        exchange = actions_returns.ExchangeIn(
            lines=[orders_actions.LineIn(variant, quantity) for variant, quantity in form.exchange]
        )
    try:
        done = actions_returns.check_return(
            actor=request.user,
            order=order,
            location=data["location"],
            lines=lines,
            reason=data["reason"],
            refund=refund,
            exchange=exchange,
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return _refused(request, order, return_form=form)
    units = sum(quantity for _line, quantity in form.returned)
    text = gettext("%(units)s units returned at %(location)s.") % {"units": units, "location": data["location"].name}
    if done.record.refund is not None:
        text += " " + gettext("Refund: %(amount)s.") % {"amount": _money(done.record.refund.amount, order.currency)}
    if done.record.replacement is not None:
        text += " " + gettext("Exchange order %(number)s placed.") % {"number": done.record.replacement.number}
    messages.success(request, text)
    return _back(order)


def _return_value(order: Order, returned: list[tuple[OrderLine, int]]) -> Decimal:
    """What the returned units are worth, never more than is left to refund on the order."""
    value = sum((line.line_total * quantity / line.quantity for line, quantity in returned), Decimal(0))
    refunded = sum((p.amount for p in order.payments.all() if p.status == Payment.Status.REFUNDED), Decimal(0))
    return max(min(value.quantize(Decimal("0.01")), order.total - refunded), Decimal(0))
