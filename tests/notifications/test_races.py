"""Two workers at once: the same key raised together is one notification, and the same notification
dispatched together becomes one message (on SQLite and PostgreSQL, real concurrent transactions)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from omnia.conversations.models import Message
from omnia.notifications import actions
from omnia.notifications.models import Attempt, Event, Notification
from tests.channels.meta.support import make_channel
from tests.notifications.conftest import make_customer

WORKERS = 6


def together(work: Callable[[], Any]) -> list[Any]:
    """Run `work` in WORKERS threads released at the same moment; their results (or exceptions)."""
    barrier = threading.Barrier(WORKERS)
    results: list[Any] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            outcome = work()
        except Exception as exc:  # reported to the test
            outcome = exc
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_the_same_key_raised_at_once_is_one_notification() -> None:
    customer = make_customer(telegram=False, phone=False)

    results = together(lambda: actions.do_raise(Event.SHIPPED, customer=customer, key="race:1", context={}).pk)

    assert Notification.objects.filter(key="race:1").count() == 1
    assert set(results) == {Notification.objects.get(key="race:1").pk}


@pytest.mark.django_db(transaction=True)
def test_one_notification_dispatched_by_several_workers_at_once_is_one_message() -> None:
    make_channel("telegram", credentials={"bot_token": "123:ABC", "secret_token": "s"}, config={})
    customer = make_customer(preferred="telegram", phone=False)
    notification = Notification.objects.create(
        key="race:2",
        event=Event.SHIPPED,
        customer=customer,
        language="ru",
        context={},
        due_at=customer.created_at,
        created_at=customer.created_at,
        updated_at=customer.created_at,
    )

    results = together(lambda: actions.dispatch(notification.pk))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Attempt.objects.filter(notification=notification).count() == 1
    assert Message.objects.filter(meta__notification=notification.pk).count() == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENDING
