"""The notifications engine end to end: an order event raises a notification, it goes out through the
outbox to the (fake) provider of the right channel, and what the provider answers moves it on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from omnia.channels.models import Channel
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation, Message
from omnia.core import clock
from omnia.customers import actions as customers_actions
from omnia.customers.models import Customer, TimelineEntry
from omnia.notifications import actions, composing, tasks
from omnia.notifications.models import Attempt, Event, Notification, Settings
from omnia.orders.models import Order
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.channels.telegram.fake_telegram import FakeTelegram
from tests.notifications.conftest import PHONE, TELEGRAM_ID, make_customer, settle, transition

pytestmark = pytest.mark.django_db

ALMATY = ZoneInfo("Asia/Almaty")  # the shop's time zone in the tests' settings

Capture = Callable[..., Any]


def only_notification() -> Notification:
    (notification,) = Notification.objects.all()
    return notification


def test_a_confirmed_order_is_told_through_the_preferred_channel_in_the_customers_language(
    place: Callable[..., Order],
    telegram: Channel,
    sms: Channel,
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    customer = make_customer(language="kk", preferred="telegram")
    order = place(customer, django_capture_on_commit_callbacks)

    transition(order, Order.Status.CONFIRMED, django_capture_on_commit_callbacks)
    settle(django_capture_on_commit_callbacks)

    notification = only_notification()
    assert (notification.event, notification.language, notification.order_id) == (Event.ORDER_CONFIRMED, "kk", order.pk)
    expected = composing.compose(
        event=Event.ORDER_CONFIRMED, channel_kind="telegram", language="kk", context=notification.context
    ).text
    assert order.number in expected
    assert fake_telegram.sent() == [{"chat_id": int(TELEGRAM_ID), "text": expected}]
    assert fake_twilio.requests == []
    # Telegram reports no delivery: accepted is as far as it goes.
    assert (notification.status, notification.channel) == (Notification.Status.SENT, "telegram")
    message = Message.objects.get(meta__notification=notification.pk)
    assert (message.author, message.status, message.text) == (None, Message.Status.SENT, expected)
    # The thread it went into does not wait in the operators' queue.
    assert message.conversation.status == Conversation.Status.RESOLVED
    assert message.conversation.waiting_since is None


def test_every_notification_is_on_the_customers_timeline(
    customer: Customer, telegram: Channel, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        notification = actions.do_raise(Event.BACK_IN_STOCK, customer=customer, key="t:1", context={})

    entry = TimelineEntry.objects.get(customer=customer, kind=TimelineEntry.Kind.NOTIFICATION)
    assert (entry.ref_type, entry.ref_id) == ("notifications.notification", str(notification.pk))
    assert entry.data["event"] == Event.BACK_IN_STOCK


def test_raising_the_same_key_twice_makes_one_notification_and_one_message(
    place: Callable[..., Order],
    customer: Customer,
    telegram: Channel,
    fake_telegram: FakeTelegram,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    order = place(customer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        first = actions.do_raise(Event.SHIPPED, customer=customer, key=f"order:{order.pk}:shipped", order=order)
        second = actions.do_raise(Event.SHIPPED, customer=customer, key=f"order:{order.pk}:shipped", order=order)
    settle(django_capture_on_commit_callbacks)
    # A worker running the same send again sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_notification.call(first.pk)

    assert first.pk == second.pk
    assert Notification.objects.count() == 1
    assert len(fake_telegram.sent()) == 1


def test_orders_without_a_card_or_from_a_marketplace_raise_nothing(
    place: Callable[..., Order], customer: Customer, telegram: Channel, django_capture_on_commit_callbacks: Capture
) -> None:
    counter = place(None, django_capture_on_commit_callbacks, fulfillment="takeaway", source="store")
    transition(counter, Order.Status.COMPLETED, django_capture_on_commit_callbacks)
    kaspi = place(customer, django_capture_on_commit_callbacks, source="kaspi", external_id="K-1")
    transition(kaspi, Order.Status.CONFIRMED, django_capture_on_commit_callbacks)

    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("local", "own", "due_local"),
    [
        (
            dt.datetime(2026, 11, 26, 22, 30, tzinfo=ALMATY),
            None,
            dt.datetime(2026, 11, 27, 9, 0, tzinfo=ALMATY),
        ),  # evening: tomorrow morning
        (
            dt.datetime(2026, 11, 26, 7, 15, tzinfo=ALMATY),
            None,
            dt.datetime(2026, 11, 26, 9, 0, tzinfo=ALMATY),
        ),  # early morning: this morning
        (
            dt.datetime(2026, 11, 26, 12, 0, tzinfo=ALMATY),
            None,
            dt.datetime(2026, 11, 26, 12, 0, tzinfo=ALMATY),
        ),  # daytime: now
        # The customer's own hours win: 13:00–15:00 (a nap), and 23:30–06:00 (crossing midnight).
        (
            dt.datetime(2026, 11, 26, 14, 0, tzinfo=ALMATY),
            (dt.time(13), dt.time(15)),
            dt.datetime(2026, 11, 26, 15, 0, tzinfo=ALMATY),
        ),
        (
            dt.datetime(2026, 11, 26, 22, 30, tzinfo=ALMATY),
            (dt.time(23, 30), dt.time(6)),
            dt.datetime(2026, 11, 26, 22, 30, tzinfo=ALMATY),
        ),
        (
            dt.datetime(2026, 11, 26, 23, 45, tzinfo=ALMATY),
            (dt.time(23, 30), dt.time(6)),
            dt.datetime(2026, 11, 27, 6, 0, tzinfo=ALMATY),
        ),
    ],
)
def test_quiet_hours_put_the_notification_off_until_they_end(
    time_machine: Any,
    local: dt.datetime,
    own: tuple[dt.time, dt.time] | None,
    due_local: dt.datetime,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    time_machine.move_to(local, tick=False)
    customer = make_customer(
        quiet_hours_start=own[0] if own else None, quiet_hours_end=own[1] if own else None, preferred="telegram"
    )
    with django_capture_on_commit_callbacks(execute=True):
        notification = actions.do_raise(Event.SHIPPED, customer=customer, key="q", context={})

    assert notification.due_at == due_local


def test_a_notification_raised_at_night_goes_out_in_the_morning(
    customer: Customer,
    telegram: Channel,
    fake_telegram: FakeTelegram,
    time_machine: Any,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 26, 18, 0, tzinfo=dt.UTC), tick=False)  # 23:00 in Almaty
    with django_capture_on_commit_callbacks(execute=True):
        notification = actions.do_raise(Event.SHIPPED, customer=customer, key="night", context={})
    settle(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_due.call()
    assert fake_telegram.sent() == []

    time_machine.move_to(dt.datetime(2026, 11, 27, 4, 1, tzinfo=dt.UTC), tick=False)  # 09:01
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_due.call()
    settle(django_capture_on_commit_callbacks)

    assert len(fake_telegram.sent()) == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT


def test_a_switched_off_event_is_kept_as_not_sent(
    customer: Customer, telegram: Channel, fake_telegram: FakeTelegram, django_capture_on_commit_callbacks: Capture
) -> None:
    Settings.objects.create(disabled_events=[Event.SHIPPED], updated_at=clock.now())
    with django_capture_on_commit_callbacks(execute=True):
        notification = actions.do_raise(Event.SHIPPED, customer=customer, key="off", context={})
    settle(django_capture_on_commit_callbacks)

    assert notification.status == Notification.Status.SKIPPED
    assert "switched this event off" in notification.reason
    assert fake_telegram.sent() == []


def test_withdrawn_consent_passes_to_the_next_channel(
    customer: Customer,
    telegram: Channel,
    sms: Channel,
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    customers_actions.check_record_consent(
        customer=customer, channel="telegram", purpose="transactional", granted=False, source="bot", method="STOP"
    )
    with django_capture_on_commit_callbacks(execute=True):
        notification = actions.do_raise(Event.SHIPPED, customer=customer, key="c", context={})
    settle(django_capture_on_commit_callbacks)

    assert fake_telegram.sent() == []
    (request,) = fake_twilio.requests
    assert request.value("To") == PHONE
    notification.refresh_from_db()
    assert notification.channel == "sms"
    assert "telegram: consent withdrawn" in notification.reason


def test_consent_withdrawn_everywhere_is_not_sent_and_says_why(
    customer: Customer, telegram: Channel, sms: Channel, django_capture_on_commit_callbacks: Capture
) -> None:
    customers_actions.check_record_consent(
        customer=customer, channel="any", purpose="transactional", granted=False, source="console", method="call"
    )
    with django_capture_on_commit_callbacks(execute=True):
        notification = actions.do_raise(Event.SHIPPED, customer=customer, key="none", context={})
    settle(django_capture_on_commit_callbacks)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.SKIPPED
    assert "telegram: consent withdrawn" in notification.reason
    assert "sms: consent withdrawn" in notification.reason
    assert not Message.objects.exists()


def test_a_rejected_send_falls_back_to_the_next_channel(
    customer: Customer,
    telegram: Channel,
    sms: Channel,
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    fake_telegram.fail_next(403, "Forbidden: bot was blocked by the user")
    with django_capture_on_commit_callbacks(execute=True):
        notification = actions.do_raise(Event.SHIPPED, customer=customer, key="f", context={})
    settle(django_capture_on_commit_callbacks)

    telegram_try, sms_try = Attempt.objects.filter(notification=notification).order_by("id")
    assert (telegram_try.channel, telegram_try.status) == (telegram, Attempt.Status.FAILED)
    assert "blocked" in telegram_try.error
    assert (sms_try.channel, sms_try.status) == (sms, Attempt.Status.SENT)
    (request,) = fake_twilio.requests
    assert request.value("Body") == sms_try.text
    notification.refresh_from_db()
    assert (notification.status, notification.channel) == (Notification.Status.SENDING, "sms")  # awaiting its report


def test_every_channel_failing_fails_the_notification(
    customer: Customer,
    telegram: Channel,
    sms: Channel,
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    fake_telegram.fail_next(400, "Bad Request: chat not found")
    fake_twilio.fail_always(400, 21211, "The 'To' number is not a valid phone number.")
    with django_capture_on_commit_callbacks(execute=True):
        notification = actions.do_raise(Event.SHIPPED, customer=customer, key="ff", context={})
    settle(django_capture_on_commit_callbacks)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert "chat not found" in notification.reason
    assert "not a valid phone number" in notification.reason


def sms_first(customer: Customer) -> None:
    Customer.objects.filter(pk=customer.pk).update(preferred_channel="sms")


def test_not_delivered_in_time_passes_to_the_next_channel(
    customer: Customer,
    telegram: Channel,
    sms: Channel,
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    time_machine: Any,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    sms_first(customer)
    with django_capture_on_commit_callbacks(execute=True):
        notification = actions.do_raise(Event.SHIPPED, customer=customer, key="late", context={})
    settle(django_capture_on_commit_callbacks)
    assert len(fake_twilio.requests) == 1
    sms_try = Attempt.objects.get(notification=notification)
    assert sms_try.check_at == clock.now() + dt.timedelta(minutes=30)

    time_machine.move_to(clock.now() + dt.timedelta(minutes=29), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.time_out_attempts.call() == 0
    time_machine.move_to(clock.now() + dt.timedelta(minutes=2), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.time_out_attempts.call() == 1
    settle(django_capture_on_commit_callbacks)

    sms_try.refresh_from_db()
    assert sms_try.status == Attempt.Status.TIMED_OUT
    assert len(fake_telegram.sent()) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.channel) == (Notification.Status.SENT, "telegram")


def test_a_delivery_report_marks_it_delivered_and_nothing_more_is_sent(
    customer: Customer,
    telegram: Channel,
    sms: Channel,
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    time_machine: Any,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    sms_first(customer)
    with django_capture_on_commit_callbacks(execute=True):
        notification = actions.do_raise(Event.SHIPPED, customer=customer, key="ok", context={})
    settle(django_capture_on_commit_callbacks)
    message = Message.objects.get(meta__notification=notification.pk)

    with django_capture_on_commit_callbacks(execute=True):
        conversations_actions.do_update_delivery_status(
            channel=sms, provider_message_id=message.provider_message_id, status="delivered"
        )
    time_machine.move_to(clock.now() + dt.timedelta(hours=2), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.time_out_attempts.call()
        tasks.send_due.call()
    settle(django_capture_on_commit_callbacks)

    notification.refresh_from_db()
    assert (notification.status, notification.channel) == (Notification.Status.DELIVERED, "sms")
    attempt = Attempt.objects.get(notification=notification)
    assert (attempt.status, attempt.check_at) == (Attempt.Status.DELIVERED, None)
    assert fake_telegram.sent() == []


def test_a_long_text_is_cut_at_a_word_for_sms() -> None:
    text = ("слово " * 400).strip()
    cut = actions.fit_text(text, 1600)

    assert len(cut) <= 1600
    assert cut.endswith("слово…")


def test_a_preference_for_calls_passes_to_the_chain_and_says_why(
    telegram: Channel, fake_telegram: FakeTelegram, django_capture_on_commit_callbacks: Capture
) -> None:
    customer = make_customer(preferred="phone")
    with django_capture_on_commit_callbacks(execute=True):
        notification = actions.do_raise(Event.SHIPPED, customer=customer, key="call", context={})
    settle(django_capture_on_commit_callbacks)

    notification.refresh_from_db()
    assert (notification.status, notification.channel) == (Notification.Status.SENT, "telegram")
    assert "phone: not a channel messages go through" in notification.reason
    assert "whatsapp: no active channel" in notification.reason  # first in the shop's chain
    assert len(fake_telegram.sent()) == 1


def test_a_fallback_that_falls_in_quiet_hours_waits_for_the_morning(
    customer: Customer,
    telegram: Channel,
    sms: Channel,
    fake_telegram: FakeTelegram,
    fake_twilio: FakeTwilio,
    time_machine: Any,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    sms_first(customer)
    time_machine.move_to(dt.datetime(2026, 11, 26, 20, 45, tzinfo=ALMATY), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        notification = actions.do_raise(Event.DELAYED, customer=customer, key="evening", context={})
    settle(django_capture_on_commit_callbacks)
    assert len(fake_twilio.requests) == 1

    time_machine.move_to(dt.datetime(2026, 11, 26, 21, 20, tzinfo=ALMATY), tick=False)  # not delivered: fall back
    with django_capture_on_commit_callbacks(execute=True):
        tasks.time_out_attempts.call()
        tasks.send_due.call()
    settle(django_capture_on_commit_callbacks)
    notification.refresh_from_db()
    assert fake_telegram.sent() == []
    assert notification.status == Notification.Status.PENDING
    assert notification.due_at == dt.datetime(2026, 11, 27, 9, 0, tzinfo=ALMATY)

    time_machine.move_to(dt.datetime(2026, 11, 27, 9, 0, tzinfo=ALMATY), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_due.call()
    settle(django_capture_on_commit_callbacks)
    notification.refresh_from_db()
    assert len(fake_telegram.sent()) == 1
    assert (notification.status, notification.channel) == (Notification.Status.SENT, "telegram")


def test_a_payment_covering_the_order_is_told_once_but_not_at_the_counter(
    place: Callable[..., Order],
    customer: Customer,
    telegram: Channel,
    fake_telegram: FakeTelegram,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    from omnia.orders import actions_payments

    pickup = place(customer, django_capture_on_commit_callbacks)
    counter = place(customer, django_capture_on_commit_callbacks, fulfillment="takeaway", source="store")
    for order in (pickup, counter):
        with django_capture_on_commit_callbacks(execute=True):
            actions_payments.check_add_payment(
                actor=None, order=order, method="kaspi_pay", amount=order.total, status="paid"
            )
    settle(django_capture_on_commit_callbacks)

    (paid,) = Notification.objects.filter(event=Event.PAYMENT_RECEIVED)
    assert paid.order_id == pickup.pk
    assert paid.key.startswith(f"order:{pickup.pk}:paid:")
    assert len(fake_telegram.sent()) == 1
