"""Split shipments: each sourcing location's part of an order is picked, shipped or handed out on its own.

A shipment moves pending → picking → ready (for pick-up) | shipped; ready → picked up; shipped → delivered.
Shipping or handing out a shipment takes only its own lines' reserved units off the shelf (a sale in the
ledger at its location). It is cancelled only with its order.

The order follows its shipments, through orders.actions.check_transition (one path for the rules, the
history, the events, the webhooks and the Kaspi/Satu pushes): the first part picked makes the order
picking; every part out (ready or shipped) makes it ready or shipped; every part handed over makes it
picked up or delivered. The other way, an order moved on its own (check_transition) takes every shipment
not yet further along with it; an order with a part already handed over is not cancelled (take a return).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef

from omnia.core import clock
from omnia.core.errors import ValidationFailed
from omnia.core.events import publish_on_commit
from omnia.inventory import actions as inventory_actions
from omnia.inventory.models import Reservation
from omnia.orders import actions
from omnia.orders.events import ShipmentMoved
from omnia.orders.models import Order, OrderLine, Shipment, ShipmentChange

S = Shipment.Status
OS = Order.Status

MOVES: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PICKING}),
    S.PICKING: frozenset({S.READY, S.SHIPPED}),
    S.READY: frozenset({S.PICKED_UP}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.PICKED_UP: frozenset(),
    S.CANCELLED: frozenset(),
}
# Where a shipment's reserved units leave the shelf.
HANDED_OVER = frozenset({S.SHIPPED, S.PICKED_UP})
# A part that has left: its order is no longer cancelled.
HANDED_OVER_OR_DONE = frozenset({S.SHIPPED, S.DELIVERED, S.PICKED_UP})
# How far along: 1 being picked, 2 out (ready or on its way), 3 handed over.
RANK: dict[str, int] = {
    S.PENDING: 0,
    S.PICKING: 1,
    S.READY: 2,
    S.SHIPPED: 2,
    S.DELIVERED: 3,
    S.PICKED_UP: 3,
    S.CANCELLED: -1,
}
# The order statuses in which its shipments move on their own (a new order is confirmed first).
OPEN = frozenset({OS.CONFIRMED, OS.PAID, OS.PICKING, OS.READY, OS.SHIPPED})
_ORDER_RANK: dict[str, int] = {
    OS.NEW: 0,
    OS.CONFIRMED: 0,
    OS.PAID: 0,
    OS.PICKING: 1,
    OS.READY: 2,
    OS.SHIPPED: 2,
    OS.DELIVERED: 3,
    OS.PICKED_UP: 3,
    OS.COMPLETED: 4,
    OS.RETURNED: 4,
    OS.CANCELLED: 4,
}


def allowed_moves(shipment: Shipment, order: Order) -> list[str]:
    """The statuses this shipment may move to now, in the machine's order (cancelling is the order's)."""
    if order.status not in OPEN:
        return []
    allowed = MOVES.get(shipment.status, frozenset())
    return [status for status in S.values if status in allowed]


def _label(shipment: Shipment, status: str) -> str:
    """The order's history reason for a move a shipment made: "Almaty-1: shipped" (stored, so not translated)."""
    return f"{shipment.location.name}: {status.replace('_', ' ')}"


def _set(shipment: Shipment, to: str, *, actor: Any, reason: str, at: Any) -> None:
    old = shipment.status
    shipment.status, shipment.updated_at = to, at
    shipment.save(update_fields=["status", "updated_at"])
    ShipmentChange.objects.create(
        shipment=shipment, old=old, new=to, at=at, actor=getattr(actor, "audit_user", None), reason=reason[:300]
    )
    publish_on_commit(ShipmentMoved(shipment_id=shipment.pk, order_id=shipment.order_id, old=old, new=to))


def _consume(shipment: Shipment, order: Order, *, actor: Any) -> None:
    """Its own lines' reserved units leave the shelf at its location."""
    lines = order.lines.filter(location_id=shipment.location_id).select_related("reservation")
    for line in lines:
        reservation = line.reservation
        if reservation is not None and reservation.status == Reservation.Status.ACTIVE:
            inventory_actions.check_consume(actor=actor, reservation=reservation, reference=f"order:{order.number}")


@transaction.atomic
def check_move_shipment(*, actor: Any, shipment: Shipment, to: str, reason: str = "") -> Shipment:
    """Move one location's part on, if its rule allows it (TRANSITION_NOT_ALLOWED otherwise, nothing changed);
    the order follows when its parts have all come that far."""
    order = Order.objects.select_for_update().get(pk=shipment.order_id)
    locked = Shipment.objects.select_for_update().select_related("location").get(pk=shipment.pk)
    if to not in S.values:
        raise ValidationFailed(f"Unknown shipment status {to!r}.", field="to", code="STATUS_INVALID")
    if to == S.CANCELLED:
        raise actions.TransitionNotAllowed(
            "A shipment is cancelled with its order: cancel the order (its reservations are released).", field="to"
        )
    if order.status == OS.NEW:
        raise actions.TransitionNotAllowed(f"Confirm order {order.number} before picking it.", field="to")
    if order.status not in OPEN or to not in MOVES.get(locked.status, frozenset()):
        raise actions.TransitionNotAllowed(
            f"The part from {locked.location.name} is {locked.get_status_display()}: it cannot become "
            f"{S(to).label} (order {order.get_status_display()}).",
            field="to",
        )
    if to in HANDED_OVER:
        _consume(locked, order, actor=actor)
    _set(locked, to, actor=actor, reason=reason.strip(), at=clock.now())
    _order_follows(order, actor=actor, reason=_label(locked, to))
    shipment.refresh_from_db()
    return shipment


