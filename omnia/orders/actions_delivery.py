"""An order's delivery price: part of its total (the goods plus the delivery), set when its delivery is chosen.

The total stays what payments are measured against ("paid in full"), and the customer's lifetime value
follows the change. Once a part of the order left (shipped, handed over, delivered) or the order was
closed (cancelled, returned, completed), its delivery no longer changes: DELIVERY_LOCKED.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from omnia.core.errors import Conflict, ValidationFailed
from omnia.customers import actions as customers_actions
from omnia.orders import actions as orders_actions
from omnia.orders import actions_payments, actions_shipments
from omnia.orders.models import Order

S = Order.Status
# From here on the goods left, or the order is closed: the delivery is what it was.
LOCKED = frozenset({S.SHIPPED, S.DELIVERED, S.PICKED_UP, S.COMPLETED, S.CANCELLED, S.RETURNED})


class DeliveryLocked(Conflict):
    code = "DELIVERY_LOCKED"


def delivery_open(order: Order) -> bool:
    """Whether the order's delivery may still change."""
    if order.status in LOCKED:
        return False
    return not order.shipments.filter(status__in=actions_shipments.HANDED_OVER_OR_DONE).exists()


def ensure_delivery_open(order: Order) -> None:
    if not delivery_open(order):
        raise DeliveryLocked(
            f"Order {order.number} is {order.get_status_display()}: its delivery can no longer change.",
            field="order",
        )


@transaction.atomic
def do_set_delivery_price(*, order: Order, price: Decimal, actor: Any) -> Order:
    """Set the delivery price; the total becomes the goods plus it. Refused below what is already paid
    (PAID_MORE_THAN_TOTAL: refund first). When the paid payments now cover the total, the order becomes paid."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    ensure_delivery_open(locked)
    price = Decimal(price)
    if not price.is_finite() or price < 0 or price != price.quantize(Decimal("0.01")):
        raise ValidationFailed("A delivery price is zero or more.", field="price", code="PRICE_INVALID")
    delta = price - locked.delivery_price
    if delta == 0:
        order.refresh_from_db()
        return order
    total = locked.total + delta
    paid = actions_payments.paid_sum(locked)
    if paid > total:
        raise Conflict(
            f"{paid} {locked.currency} is paid, more than the new total {total}: refund the difference first.",
            field="price",
            code="PAID_MORE_THAN_TOTAL",
        )
    Order.objects.filter(pk=locked.pk).update(delivery_price=price, total=total)
    if locked.customer is not None:
        # The lifetime value counted the old total; a cancellation or return takes the new one off.
        customers_actions.do_record_order_reversal(customer=locked.customer, total=-delta, cancelled=False)
    locked.refresh_from_db()
    if paid >= total > 0 and S.PAID in orders_actions.allowed_transitions(locked):
        orders_actions.check_transition(actor=actor, order=locked, to=S.PAID, reason="paid in full")
    order.refresh_from_db()
    return order
