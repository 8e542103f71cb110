"""Every order, from every channel, is placed by one action (actions_placing.check_place_order, also
named here) and moved by one status machine (check_transition)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from omnia.core import clock
from omnia.core.errors import Conflict, ValidationFailed
from omnia.core.events import publish_on_commit
from omnia.customers import actions as customers_actions
from omnia.inventory import actions as inventory_actions
from omnia.inventory.models import Reservation
from omnia.orders import actions_shipments
from omnia.orders.actions_placing import (
    DUPLICATE_WINDOW,
    CustomerIn,
    FulfillmentIn,
    LineIn,
    Need,
    PaymentIn,
    Placed,
    SourcingStrategy,
    check_place_order,
    default_sourcing,
)
from omnia.orders.events import OrderStatusChanged
from omnia.orders.models import Order, StatusChange

__all__ = [
    "DUPLICATE_WINDOW",
    "TRANSITIONS",
    "CustomerIn",
    "FulfillmentIn",
    "LineIn",
    "Need",
    "PaymentIn",
    "Placed",
    "SourcingStrategy",
    "TransitionNotAllowed",
    "allowed_transitions",
    "check_clear_duplicate",
    "check_place_order",
    "check_transition",
    "default_sourcing",
]


class TransitionNotAllowed(Conflict):
    code = "TRANSITION_NOT_ALLOWED"


# --- the status machine ----------------------------------------------------------------------------------

S = Order.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.CONFIRMED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.PAID, S.PICKING, S.CANCELLED}),
    S.PAID: frozenset({S.PICKING, S.CANCELLED}),
    S.PICKING: frozenset({S.READY, S.SHIPPED, S.CANCELLED}),
    S.READY: frozenset({S.PICKED_UP, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.COMPLETED, S.RETURNED}),
    S.PICKED_UP: frozenset({S.COMPLETED, S.RETURNED}),
    S.COMPLETED: frozenset({S.RETURNED}),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
}
# Where the reserved units leave the shelf: handed over or shipped.
_HANDED_OVER = frozenset({S.SHIPPED, S.PICKED_UP})


@transaction.atomic
def check_transition(*, actor: Any, order: Order, to: str, reason: str = "", move_shipments: bool = True) -> Order:
    """Move the order on, if the rule allows it from where it is (TRANSITION_NOT_ALLOWED otherwise).

    Cancelling releases the reservations; shipping or a pick-up takes the reserved units off the
    shelf (sold); a take-away may go from new straight to completed at the counter. Its shipments not yet
    further along move with it (actions_shipments.do_follow_order; not when a shipment moved the order).
    """
    locked = Order.objects.select_for_update().get(pk=order.pk)
    allowed = TRANSITIONS.get(locked.status, frozenset())
    takeaway = (
        locked.fulfillment == Order.Fulfillment.TAKEAWAY
        and to == S.COMPLETED
        and locked.status
        in (
            S.NEW,
            S.CONFIRMED,
            S.PAID,
        )
    )
    if to not in S.values:
        raise ValidationFailed(f"Unknown status {to!r}.", field="to", code="STATUS_INVALID")
    if to not in allowed and not takeaway:
        raise TransitionNotAllowed(
            f"An order that is {locked.get_status_display()} cannot become {S(to).label}.", field="to"
        )
    if to == S.CANCELLED and not reason.strip() and actor is not None:
        raise ValidationFailed("Say why it is cancelled.", field="reason", code="REASON_REQUIRED")
    if move_shipments:
        actions_shipments.do_follow_order(actor=actor, order=locked, to=to, reason=reason)
    lines = list(locked.lines.select_related("reservation"))
    for line in lines:
        reservation = line.reservation
        if reservation is None or reservation.status != Reservation.Status.ACTIVE:
            continue
        if to == S.CANCELLED:
            inventory_actions.do_release(actor=actor, reservation=reservation, reason=f"order {locked.number}")
        elif to in _HANDED_OVER or takeaway:
            inventory_actions.check_consume(actor=actor, reservation=reservation, reference=f"order:{locked.number}")
    old = locked.status
    locked.status = to
    locked.save(update_fields=["status"])
    StatusChange.objects.create(
        order=locked, old=old, new=to, at=clock.now(), actor=getattr(actor, "audit_user", None), reason=reason[:300]
    )
    if to in (S.CANCELLED, S.RETURNED) and locked.customer is not None:
        customers_actions.do_record_order_reversal(
            customer=locked.customer, total=locked.total, cancelled=to == S.CANCELLED
        )
    publish_on_commit(OrderStatusChanged(order_id=locked.pk, old=old, new=to))
    order.refresh_from_db()
    return order


def allowed_transitions(order: Order) -> list[str]:
    """The statuses the order may move to from where it is, in the machine's order (what check_transition
    accepts: the table, plus a take-away completed at the counter)."""
    allowed = set(TRANSITIONS.get(order.status, frozenset()))
    if order.fulfillment == Order.Fulfillment.TAKEAWAY and order.status in (S.NEW, S.CONFIRMED, S.PAID):
        allowed.add(S.COMPLETED)
    if S.CANCELLED in allowed and order.shipments.filter(status__in=actions_shipments.HANDED_OVER_OR_DONE).exists():
        allowed.discard(S.CANCELLED)  # a part already left: a return, not a cancellation
    return [status for status in S.values if status in allowed]


@transaction.atomic
def check_clear_duplicate(*, actor: Any, order: Order) -> Order:
    """An operator confirmed the order is not a duplicate: the flag goes (a repeat changes nothing)."""
    Order.objects.filter(pk=order.pk).update(possible_duplicate_of=None)
    order.refresh_from_db()
    return order
