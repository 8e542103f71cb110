"""The Satu API client: the base URL is a setting, a Bearer token on every call, last_id paging, and
failures told apart: worth retrying (5xx, 429, network) or not (4xx, bad answers, a status change
missing from processed_ids although Satu answered 200)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from omnia.core import config, schedule
from omnia.core.config import ConfigError
from omnia.orders.satu.client import SatuClient, SatuError, format_date
from tests.orders.satu.fake_satu import TOKEN, FakeSatu


def test_the_base_url_is_a_setting_with_satu_as_default(tmp_path: Path) -> None:
    env = {"OMNIA_DATA_DIR": str(tmp_path / "var")}

    assert config.load(env).provider_urls["satu"] == "https://my.satu.kz/api/v1"
    assert config.load({**env, "OMNIA_SATU_API_URL": "http://127.0.0.1:9/api/v1/"}).provider_urls["satu"] == (
        "http://127.0.0.1:9/api/v1"
    )
    with pytest.raises(ConfigError, match="OMNIA_SATU_API_URL"):
        config.load({**env, "OMNIA_SATU_API_URL": "my.satu.kz"})


def test_date_from_is_almaty_time() -> None:
    assert format_date(dt.datetime(2026, 11, 25, 19, 30, tzinfo=dt.UTC)) == "2026-11-26T00:30:00"


def test_pages_follow_last_id_until_a_short_page(fake_satu: FakeSatu) -> None:
    ids = [fake_satu.add_order([("A", 1, 10.0)]) for _ in range(5)]

    with SatuClient(TOKEN) as client:
        pages = list(client.orders(status="pending", limit=2))

    assert [[order["id"] for order in page] for page in pages] == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
    assert [q.get("last_id") for q in fake_satu.listings()] == [None, str(ids[3]), str(ids[1])]
    assert all(q["status"] == "pending" for q in fake_satu.listings())


def test_paging_stops_at_what_was_read_before(fake_satu: FakeSatu) -> None:
    ids = [fake_satu.add_order([("A", 1, 10.0)]) for _ in range(6)]

    with SatuClient(TOKEN) as client:
        pages = list(client.orders(limit=2, stop_at=ids[3]))

    assert [[order["id"] for order in page] for page in pages] == [ids[5:3:-1], ids[3:1:-1]]


def test_a_wrong_token_is_permanent_and_a_5xx_or_network_error_transient(fake_satu: FakeSatu) -> None:
    with SatuClient("wrong") as client, pytest.raises(SatuError) as refused:
        client.orders_page()
    assert (refused.value.transient, refused.value.status) == (False, 401)
    assert "Authorization required" in str(refused.value)

    for failure in (503, 429, "network"):
        fake_satu.fail_next("GET", "/orders/list", failure)
        with SatuClient(TOKEN) as client, pytest.raises(SatuError) as failed:
            client.orders_page()
        assert failed.value.transient


def test_set_status_checks_processed_ids(fake_satu: FakeSatu) -> None:
    satu_id = fake_satu.add_order([("A", 1, 10.0)])

    with SatuClient(TOKEN) as client:
        client.set_status(satu_id, "received")
        with pytest.raises(SatuError) as refused:
            client.set_status(satu_id, "received")  # received already: Satu answers 200 and applies nothing

    assert refused.value.refused
    assert not refused.value.transient
    assert "Cannot change received to received" in str(refused.value)
    assert fake_satu.status_of(satu_id) == "received"


def test_an_answer_without_an_orders_list_is_permanent(fake_satu: FakeSatu, monkeypatch: pytest.MonkeyPatch) -> None:
    def not_a_list(*args: Any, **kwargs: Any) -> tuple[int, Any]:
        return 200, {"orders": {"unexpected": True}}

    monkeypatch.setattr(fake_satu, "handle", not_a_list)

    with SatuClient(TOKEN) as client, pytest.raises(SatuError) as failed:
        client.orders_page()

    assert not failed.value.transient


def test_the_poll_runs_every_minute() -> None:
    (job,) = [job for job in schedule.PERIODIC.values() if job.name.endswith("tasks.poll_satu")]
    assert job.interval == dt.timedelta(minutes=1)
