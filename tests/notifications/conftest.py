"""Notification tests: a customer reachable by Telegram, SMS and WhatsApp (each against its local fake
provider), a store to order from, and a way to run what the workers would run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django_tasks_db.models import DBTaskResult

from omnia.channels.models import Channel
from omnia.channels.tasks import deliver_message
from omnia.core import clock
from omnia.customers.models import Customer, Identity
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location
from omnia.notifications import tasks
from omnia.orders import actions as orders_actions
from omnia.orders.actions import CustomerIn, FulfillmentIn, LineIn
from omnia.orders.models import Order
from tests.channels.meta.fake_graph import FakeGraph, fake_graph
from tests.channels.meta.support import make_channel
from tests.channels.sms.fake_twilio import FakeTwilio, fake_twilio
from tests.channels.sms.support import ACCOUNT_SID, AUTH_TOKEN, sms_channel
from tests.channels.telegram.fake_telegram import TOKEN, FakeTelegram, fake_telegram
from tests.factories import make_location, make_variant

__all__ = ["fake_graph", "fake_telegram", "fake_twilio"]

# 11:00 in Almaty (UTC+5): outside the default quiet hours (21:00–09:00).
NOON = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
TELEGRAM_ID = "555000111"
PHONE = "+77011234567"
WA_TOKEN = "EAAG-wa-token"
WA_CONFIG = {"phone_number_id": "109876543210987", "waba_id": "102938475610293"}
TASKS = {
    "omnia.notifications.tasks.send_notification": tasks.send_notification,
    "omnia.channels.tasks.deliver_message": deliver_message,
}


@pytest.fixture(autouse=True)
def _frozen(time_machine: Any) -> None:
    time_machine.move_to(NOON, tick=False)


@pytest.fixture(autouse=True)
def _fresh_send_spacing() -> Iterator[None]:
    """delivery.py spaces sends per channel through the cache: start every test with none recorded."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def telegram(fake_telegram: FakeTelegram) -> Channel:
    return make_channel("telegram", credentials={"bot_token": TOKEN, "secret_token": "tg-secret"}, config={})


@pytest.fixture
def sms(fake_twilio: FakeTwilio) -> Channel:
    fake_twilio.add_account(ACCOUNT_SID, AUTH_TOKEN)
    return sms_channel()


@pytest.fixture
def whatsapp(fake_graph: FakeGraph) -> Channel:
    fake_graph.add_account(WA_CONFIG["phone_number_id"], WA_TOKEN)
    return make_channel(
        "whatsapp", credentials={"access_token": WA_TOKEN, "app_secret": "s", "verify_token": "v"}, config=WA_CONFIG
    )


def make_customer(
    *, language: str = "ru", preferred: str = "", telegram: bool = True, phone: bool = True, **extra: Any
) -> Customer:
    now = clock.now()
    customer = Customer.objects.create(
        first_name="Айгерим",
        last_name="Сейткали",
        language=language,
        preferred_channel=preferred,
        created_at=now,
        **extra,
    )
    if telegram:
        Identity.objects.create(
            customer=customer, kind=Identity.Kind.TELEGRAM, value=TELEGRAM_ID, first_seen_at=now, last_seen_at=now
        )
    if phone:
        Identity.objects.create(
            customer=customer, kind=Identity.Kind.PHONE, value=PHONE, first_seen_at=now, last_seen_at=now
        )
    return customer


@pytest.fixture
def customer() -> Customer:
    return make_customer(preferred="telegram")


@pytest.fixture
def store() -> Location:
    return make_location(code="mega", name="ТРЦ Мега", city="Алматы", offers_pickup=True)


@pytest.fixture
def place(store: Location) -> Callable[..., Order]:
    """place(customer, capture, source=…) → a pick-up order at the store, its events dispatched."""
    variant = make_variant(sku="GIR-10", price="4990")
    inventory_actions.do_receive(actor=None, location=store, lines=[Line(variant, 50)])

    def _place(customer: Customer | None, capture: Callable[..., Any], **extra: Any) -> Order:
        with capture(execute=True):
            placed = orders_actions.check_place_order(
                actor=None,
                customer=CustomerIn(id=customer.pk) if customer is not None else CustomerIn(),
                source=extra.pop("source", "web"),
                lines=[LineIn(variant=variant, quantity=1)],
                fulfillment=FulfillmentIn(type=extra.pop("fulfillment", "pickup"), location=store),
                **extra,
            )
        return placed.order

    return _place


def transition(order: Order, to: str, capture: Callable[..., Any]) -> Order:
    with capture(execute=True):
        return orders_actions.check_transition(actor=None, order=order, to=to)


def settle(capture: Callable[..., Any], *, rounds: int = 10) -> list[str]:
    """Run every due send and delivery task, as a worker would, until none is left."""
    done: list[str] = []
    for _ in range(rounds):
        rows = list(DBTaskResult.objects.filter(task_path__in=list(TASKS)).ready().order_by("enqueued_at"))
        if not rows:
            break
        for row in rows:
            row.delete()
            cache.clear()  # the clock is frozen: no send waits for the per-channel spacing
            with capture(execute=True):
                done.append(str(TASKS[row.task_path].call(*row.args_kwargs["args"])))
    return done
