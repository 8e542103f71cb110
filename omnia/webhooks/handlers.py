"""Order events become webhook deliveries; queued deliveries get their sending task.

The event bus (core.events) dispatches only after the order's transaction has committed, so the
Delivery rows cannot share that transaction. They are written first, in their own transaction, and
the sending task is enqueued only after that commits: a delivery row that exists is sent, whether its
task was enqueued (send_delivery) or lost (the send_overdue sweeper finds it due and late). What is
not covered is a crash in the instant between the order's commit and these rows' commit.

Event ids derive from the durable fact (the order, its history row, the payment, the return), so the
same fact is enqueued once per endpoint however often its event is handled.
"""

from __future__ import annotations

from typing import Any

from omnia.core.events import subscribe
from omnia.orders.events import OrderPaid, OrderPlaced, OrderReturned, OrderStatusChanged, ShipmentMoved
from omnia.orders.models import Order, ShipmentChange, StatusChange
from omnia.webhooks import actions, payloads
from omnia.webhooks.events import DeliveriesQueued
from omnia.webhooks.models import EventType
from omnia.webhooks.tasks import send_delivery


def _order(order_id: int, **extra: Any) -> dict[str, Any] | None:
    order = payloads.order_json(order_id)
    return None if order is None else {"order": order, **extra}


def _on_placed(event: OrderPlaced) -> None:
    actions.do_enqueue_event(
        event_type=EventType.ORDER_CREATED, key=f"order.created:{event.order_id}", data=lambda: _order(event.order_id)
    )


def _cancel_reason(order: dict[str, Any]) -> str:
    return next((str(h["reason"]) for h in reversed(order["history"]) if h["new"] == Order.Status.CANCELLED), "")


def _cancelled(order_id: int) -> dict[str, Any] | None:
    data = _order(order_id)
    if data is not None:
        data["reason"] = _cancel_reason(data["order"])
    return data


def _change_id(history: type[StatusChange | ShipmentChange], owner: dict[str, int], old: str, new: str) -> int | str:
    """The latest history row of this move (the durable fact the event ids derive from): a status change
    of the order, or a move of one of its shipments (`owner`: {"order_id": …} or {"shipment_id": …})."""
    change = history.objects.filter(**owner, old=old, new=new).order_by("-id").values_list("id", flat=True).first()
    return change if change is not None else f"{next(iter(owner.values()))}:{old}:{new}"


def _on_status_changed(event: OrderStatusChanged) -> None:
    change = _change_id(StatusChange, {"order_id": event.order_id}, event.old, event.new)
    actions.do_enqueue_event(
        event_type=EventType.ORDER_STATUS_CHANGED,
        key=f"order.status_changed:{change}",
        data=lambda: _order(event.order_id, old_status=event.old, new_status=event.new),
    )
    if event.new == Order.Status.CANCELLED:
        actions.do_enqueue_event(
            event_type=EventType.ORDER_CANCELLED,
            key=f"order.cancelled:{change}",
            data=lambda: _cancelled(event.order_id),
        )


def _on_paid(event: OrderPaid) -> None:
    actions.do_enqueue_event(
        event_type=EventType.ORDER_PAID,
        key=f"order.paid:{event.payment_id}",
        data=lambda: _order(event.order_id, payment=payloads.payment_json(event.payment_id)),
    )


def _returned(order_id: int, return_id: int) -> dict[str, Any] | None:
    data = _order(order_id)
    if data is not None:
        data["return"] = payloads.return_json(data["order"], return_id)
    return data


def _on_returned(event: OrderReturned) -> None:
    actions.do_enqueue_event(
        event_type=EventType.ORDER_RETURNED,
        key=f"order.returned:{event.return_id}",
        data=lambda: _returned(event.order_id, event.return_id),
    )


def _moved(event: ShipmentMoved) -> dict[str, Any] | None:
    data = _order(event.order_id, old_status=event.old, new_status=event.new)
    if data is not None:
        data["shipment"] = next((s for s in data["order"]["shipments"] if s["id"] == event.shipment_id), None)
    return data


def _on_shipment_moved(event: ShipmentMoved) -> None:
    """One location's part of the order moved on (picked, shipped, delivered…), whether or not the
    order as a whole moved with it: a split order's integrations see each part."""
    change = _change_id(ShipmentChange, {"shipment_id": event.shipment_id}, event.old, event.new)
    actions.do_enqueue_event(
        event_type=EventType.ORDER_SHIPMENT_MOVED,
        key=f"order.shipment_moved:{change}",
        data=lambda: _moved(event),
    )


def _on_queued(event: DeliveriesQueued) -> None:
    for delivery_id in event.delivery_ids:
        send_delivery.enqueue(delivery_id)


def register() -> None:
    subscribe(OrderPlaced, _on_placed)
    subscribe(OrderStatusChanged, _on_status_changed)
    subscribe(OrderPaid, _on_paid)
    subscribe(OrderReturned, _on_returned)
    subscribe(ShipmentMoved, _on_shipment_moved)
    subscribe(DeliveriesQueued, _on_queued)
