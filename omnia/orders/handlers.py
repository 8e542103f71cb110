"""How orders plug into other apps: merges move orders, the customer search finds order numbers."""

from __future__ import annotations

from django.db.models import QuerySet

from omnia.customers import registry as customers_registry
from omnia.orders.models import Order


def customer_ids_by_order_number(text: str) -> QuerySet[Order]:
    return (
        # Numbers are stored upper-case ("A-250001"): an exact match uses the unique index.
        Order.objects.filter(number=text.strip().upper(), customer__isnull=False).values_list("customer_id", flat=True)  # type: ignore[return-value]
    )


def register() -> None:
    customers_registry.register_customer_reference("orders.Order", "customer")
    customers_registry.register_search_lookup(customer_ids_by_order_number)
