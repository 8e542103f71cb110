"""Webhook tests: a live receiver, an owner, stock to place orders from, and a way to run queued sends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from omnia.accounts.models import User
from omnia.core import clock
from omnia.core.permissions import Role
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location
from omnia.orders import actions as orders_actions
from omnia.orders.actions import CustomerIn, FulfillmentIn, LineIn
from omnia.orders.models import Order
from omnia.webhooks import actions, tasks
from omnia.webhooks.models import Endpoint, EventType
from tests.factories import make_location, make_user, make_variant
from tests.webhooks.receiver import Receiver, serve

SEND_TASK = "omnia.webhooks.tasks.send_delivery"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


@pytest.fixture
def owner() -> User:
    return make_user(Role.OWNER)


def subscribe(receiver: Receiver, *events: str, actor: Any = None, name: str = "1C") -> Endpoint:
    """An endpoint at the receiver for `events` (all when none); the receiver learns its secret."""
    created = actions.check_create_endpoint(
        actor=actor, name=name, url=receiver.url, events=list(events or EventType.values)
    )
    receiver.secret = created.secret
    return created.endpoint


def queued_sends() -> list[int]:
    """Delivery ids whose sending task is queued and due, oldest first."""
    due = DBTaskResult.objects.filter(task_path=SEND_TASK).ready().order_by("enqueued_at")
    return [row.args_kwargs["args"][0] for row in due]


def run_queued_sends() -> list[str]:
    """Run every due send task once, as a worker would (each task row is taken off the queue)."""
    results = []
    for row in DBTaskResult.objects.filter(task_path=SEND_TASK).ready().order_by("enqueued_at"):
        row.delete()
        results.append(tasks.send_delivery.call(*row.args_kwargs["args"]))
    return results


@pytest.fixture
def store() -> Location:
    return make_location(code="mega", city="Алматы", offers_pickup=True)


@pytest.fixture
def shop(store: Location) -> Callable[..., Order]:
    """place(quantity) → a new pick-up order at the store, through check_place_order, events dispatched."""
    variant = make_variant(sku="GIR-10", price="4990")
    inventory_actions.do_receive(actor=None, location=store, lines=[Line(variant, 50)])

    def place(capture: Callable[..., Any], quantity: int = 1, **extra: Any) -> Order:
        with capture(execute=True):
            placed = orders_actions.check_place_order(
                actor=None,
                customer=CustomerIn(phone="+7 701 555 12 34", name="Айгерим Сейткали"),
                source=extra.pop("source", "web"),
                lines=[LineIn(variant=variant, quantity=quantity)],
                fulfillment=FulfillmentIn(type="pickup", location=store),
                **extra,
            )
        return placed.order

    return place


def now() -> Any:
    return clock.now()
