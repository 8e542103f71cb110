from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from omnia.core import clock
from omnia.core.errors import NotFound
from omnia.orders.models import Order, Payment


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"


class PaymentNotFound(NotFound):
    code = "PAYMENT_NOT_FOUND"


def list_orders(
    *, source: str = "", status: str = "", customer_id: int | None = None, location_id: int | None = None
) -> QuerySet[Order]:
    qs = Order.objects.select_related("customer", "location").prefetch_related(
        "lines__variant", "lines__location", "payments"
    )
    if source:
        qs = qs.filter(source=source)
    if status:
        qs = qs.filter(status=status)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if location_id:
        qs = qs.filter(location_id=location_id)
    return qs


def get_order(order_id: int, *, field: str = "order_id") -> Order:
    """The order with its lines, payments, history and returns; ORDER_NOT_FOUND naming `field` otherwise."""
    order = (
        Order.objects.select_related("customer", "location")
        .prefetch_related(
            "lines__variant",
            "lines__location",
            "payments",
            "history__actor",
            "returns__location",
            "returns__refund",
            "returns__lines__order_line__variant",
        )
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise OrderNotFound(f"No order #{order_id}.", field=field)
    return order


def get_payment(order: Order, payment_id: int, *, field: str = "payment_id") -> Payment:
    """A payment of this order; PAYMENT_NOT_FOUND naming `field` otherwise."""
    payment = Payment.objects.filter(order=order, pk=payment_id).first()
    if payment is None:
        raise PaymentNotFound(f"Order {order.number} has no payment #{payment_id}.", field=field)
    return payment


@dataclass(frozen=True)
class SalesReport:
    months: list[str]  # "YYYY-MM", oldest first
    by_source: dict[str, dict[str, Decimal]]  # source → month → revenue
    totals: dict[str, Decimal]  # month → revenue
    orders: dict[str, int]  # month → number of orders


def sales_by_month_and_source(*, months: int = 18) -> SalesReport:
    """Revenue and order count per calendar month (shop time) and source, completed orders only."""
    start = clock.local_now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(months - 1):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    rows = (
        Order.objects.filter(placed_at__gte=start, status=Order.Status.COMPLETED)
        .annotate(month=TruncMonth("placed_at", tzinfo=timezone.get_current_timezone()))
        .values("month", "source")
        .annotate(revenue=Sum("total"), orders=Count("id"))
        .order_by("month", "source")
    )
    months_seen: list[str] = []
    by_source: dict[str, dict[str, Decimal]] = {}
    counts: dict[str, int] = {}
    for row in rows:
        label = row["month"].strftime("%Y-%m")
        if label not in months_seen:
            months_seen.append(label)
        by_source.setdefault(row["source"], {})[label] = row["revenue"] or Decimal(0)
        counts[label] = counts.get(label, 0) + row["orders"]
    totals = {m: sum((s.get(m, Decimal(0)) for s in by_source.values()), Decimal(0)) for m in months_seen}
    return SalesReport(months=months_seen, by_source=by_source, totals=totals, orders=counts)
