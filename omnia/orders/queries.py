from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext

from omnia.core import clock
from omnia.core.errors import NotFound
from omnia.customers import queries as customers_queries
from omnia.orders.models import Order, OrderLine, Payment, Shipment, ShipmentChange


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"


class PaymentNotFound(NotFound):
    code = "PAYMENT_NOT_FOUND"


def list_orders(
    *, source: str = "", status: str = "", customer_id: int | None = None, location_id: int | None = None
) -> QuerySet[Order]:
    qs = Order.objects.select_related("customer", "location").prefetch_related(
        "lines__variant", "lines__location", "payments", "shipments__location"
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
            "shipments__location",
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


# --- the console's order book --------------------------------------------------------------------------


class PaymentState:
    UNPAID = "unpaid"
    PARTLY = "partly"
    PAID = "paid"
    REFUNDED = "refunded"
    ALL = (UNPAID, PARTLY, PAID, REFUNDED)


def payment_state(order: Order) -> str:
    """unpaid / partly / paid / refunded (any refund), from the order's payments (prefetched when listing)."""
    payments = list(order.payments.all())
    if any(p.status == Payment.Status.REFUNDED for p in payments):
        return PaymentState.REFUNDED
    paid = sum((p.amount for p in payments if p.status == Payment.Status.PAID), Decimal(0))
    if paid <= 0:
        return PaymentState.UNPAID
    return PaymentState.PAID if paid >= order.total else PaymentState.PARTLY


@dataclass(frozen=True)
class OrderFilters:
    text: str = ""  # an order number, external id, Kaspi code, or the customer (name, phone, e-mail)
    status: str = ""
    source: str = ""
    location_id: int | None = None  # handed out there or sourced from there
    placed_from: dt.date | None = None  # shop days, inclusive
    placed_to: dt.date | None = None
    payment: str = ""  # PaymentState
    duplicates: bool = False


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())


def _text_condition(text: str) -> Q:
    text = " ".join(text.split())
    condition = Q(number__iexact=text) | Q(external_id=text) | Q(kaspi__code=text)
    bare = text.upper().removeprefix("O-").lstrip("#")
    if bare.isdigit() and len(bare) <= 9:
        condition |= Q(pk=int(bare))
        if len(bare) >= 3:  # the digits of a number, typed without its prefix or zeros (268791 → A-268791)
            condition |= Q(number__endswith=bare)
    customer_ids = customers_queries.search_customer_ids(text, limit=200)
    if customer_ids:
        condition |= Q(customer_id__in=customer_ids)
    return condition


def search_orders(filters: OrderFilters) -> QuerySet[Order]:
    """The order book: every filter given, newest first, with what a list row shows."""
    qs = Order.objects.select_related("customer", "location", "kaspi").prefetch_related("payments")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.location_id:
        sourced = OrderLine.objects.filter(order=OuterRef("pk"), location_id=filters.location_id)
        qs = qs.filter(Q(location_id=filters.location_id) | Exists(sourced))
    if filters.placed_from:
        qs = qs.filter(placed_at__gte=_day_start(filters.placed_from))
    if filters.placed_to:
        qs = qs.filter(placed_at__lt=_day_start(filters.placed_to + dt.timedelta(days=1)))
    if filters.duplicates:
        qs = qs.filter(possible_duplicate_of__isnull=False)
    if filters.payment in PaymentState.ALL:
        refunded = Exists(Payment.objects.filter(order=OuterRef("pk"), status=Payment.Status.REFUNDED))
        if filters.payment == PaymentState.REFUNDED:
            qs = qs.filter(refunded)
        else:
            paid = (
                Payment.objects.filter(order=OuterRef("pk"), status=Payment.Status.PAID)
                .values("order")
                .annotate(s=Sum("amount"))
                .values("s")
            )
            money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)
            qs = qs.filter(~refunded).annotate(
                paid_sum=Coalesce(Subquery(paid, output_field=money), Value(Decimal(0)), output_field=money)
            )
            if filters.payment == PaymentState.UNPAID:
                qs = qs.filter(paid_sum__lte=0)
            elif filters.payment == PaymentState.PARTLY:
                qs = qs.filter(paid_sum__gt=0, paid_sum__lt=F("total"))
            else:
                qs = qs.filter(paid_sum__gt=0, paid_sum__gte=F("total"))
    if filters.text.strip():
        qs = qs.filter(_text_condition(filters.text))
    return qs.order_by("-placed_at", "-id")


# --- shipments: each sourcing location's part ----------------------------------------------------------------


class ShipmentNotFound(NotFound):
    code = "SHIPMENT_NOT_FOUND"


def get_shipment(order: Order, shipment_id: int, *, field: str = "shipment_id") -> Shipment:
    """A shipment of this order; SHIPMENT_NOT_FOUND naming `field` otherwise."""
    shipment = Shipment.objects.select_related("location").filter(order=order, pk=shipment_id).first()
    if shipment is None:
        raise ShipmentNotFound(f"Order {order.number} has no shipment #{shipment_id}.", field=field)
    return shipment


def shipment_lines(order: Order, shipment: Shipment) -> list[OrderLine]:
    """The order's lines sourced from the shipment's location (from the prefetched lines when there are)."""
    return [line for line in order.lines.all() if line.location_id == shipment.location_id]


def shipment_history(order: Order) -> QuerySet[ShipmentChange]:
    """Every move of the order's shipments, oldest first, with the location and who."""
    return ShipmentChange.objects.filter(shipment__order=order).select_related("shipment__location", "actor")


@dataclass(frozen=True)
class FulfilmentSummary:
    shipments: int  # not cancelled
    out: int  # ready for pick-up or shipped, or further
    handed_over: int  # delivered or picked up
    partial: bool  # some parts are further along than others
    label: str  # "partially shipped (1 of 2)", "" when all parts are as far along


_OUT = frozenset({Shipment.Status.READY, Shipment.Status.SHIPPED})
_HANDED_OVER = frozenset({Shipment.Status.DELIVERED, Shipment.Status.PICKED_UP})


def fulfilment_summary(order: Order) -> FulfilmentSummary:
    """How far the order's parts have come: "partially shipped (1 of 2)" while they differ."""
    statuses = [s.status for s in order.shipments.all() if s.status != Shipment.Status.CANCELLED]
    total = len(statuses)
    handed_over = sum(1 for status in statuses if status in _HANDED_OVER)
    out = handed_over + sum(1 for status in statuses if status in _OUT)
    delivery = order.fulfillment == Order.Fulfillment.DELIVERY
    label = ""
    if 0 < out < total:
        label = (
            gettext("partially shipped (%(done)s of %(total)s)")
            if delivery
            else gettext("partially ready (%(done)s of %(total)s)")
        ) % {"done": out, "total": total}
    elif 0 < handed_over < total:
        label = (
            gettext("partially delivered (%(done)s of %(total)s)")
            if delivery
            else gettext("partially picked up (%(done)s of %(total)s)")
        ) % {"done": handed_over, "total": total}
    return FulfilmentSummary(shipments=total, out=out, handed_over=handed_over, partial=bool(label), label=label)
