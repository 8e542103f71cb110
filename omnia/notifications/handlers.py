"""What raises notifications, and what moves them: explicit subscriptions, each run after commit.

Orders raise theirs only when they have a customer card (an anonymous take-away at the till has
nobody to tell), were not bought at the counter (a take-away: the customer is there, receipt in hand)
and did not come from a marketplace: Kaspi.kz and Satu.kz tell their buyers themselves
(and their buyers' handles are the marketplace's), so a second message from the shop would be noise.
"""

from __future__ import annotations

from typing import Any

from omnia.conversations.events import MessageStatusChanged
from omnia.core import clock
from omnia.core.events import subscribe
from omnia.customers import registry as customers_registry
from omnia.fulfillment.events import ParcelDelayed, ParcelStatusChanged
from omnia.fulfillment.models import Parcel
from omnia.inventory.events import BackInStock
from omnia.notifications import actions, composing
from omnia.notifications.events import NotificationDue
from omnia.notifications.models import Event
from omnia.notifications.tasks import send_notification
from omnia.orders.events import OrderPaid, OrderStatusChanged
from omnia.orders.models import Order, Source

# The order statuses that tell the customer something, and what.
STATUS_EVENTS: dict[str, str] = {
    Order.Status.CONFIRMED: Event.ORDER_CONFIRMED,
    Order.Status.READY: Event.READY_FOR_PICKUP,
    Order.Status.SHIPPED: Event.SHIPPED,
    Order.Status.DELIVERED: Event.DELIVERED,
    Order.Status.PICKED_UP: Event.DELIVERED,  # the texts say "picked up" for a pick-up order
}
MARKETPLACES = frozenset({Source.KASPI, Source.SATU})


def _order(order_id: int) -> Order | None:
    """The order if it has someone to tell: a customer card, not at the counter, not a marketplace's buyer."""
    order = Order.objects.select_related("customer").filter(pk=order_id).first()
    if order is None or order.customer is None or order.source in MARKETPLACES:
        return None
    if order.fulfillment == Order.Fulfillment.TAKEAWAY:
        return None  # bought at the counter: the customer is there, with the receipt in hand
    return order


def _raise_for_order(order: Order, event: str, key: str, **objects: Any) -> None:
    customer = order.customer
    if customer is None:  # _order() keeps only orders with a card
        return
    context = composing.build_context(event, customer=customer, order=order, **objects)
    actions.do_raise(event, customer=customer, key=key, order=order, context=context)


def _on_status_changed(event: OrderStatusChanged) -> None:
    kind = STATUS_EVENTS.get(event.new)
    order = _order(event.order_id) if kind else None
    if kind and order is not None:
        _raise_for_order(order, kind, f"order:{order.pk}:{kind}")


def _on_paid(event: OrderPaid) -> None:
    order = _order(event.order_id)
    if order is not None:
        _raise_for_order(order, Event.PAYMENT_RECEIVED, f"order:{order.pk}:paid:{event.payment_id}")


def _parcel(parcel_id: int, order_id: int) -> tuple[Parcel, Order] | None:
    order = _order(order_id)
    parcel = Parcel.objects.select_related("carrier").filter(pk=parcel_id).first()
    return None if order is None or parcel is None else (parcel, order)


def _on_parcel_status(event: ParcelStatusChanged) -> None:
    if event.new != Parcel.Status.AT_PICKUP_POINT:
        return
    found = _parcel(event.parcel_id, event.order_id)
    if found is not None:
        parcel, order = found
        _raise_for_order(order, Event.AT_PICKUP_POINT, f"parcel:{parcel.pk}:{Event.AT_PICKUP_POINT}", parcel=parcel)


def _on_parcel_delayed(event: ParcelDelayed) -> None:
    found = _parcel(event.parcel_id, event.order_id)
    if found is not None:
        parcel, order = found
        _raise_for_order(order, Event.DELAYED, f"parcel:{parcel.pk}:{Event.DELAYED}", parcel=parcel)


def _on_back_in_stock(event: BackInStock) -> None:
    actions.do_notify_back_in_stock(variant_id=event.variant_id, location_id=event.location_id)


def _on_message_status(event: MessageStatusChanged) -> None:
    actions.do_record_outcome(message_id=event.message_id, status=event.status)


def _on_due(event: NotificationDue) -> None:
    if event.due_at > clock.now():
        send_notification.using(run_after=event.due_at).enqueue(event.notification_id)
    else:
        send_notification.enqueue(event.notification_id)


def register() -> None:
    subscribe(OrderStatusChanged, _on_status_changed)
    subscribe(OrderPaid, _on_paid)
    subscribe(ParcelStatusChanged, _on_parcel_status)
    subscribe(ParcelDelayed, _on_parcel_delayed)
    subscribe(BackInStock, _on_back_in_stock)
    subscribe(MessageStatusChanged, _on_message_status)
    subscribe(NotificationDue, _on_due)
    customers_registry.register_customer_reference("notifications.Notification", "customer")
