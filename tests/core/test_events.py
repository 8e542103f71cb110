from dataclasses import dataclass

import pytest
from django.db import OperationalError, transaction

from omnia.core.events import publish_on_commit, subscribe


@dataclass(frozen=True)
class Happened:
    value: int


received: list[int] = []


def _record(event: Happened) -> None:
    received.append(event.value)


def _explode(event: Happened) -> None:
    raise RuntimeError("broken subscriber")


subscribe(Happened, _explode)
subscribe(Happened, _record)


@pytest.fixture(autouse=True)
def _clear() -> None:
    received.clear()


@pytest.mark.django_db(transaction=True)
def test_subscribers_run_after_commit_only() -> None:
    with transaction.atomic():
        publish_on_commit(Happened(1))
        assert received == []

    assert received == [1]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_events_are_never_delivered() -> None:
    def publish_then_fail() -> None:
        with transaction.atomic():
            publish_on_commit(Happened(2))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        publish_then_fail()

    assert received == []


@pytest.mark.django_db(transaction=True)
def test_a_broken_subscriber_does_not_stop_the_others() -> None:
    publish_on_commit(Happened(3))

    assert received == [3]


@dataclass(frozen=True)
class Raced:
    losses: int  # how many times the subscriber loses a lock race before it gets through


attempts: list[int] = []


def _lose_races(event: Raced) -> None:
    attempts.append(event.losses)
    if len(attempts) <= event.losses:
        raise OperationalError("database is locked")


subscribe(Raced, _lose_races)


@pytest.mark.django_db(transaction=True)
def test_a_subscriber_that_lost_a_lock_race_runs_again() -> None:
    attempts.clear()
    publish_on_commit(Raced(losses=2))

    assert len(attempts) == 3  # two losses, then through


@pytest.mark.django_db(transaction=True)
def test_a_subscriber_that_keeps_losing_gives_up_after_three_tries(caplog: pytest.LogCaptureFixture) -> None:
    attempts.clear()
    publish_on_commit(Raced(losses=10))

    assert len(attempts) == 3
    assert "failed for Raced(losses=10)" in caplog.text
