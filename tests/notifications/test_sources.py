"""What raises notifications besides order statuses (back in stock, parcels, unread web-chat replies), and
the WhatsApp rule: outside the customer's 24 hours only the shop's approved template may go."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from omnia.channels.models import Channel, MessageTemplate
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation, Message
from omnia.core import clock
from omnia.core.events import publish_on_commit
from omnia.customers import actions as customers_actions
from omnia.customers.models import Customer
from omnia.fulfillment.events import ParcelDelayed, ParcelStatusChanged
from omnia.fulfillment.models import Carrier, Parcel
from omnia.inventory import actions as inventory_actions
from omnia.inventory.actions import Line
from omnia.inventory.models import Location, StockSubscription
from omnia.notifications import actions, composing, tasks
from omnia.notifications.models import Attempt, Event, Notification, Template
from omnia.orders.models import Order, Shipment
from tests.channels.meta.fake_graph import FakeGraph
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.channels.telegram.fake_telegram import FakeTelegram
from tests.factories import make_location, make_variant
from tests.notifications.conftest import PHONE, make_customer, settle

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


# --- WhatsApp outside its 24 hours ---------------------------------------------------------------------


@pytest.fixture
def wa_customer() -> Customer:
    return make_customer(preferred="whatsapp", telegram=False)


def raise_shipped(customer: Customer, order: Order, capture: Capture) -> Notification:
    context = composing.build_context(Event.SHIPPED, customer=customer, order=order)
    with capture(execute=True):
        return actions.do_raise(Event.SHIPPED, customer=customer, key="wa", order=order, context=context)


def test_whatsapp_outside_24_hours_without_an_approved_template_passes_to_sms(
    wa_customer: Customer,
    whatsapp: Channel,
    sms: Channel,
    place: Callable[..., Order],
    fake_graph: FakeGraph,
    fake_twilio: FakeTwilio,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    order = place(wa_customer, django_capture_on_commit_callbacks)
    notification = raise_shipped(wa_customer, order, django_capture_on_commit_callbacks)
    settle(django_capture_on_commit_callbacks)

    assert fake_graph.requests == []
    (request,) = fake_twilio.requests
    assert request.value("To") == PHONE
    notification.refresh_from_db()
    assert notification.channel == "sms"
    assert "whatsapp: no approved template" in notification.reason


def test_whatsapp_outside_24_hours_sends_the_shops_approved_template(
    wa_customer: Customer,
    whatsapp: Channel,
    sms: Channel,
    place: Callable[..., Order],
    fake_graph: FakeGraph,
    fake_twilio: FakeTwilio,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    approved = MessageTemplate.objects.create(
        channel=whatsapp, name="order_shipped", language="ru", body="Заказ {{1}} отправлен.", created_at=clock.now()
    )
    Template.objects.create(
        event=Event.SHIPPED,
        channel="whatsapp",
        language="ru",
        body="Заказ {{order.number}} отправлен, скоро будет у вас.",
        whatsapp_template=approved,
        whatsapp_values=["{{order.number}}"],
        updated_at=clock.now(),
    )
    order = place(wa_customer, django_capture_on_commit_callbacks)
    notification = raise_shipped(wa_customer, order, django_capture_on_commit_callbacks)
    settle(django_capture_on_commit_callbacks)

    (request,) = fake_graph.requests
    assert request.json["type"] == "template"
    assert request.json["template"] == {
        "name": "order_shipped",
        "language": {"code": "ru"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": order.number}]}],
    }
    assert fake_twilio.requests == []
    attempt = Attempt.objects.get(notification=notification)
    assert attempt.text == f"Заказ {order.number} отправлен."
    assert attempt.status == Attempt.Status.SENT  # WhatsApp reports delivery: waiting for it
    assert attempt.check_at is not None


def test_whatsapp_within_24_hours_sends_the_text(
    wa_customer: Customer,
    whatsapp: Channel,
    place: Callable[..., Order],
    fake_graph: FakeGraph,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        conversations_actions.do_receive_message(
            customer=wa_customer,
            channel=whatsapp,
            text="Когда привезёте?",
            sent_at=clock.now() - dt.timedelta(hours=3),
            provider_message_id="wamid.in-1",
            external_chat_id=PHONE.lstrip("+"),
        )
    order = place(wa_customer, django_capture_on_commit_callbacks)
    notification = raise_shipped(wa_customer, order, django_capture_on_commit_callbacks)
    settle(django_capture_on_commit_callbacks)

    (request,) = fake_graph.requests
    assert request.json["type"] == "text"
    assert request.json["to"] == PHONE.lstrip("+")
    attempt = Attempt.objects.get(notification=notification)
    assert request.json["text"]["body"] == attempt.text
    assert order.number in attempt.text
    # It joined the customer's open conversation there, which stays as it was.
    message = Message.objects.get(meta__notification=notification.pk)
    assert message.conversation.status == Conversation.Status.OPEN


# --- back in stock, parcels ---------------------------------------------------------------------------------


def test_back_in_stock_tells_every_request_for_the_variant_once(django_capture_on_commit_callbacks: Capture) -> None:
    store, other = make_location(code="s1"), make_location(code="s2")
    variant = make_variant(sku="HAT-1")
    here, anywhere, elsewhere = (make_customer(telegram=False, phone=False) for _ in range(3))
    for who, where in ((here, store), (anywhere, None), (elsewhere, other)):
        customers_actions.do_request_back_in_stock(actor=None, customer=who, variant=variant, location=where)

    with django_capture_on_commit_callbacks(execute=True):
        inventory_actions.do_receive(actor=None, location=store, lines=[Line(variant, 3)])
    with django_capture_on_commit_callbacks(execute=True):  # more arrives: nobody is told twice
        inventory_actions.do_receive(actor=None, location=store, lines=[Line(variant, 2)])

    told = Notification.objects.filter(event=Event.BACK_IN_STOCK)
    assert sorted(n.customer_id for n in told) == sorted([here.pk, anywhere.pk])
    assert all(n.context["product"]["name"]["ru"] for n in told)
    requests = StockSubscription.objects.filter(variant=variant)
    assert {r.customer_id for r in requests if r.notified_at is not None} == {here.pk, anywhere.pk}


@pytest.fixture
def parcel(place: Callable[..., Order], customer: Customer, django_capture_on_commit_callbacks: Capture) -> Parcel:
    order = place(customer, django_capture_on_commit_callbacks)
    shipment = Shipment.objects.filter(order=order).first() or Shipment.objects.create(
        order=order, location=Location.objects.get(code="mega"), created_at=clock.now(), updated_at=clock.now()
    )
    now = clock.now()
    carrier = Carrier.objects.create(code="cdek", name="CDEK", created_at=now, updated_at=now)
    return Parcel.objects.create(
        shipment=shipment,
        carrier=carrier,
        tracking_number="1520348766",
        status=Parcel.Status.AT_PICKUP_POINT,
        created_at=now,
        updated_at=now,
        status_at=now,
    )


def test_a_parcel_at_the_pickup_point_and_a_delay_raise_theirs_once_per_parcel(
    parcel: Parcel, telegram: Channel, fake_telegram: FakeTelegram, django_capture_on_commit_callbacks: Capture
) -> None:
    order_id = parcel.shipment.order_id
    with django_capture_on_commit_callbacks(execute=True):
        publish_on_commit(
            ParcelStatusChanged(parcel_id=parcel.pk, order_id=order_id, old="in_transit", new="delivered")
        )
        publish_on_commit(
            ParcelStatusChanged(parcel_id=parcel.pk, order_id=order_id, old="in_transit", new="at_pickup_point")
        )
        publish_on_commit(
            ParcelStatusChanged(parcel_id=parcel.pk, order_id=order_id, old="in_transit", new="at_pickup_point")
        )
        publish_on_commit(ParcelDelayed(parcel_id=parcel.pk, order_id=order_id, estimated_on=None, reason="storm"))
    settle(django_capture_on_commit_callbacks)

    raised = {n.event: n for n in Notification.objects.all()}
    assert set(raised) == {Event.AT_PICKUP_POINT, Event.DELAYED}
    assert raised[Event.AT_PICKUP_POINT].context["parcel"]["tracking_number"] == "1520348766"
    assert raised[Event.AT_PICKUP_POINT].order_id == order_id
    assert len(fake_telegram.sent()) == 2


# --- an unread web-chat reply ---------------------------------------------------------------------------------


def test_an_unread_web_chat_reply_is_told_through_another_channel(
    telegram: Channel, fake_telegram: FakeTelegram, time_machine: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    webchat = Channel.objects.create(provider="webchat", key="site", name="Site", created_at=clock.now())
    customer = make_customer(preferred="webchat")
    with django_capture_on_commit_callbacks(execute=True):
        conversations_actions.do_receive_message(
            customer=customer,
            channel=webchat,
            text="Есть размер M?",
            sent_at=clock.now(),
            provider_message_id="w-1",
            external_chat_id="site:visitor-1",
        )
        conversation = Conversation.objects.get(customer=customer)
        reply = conversations_actions.check_send_message(
            actor=None, conversation=conversation, text="Да, есть, отложить?"
        )
    Message.objects.filter(pk=reply.pk).update(status=Message.Status.SENT, author=_operator())

    time_machine.move_to(clock.now() + dt.timedelta(minutes=10), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.raise_reply_waiting.call() == 0
    time_machine.move_to(clock.now() + dt.timedelta(minutes=6), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.raise_reply_waiting.call() == 1
        assert tasks.raise_reply_waiting.call() == 0  # one per reply
    settle(django_capture_on_commit_callbacks)

    notification = Notification.objects.get(event=Event.REPLY_WAITING)
    assert notification.channel == "telegram"  # the web chat it waits in is not a way to tell them
    assert "отложить" in notification.context["reply"]["preview"]
    assert len(fake_telegram.sent()) == 1


def _operator() -> Any:
    from tests.factories import make_user

    return make_user()