def _order_follows(order: Order, *, actor: Any, reason: str) -> None:
    """Move the order as far as all its (not cancelled) parts have come, one allowed step at a time."""
    ranks = [RANK[status] for status in order.shipments.exclude(status=S.CANCELLED).values_list("status", flat=True)]
    if not ranks:
        return
    reached = min(ranks)
    if max(ranks) >= 1:
        reached = max(reached, 1)  # the first part picked: the order is being picked
    pickup = order.fulfillment != Order.Fulfillment.DELIVERY
    current = order.status
    steps: list[str] = []
    if reached >= 1:
        steps.append(OS.PICKING)
    mid = current if current in (OS.READY, OS.SHIPPED) else (OS.READY if pickup else OS.SHIPPED)
    if reached >= 2:
        steps.append(mid)
    if reached >= 3:
        steps.append(OS.PICKED_UP if mid == OS.READY else OS.DELIVERED)
    for step in steps:
        if _ORDER_RANK[step] <= _ORDER_RANK[current]:
            continue
        if step not in actions.TRANSITIONS.get(current, frozenset()):
            return  # not a move the order's rules allow from here (an operator moves it on)
        actions.check_transition(actor=actor, order=order, to=step, reason=reason, move_shipments=False)
        current = step


def _follow_target(shipment: Shipment, order: Order, to: str) -> str | None:
    """Where an order-level move to `to` takes this shipment (None: it stays)."""
    status = shipment.status
    if status == S.CANCELLED:
        return None
    if to == OS.CANCELLED:
        return S.CANCELLED if status in (S.PENDING, S.PICKING, S.READY) else None
    if to == OS.PICKING:
        return S.PICKING if status == S.PENDING else None
    if to in (OS.READY, OS.SHIPPED):
        return (S.READY if to == OS.READY else S.SHIPPED) if RANK[status] < 2 else None
    if to in (OS.DELIVERED, OS.PICKED_UP, OS.COMPLETED):
        if RANK[status] >= 3:
            return None
        if status == S.SHIPPED:
            return S.DELIVERED
        if status == S.READY:
            return S.PICKED_UP
        if to == OS.COMPLETED:
            return S.DELIVERED if order.fulfillment == Order.Fulfillment.DELIVERY else S.PICKED_UP
        return S.DELIVERED if to == OS.DELIVERED else S.PICKED_UP
    return None


def do_follow_order(*, actor: Any, order: Order, to: str, reason: str = "") -> None:
    """The order (locked, still at its old status) moves to `to`: every shipment not yet further goes with it.

    Called by check_transition before it releases or consumes the reservations (it does that for the whole
    order). An order with a part already shipped or handed out is not cancelled: TRANSITION_NOT_ALLOWED."""
    shipments = list(order.shipments.select_for_update().select_related("location"))
    if to == OS.CANCELLED:
        gone = [s for s in shipments if s.status in HANDED_OVER_OR_DONE]
        if gone:
            raise actions.TransitionNotAllowed(
                f"The part from {gone[0].location.name} is {gone[0].get_status_display()} already: "
                "it cannot be cancelled (take a return instead).",
                field="to",
            )
    at = clock.now()
    for shipment in shipments:
        target = _follow_target(shipment, order, to)
        if target is not None:
            _set(shipment, target, actor=actor, reason=reason.strip() or f"order {to.replace('_', ' ')}", at=at)


# The shipments of an order stored without them (bulk-written orders: the demo, an import), from its status.
_FROM_ORDER: dict[str, str] = {
    OS.NEW: S.PENDING,
    OS.CONFIRMED: S.PENDING,
    OS.PAID: S.PENDING,
    OS.PICKING: S.PICKING,
    OS.READY: S.READY,
    OS.SHIPPED: S.SHIPPED,
    OS.DELIVERED: S.DELIVERED,
    OS.PICKED_UP: S.PICKED_UP,
    OS.CANCELLED: S.CANCELLED,
}


def do_create_missing_shipments(*, order_ids: list[int] | None = None, batch_size: int = 2000) -> int:
    """Give every order (or those named) a shipment per sourcing location it lacks, its status taken from the
    order's (a completed or returned order's parts were handed over). Returns how many were created; a repeat
    creates none. For orders written in bulk without check_place_order (the demo data)."""
    has = Shipment.objects.filter(order_id=OuterRef("order_id"), location_id=OuterRef("location_id"))
    pairs = OrderLine.objects.filter(location__isnull=False).filter(~Exists(has))
    if order_ids is not None:
        pairs = pairs.filter(order_id__in=order_ids)
    rows = (
        pairs.values_list("order_id", "location_id", "order__status", "order__fulfillment")
        .distinct()
        .order_by("order_id", "location_id")
    )
    now = clock.now()
    created = 0
    batch: list[Shipment] = []
    for order_id, location_id, order_status, fulfillment in rows.iterator(chunk_size=batch_size):
        status = _FROM_ORDER.get(order_status) or (
            S.DELIVERED if fulfillment == Order.Fulfillment.DELIVERY else S.PICKED_UP
        )
        batch.append(
            Shipment(order_id=order_id, location_id=location_id, status=status, created_at=now, updated_at=now)
        )
        if len(batch) >= batch_size:
            created += len(Shipment.objects.bulk_create(batch, ignore_conflicts=True))
            batch = []
    if batch:
        created += len(Shipment.objects.bulk_create(batch, ignore_conflicts=True))
    return created
