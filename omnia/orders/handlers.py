"""How orders plug into other apps: merges move orders, the customer search finds order numbers; the
status of a Kaspi or Satu order goes back there."""

from __future__ import annotations

from django.db.models import QuerySet

from omnia.core.events import subscribe
from omnia.customers import registry as customers_registry
from omnia.orders.events import OrderStatusChanged
from omnia.orders.models import KaspiOrder, Order, SatuOrder
from omnia.orders.tasks import push_kaspi_status, push_satu_status


def customer_ids_by_order_number(text: str) -> QuerySet[Order]:
    return (
        # Numbers are stored upper-case ("A-250001"): an exact match uses the unique index.
        Order.objects.filter(number=text.strip().upper(), customer__isnull=False).values_list("customer_id", flat=True)  # type: ignore[return-value]
    )


def _push_to_kaspi(event: OrderStatusChanged) -> None:
    """After commit: a Kaspi order's new status goes to Kaspi from a task, never inside the transaction."""
    if KaspiOrder.objects.filter(order_id=event.order_id).exists():
        push_kaspi_status.enqueue(event.order_id)


def _push_to_satu(event: OrderStatusChanged) -> None:
    """After commit: a Satu order's new status goes to Satu from a task, never inside the transaction."""
    if SatuOrder.objects.filter(order_id=event.order_id).exists():
        push_satu_status.enqueue(event.order_id)


def register() -> None:
    customers_registry.register_customer_reference("orders.Order", "customer")
    customers_registry.register_search_lookup(customer_ids_by_order_number)
    subscribe(OrderStatusChanged, _push_to_kaspi)
    subscribe(OrderStatusChanged, _push_to_satu)
