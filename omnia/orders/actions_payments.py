"""Payments against an order: recorded (pending or already paid), then marked paid, failed or refunded.

What is paid may never exceed the order's total: the order row is locked while the paid sum is checked,
so two payments arriving at once cannot both slip under it (PAYMENT_TOO_LARGE). Once the paid payments
cover the total, the order moves to paid (when its status allows) in the same transaction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum

from omnia.core import clock
from omnia.core.errors import Conflict, ValidationFailed
from omnia.core.events import publish_on_commit
from omnia.orders import actions as orders_actions
from omnia.orders.events import OrderPaid
from omnia.orders.models import Order, Payment

P = Payment.Status
# A payment's own small status machine.
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    P.PENDING: frozenset({P.PAID, P.FAILED}),
    P.PAID: frozenset({P.REFUNDED}),
    P.FAILED: frozenset(),
    P.REFUNDED: frozenset(),
}
CLOSED = frozenset({Order.Status.CANCELLED, Order.Status.RETURNED})


class OrderClosed(Conflict):
    code = "ORDER_CLOSED"


class PaymentTransitionNotAllowed(Conflict):
    code = "PAYMENT_TRANSITION_NOT_ALLOWED"


def clean_method(method: str, *, field: str) -> str:
    """A method from Payment.Method (METHOD_INVALID naming `field` otherwise)."""
    if method not in Payment.Method.values:
        raise ValidationFailed(
            f"Unknown method {method!r}: one of {', '.join(Payment.Method.values)}.", field=field, code="METHOD_INVALID"
        )
    return method


def clean_amount(amount: Decimal, *, field: str) -> Decimal:
    """An amount above zero with at most two decimals (AMOUNT_INVALID naming `field` otherwise)."""
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed("An amount is above zero, in at most two decimals.", field=field, code="AMOUNT_INVALID")
    return amount


def paid_sum(order: Order) -> Decimal:
    """What has been paid (and not refunded) for the order."""
    total = Payment.objects.filter(order=order, status=P.PAID).aggregate(total=Sum("amount"))["total"]
    return Decimal(total or 0)


def _publish_if_paid(order: Order, payment: Payment) -> None:
    """After commit: OrderPaid, when this paid payment made the paid sum reach the order's total."""
    if payment.status == P.PAID and paid_sum(order) >= order.total:
        publish_on_commit(OrderPaid(order_id=order.pk, payment_id=payment.pk))


def _settle(actor: Any, order: Order) -> None:
    """Once the paid payments cover the total, the order becomes paid through the status machine (in the
    same transaction, history reason "paid in full") when its status allows that move; otherwise it
    stays where it is."""
    if paid_sum(order) < order.total or Order.Status.PAID not in orders_actions.allowed_transitions(order):
        return
    orders_actions.check_transition(actor=actor, order=order, to=Order.Status.PAID, reason="paid in full")


def _ensure_fits(order: Order, amount: Decimal, *, field: str) -> None:
    already = paid_sum(order)
    if already + amount > order.total:
        raise ValidationFailed(
            f"The payment is more than the {order.total - already} {order.currency} still due.",
            field=field,
            code="PAYMENT_TOO_LARGE",
        )


@transaction.atomic
def check_add_payment(
    *, actor: Any, order: Order, method: str, amount: Decimal, reference: str = "", status: str = P.PENDING
) -> Payment:
    """Record a payment, pending or paid; the paid sum may not pass the total (PAYMENT_TOO_LARGE)."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status in CLOSED:
        raise OrderClosed(f"The order is {locked.get_status_display()}: it takes no payments.", field="order")
    clean_method(method, field="method")
    clean_amount(amount, field="amount")
    if status not in (P.PENDING, P.PAID):
        raise ValidationFailed("A new payment is pending or paid.", field="status", code="PAYMENT_STATUS_INVALID")
    if status == P.PAID:
        _ensure_fits(locked, amount, field="amount")
    payment = Payment.objects.create(
        order=locked,
        method=method,
        amount=amount,
        status=status,
        reference=reference.strip()[:100],
        created_at=clock.now(),
    )
    payment.refresh_from_db()  # the amount as stored (two decimals)
    if status == P.PAID:
        _settle(actor, locked)
    _publish_if_paid(locked, payment)
    return payment


@transaction.atomic
def check_set_payment_status(*, actor: Any, payment: Payment, status: str, reference: str | None = None) -> Payment:
    """Mark a payment paid or failed (from pending) or refunded (from paid); others are refused
    (PAYMENT_TRANSITION_NOT_ALLOWED). Marking it paid may not take the paid sum past the total."""
    locked_order = Order.objects.select_for_update().get(pk=payment.order_id)
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if status not in P.values:
        raise ValidationFailed(f"Unknown payment status {status!r}.", field="status", code="PAYMENT_STATUS_INVALID")
    if status == locked.status:
        return locked  # a repeat changes nothing
    if status not in PAYMENT_TRANSITIONS[locked.status]:
        raise PaymentTransitionNotAllowed(
            f"A payment that is {locked.get_status_display()} cannot become {P(status).label}.", field="status"
        )
    if status == P.PAID:
        _ensure_fits(locked_order, locked.amount, field="status")
    locked.status = status
    fields = ["status"]
    if reference is not None and reference.strip():
        locked.reference = reference.strip()[:100]
        fields.append("reference")
    locked.save(update_fields=fields)
    if status == P.PAID:
        _settle(actor, locked_order)
    _publish_if_paid(locked_order, locked)
    return locked
