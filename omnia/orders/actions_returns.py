"""Returns and exchanges, anywhere: an order delivered, picked up or completed may be brought back to any
location that takes returns (not only where it was bought).

The units go back on hand there (ledger kind "return", reference order:<number>); no line may be returned
beyond what was bought less earlier returns (RETURN_TOO_MANY naming the line); a refund is a Payment with
status refunded against the method it is paid back through. When every unit is back the order becomes
"returned" through the status machine. An exchange is the same return plus a new order for the same
customer, placed in the same transaction and linked as the return's `replacement`. With an idempotency
key a repeat answers the first return (created=False) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum

from omnia.core import clock
from omnia.core.errors import Conflict, DomainError, ValidationFailed
from omnia.core.events import publish_on_commit
from omnia.inventory import actions as inventory_actions
from omnia.inventory.models import Location
from omnia.orders import actions as orders_actions
from omnia.orders.actions_payments import clean_amount, clean_method
from omnia.orders.events import OrderReturned
from omnia.orders.models import Order, OrderLine, Payment, Return, ReturnLine

RETURNABLE = frozenset({Order.Status.DELIVERED, Order.Status.PICKED_UP, Order.Status.COMPLETED})
MAX_REASON = 300


class ReturnNotAllowed(Conflict):
    code = "RETURN_NOT_ALLOWED"


class IdempotencyKeyReused(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"


@dataclass(frozen=True)
class Returned:
    record: Return
    created: bool


@dataclass(frozen=True)
class ReturnLineIn:
    variant: Any  # catalog.Variant
    quantity: int


@dataclass(frozen=True)
class RefundIn:
    method: str
    amount: Decimal
    reference: str = ""


@dataclass(frozen=True)
class ExchangeIn:
    """The new order of an exchange: its lines, and how it is handed over (take-away at the return
    location when not given)."""

    lines: Sequence[orders_actions.LineIn]
    fulfillment: orders_actions.FulfillmentIn | None = None
    source: str = ""


def returned_quantities(order: Order) -> dict[int, int]:
    """{order line id: units already returned}."""
    rows = ReturnLine.objects.filter(order_line__order=order).values("order_line_id").annotate(total=Sum("quantity"))
    return {row["order_line_id"]: int(row["total"] or 0) for row in rows}


def _allocate(order: Order, lines: Sequence[ReturnLineIn]) -> list[tuple[OrderLine, int]]:
    """Spread each asked quantity over the order's lines of that variant (what is left on each);
    RETURN_TOO_MANY or NOT_IN_ORDER name the line asked."""
    if not lines:
        raise ValidationFailed("Say what comes back.", field="lines", code="LINES_REQUIRED")
    returned = returned_quantities(order)
    left = {line.pk: line.quantity - returned.get(line.pk, 0) for line in order.lines.all()}
    by_variant: dict[int, list[OrderLine]] = {}
    for line in order.lines.all().order_by("pk"):
        by_variant.setdefault(line.variant_id, []).append(line)
    taken: dict[int, tuple[OrderLine, int]] = {}
    for index, asked in enumerate(lines):
        quantity = inventory_actions.clean_quantity(asked.quantity, field=f"lines[{index}].quantity")
        candidates = by_variant.get(asked.variant.pk)
        if not candidates:
            raise ValidationFailed(
                f"{asked.variant.sku} is not in order {order.number}.", field=f"lines[{index}].sku", code="NOT_IN_ORDER"
            )
        available = sum(left[line.pk] for line in candidates)
        if quantity > available:
            raise ValidationFailed(
                f"Only {available} of {asked.variant.sku} can still be returned.",
                field=f"lines[{index}].quantity",
                code="RETURN_TOO_MANY",
            )
        for line in candidates:
            part = min(quantity, left[line.pk])
            if part <= 0:
                continue
            left[line.pk] -= part
            quantity -= part
            previous = taken.get(line.pk, (line, 0))[1]
            taken[line.pk] = (line, previous + part)
            if quantity == 0:
                break
    return list(taken.values())


def _refund_limit(order: Order, allocation: Sequence[tuple[OrderLine, int]]) -> Decimal:
    """The most this return may refund: the value of its units, and never more than the order's total
    less what was refunded before."""
    value = sum((line.line_total * quantity / line.quantity for line, quantity in allocation), Decimal(0)).quantize(
        Decimal("0.01")
    )
    refunded = Payment.objects.filter(order=order, status=Payment.Status.REFUNDED).aggregate(total=Sum("amount"))
    return min(value, order.total - Decimal(refunded["total"] or 0))


def _exchange(*, actor: Any, order: Order, location: Location, exchange: ExchangeIn) -> Order:
    if order.customer_id is None:
        raise ValidationFailed("The order has no customer to exchange for.", field="exchange", code="CUSTOMER_REQUIRED")
    try:
        placed = orders_actions.check_place_order(
            actor=actor,
            customer=orders_actions.CustomerIn(id=order.customer_id),
            source=exchange.source or order.source,
            lines=exchange.lines,
            fulfillment=exchange.fulfillment
            or orders_actions.FulfillmentIn(type=Order.Fulfillment.TAKEAWAY, location=location),
            comment=f"Exchange for order {order.number}",
        )
    except DomainError as exc:
        exc.field = f"exchange.{exc.field}" if exc.field else "exchange"
        raise
    return placed.order


@transaction.atomic
def check_return(
    *,
    actor: Any,
    order: Order,
    location: Location,
    lines: Sequence[ReturnLineIn],
    reason: str,
    refund: RefundIn | None = None,
    exchange: ExchangeIn | None = None,
    idempotency_key: str | None = None,
) -> Returned:
    """Take units of the order back at `location` (see the module docstring); nothing changes on a refusal."""
    locked = Order.objects.select_for_update().get(pk=order.pk)  # one return of an order at a time
    key = (idempotency_key or "").strip()[:100] or None
    if key is not None:
        first = Return.objects.filter(idempotency_key=key).first()
        if first is not None:
            if first.order_id != locked.pk:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was already used for a return of another order.", field="Idempotency-Key"
                )
            return Returned(first, created=False)
    if locked.status not in RETURNABLE:
        raise ReturnNotAllowed(
            f"An order that is {locked.get_status_display()} cannot be returned: only once it is handed over.",
            field="order",
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why it comes back.", field="reason", code="REASON_REQUIRED")
    if not location.is_active:
        raise ValidationFailed(f"{location.name} is closed.", field="location", code="LOCATION_INACTIVE")
    if not location.accepts_returns:
        raise ValidationFailed(f"{location.name} does not take returns.", field="location", code="RETURNS_NOT_ACCEPTED")
    allocation = _allocate(locked, lines)
    if refund is not None:
        clean_method(refund.method, field="refund.method")
        clean_amount(refund.amount, field="refund.amount")
        limit = _refund_limit(locked, allocation)
        if refund.amount > limit:
            raise ValidationFailed(
                f"At most {limit} {locked.currency} can be refunded for what comes back.",
                field="refund.amount",
                code="REFUND_TOO_LARGE",
            )
    now = clock.now()
    user = getattr(actor, "audit_user", None)
    record = Return.objects.create(
        order=locked, location=location, reason=reason[:MAX_REASON], at=now, actor=user, idempotency_key=key
    )
    for line, quantity in allocation:
        ReturnLine.objects.create(order_return=record, order_line=line, quantity=quantity)
        inventory_actions.do_return(
            actor=actor,
            variant=line.variant,
            location=location,
            quantity=quantity,
            reference=f"order:{locked.number}",
            reason=reason[:MAX_REASON],
        )
    if refund is not None:
        record.refund = Payment.objects.create(
            order=locked,
            method=refund.method,
            amount=refund.amount,
            status=Payment.Status.REFUNDED,
            reference=refund.reference.strip()[:100],
            created_at=now,
        )
    if exchange is not None:
        record.replacement = _exchange(actor=actor, order=locked, location=location, exchange=exchange)
    record.save(update_fields=["refund", "replacement"])
    publish_on_commit(OrderReturned(order_id=locked.pk, return_id=record.pk))
    returned = returned_quantities(locked)
    if all(returned.get(line.pk, 0) >= line.quantity for line in locked.lines.all()):
        orders_actions.check_transition(
            actor=actor, order=locked, to=Order.Status.RETURNED, reason=f"returned at {location.code}: {reason}"[:300]
        )
    return Returned(record, created=True)
