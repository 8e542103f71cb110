"""Under the server a returning handle's last-seen is noted and written in a batch, off the path of the
message: resolution itself only reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from omnia.customers import actions, last_seen
from omnia.customers.models import Identity

pytestmark = pytest.mark.django_db

T = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def buffered(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.OMNIA_LAST_SEEN_BUFFER = True
    monkeypatch.setattr(last_seen, "AUTOSTART", False)  # the test writes the batch itself


def test_a_handle_back_after_an_hour_is_resolved_with_one_read_and_written_in_the_batch(
    django_assert_num_queries: Any,
) -> None:
    first = actions.do_resolve_identity(kind="telegram", value="777", channel="telegram", at=T)
    later = T + dt.timedelta(hours=2)

    with django_assert_num_queries(1):
        again = actions.do_resolve_identity(kind="telegram", value="777", channel="telegram", at=later)

    assert again.customer == first.customer
    assert Identity.objects.get().last_seen_at == T  # not yet written
    assert last_seen.flush() == 1
    assert Identity.objects.get().last_seen_at == later
    assert last_seen.flush() == 0


def test_the_batch_keeps_the_latest_time_and_never_moves_last_seen_back() -> None:
    known = actions.do_resolve_identity(kind="telegram", value="555", channel="telegram", at=T)
    other = actions.do_resolve_identity(kind="telegram", value="556", channel="telegram", at=T)
    Identity.objects.filter(pk=other.identity.pk).update(last_seen_at=T + dt.timedelta(hours=5))

    last_seen.note(known.identity.pk, T + dt.timedelta(hours=3))
    last_seen.note(known.identity.pk, T + dt.timedelta(hours=2))  # an older delivery processed later
    last_seen.note(other.identity.pk, T + dt.timedelta(hours=4))  # older than what is stored

    assert last_seen.flush() == 2
    assert Identity.objects.get(pk=known.identity.pk).last_seen_at == T + dt.timedelta(hours=3)
    assert Identity.objects.get(pk=other.identity.pk).last_seen_at == T + dt.timedelta(hours=5)
