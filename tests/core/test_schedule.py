"""Periodic jobs: each is enqueued once per interval however many schedulers run, and the worker
runs what they enqueue (the SLA breach check and the snooze wake-up, as `omnia serve` does)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation, ConversationEvent
from omnia.conversations.tasks import record_sla_breaches, wake_snoozed
from omnia.core import clock, schedule
from omnia.core.models import ScheduledJob
from tests.conversations import make_channel, make_customer, receive
from tests.core.test_tasks import run_worker_until_idle

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def enqueued(task_path: str) -> int:
    return DBTaskResult.objects.filter(task_path=task_path).count()


def test_the_product_registers_its_periodic_jobs() -> None:
    assert {record_sla_breaches.module_path, wake_snoozed.module_path} <= set(schedule.PERIODIC)


def test_a_job_is_enqueued_once_per_interval() -> None:
    path = wake_snoozed.module_path

    assert path in schedule.enqueue_due(T0)
    assert path not in schedule.enqueue_due(T0 + dt.timedelta(seconds=29))
    assert path in schedule.enqueue_due(T0 + dt.timedelta(seconds=30))
    # Hours without any scheduler running: one catch-up run, not one per missed interval.
    assert path in schedule.enqueue_due(T0 + dt.timedelta(hours=5))
    assert path not in schedule.enqueue_due(T0 + dt.timedelta(hours=5, seconds=1))

    assert enqueued(path) == 3
    assert ScheduledJob.objects.get(name=path).next_run_at == T0 + dt.timedelta(hours=5, seconds=30)


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises writers: no real race to test")
def test_two_schedulers_at_the_same_moment_enqueue_once() -> None:
    barrier = threading.Barrier(2)
    results: list[list[str]] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(schedule.enqueue_due(T0))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for job in schedule.PERIODIC:
        assert sum(job in started for started in results) == 1
        assert enqueued(job) == 1


def test_the_worker_runs_the_enqueued_jobs() -> None:
    channel = make_channel("telegram")
    snoozed = receive(channel, make_customer()).conversation
    conversations_actions.check_set_status(
        actor=None, conversation=snoozed, status="snoozed", snoozed_until=clock.now() + dt.timedelta(seconds=1)
    )
    Conversation.objects.filter(pk=snoozed.pk).update(snoozed_until=clock.now() - dt.timedelta(seconds=1))
    waiting = receive(channel, make_customer()).conversation
    Conversation.objects.filter(pk=waiting.pk).update(first_response_due=clock.now() - dt.timedelta(minutes=1))

    schedule.enqueue_due()
    run_worker_until_idle()

    snoozed.refresh_from_db()
    assert snoozed.status == "open"
    assert ConversationEvent.objects.filter(conversation=waiting, kind="sla_breached").exists()
