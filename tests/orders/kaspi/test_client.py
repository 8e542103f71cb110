"""The Kaspi Shop API client: the base URL is a setting, JSON:API headers on every call, creation windows of
at most 14 days, and failures told apart: worth retrying (5xx, 429, network) or not (4xx, bad answers)."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path
from typing import Any

import pytest

from omnia.core import config, schedule
from omnia.core.config import ConfigError
from omnia.orders.kaspi.client import MAX_WINDOW, KaspiClient, KaspiError, from_ms, to_ms, windows
from tests.orders.kaspi.fake_kaspi import TOKEN, FakeKaspi

T0 = dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC)


def test_the_base_url_is_a_setting_with_kaspi_as_default(tmp_path: Path) -> None:
    env = {"OMNIA_DATA_DIR": str(tmp_path / "var")}

    assert config.load(env).provider_urls["kaspi"] == "https://kaspi.kz/shop/api/v2"
    assert config.load({**env, "OMNIA_KASPI_API_URL": "http://127.0.0.1:9/v2/"}).provider_urls["kaspi"] == (
        "http://127.0.0.1:9/v2"
    )
    with pytest.raises(ConfigError, match="OMNIA_KASPI_API_URL"):
        config.load({**env, "OMNIA_KASPI_API_URL": "kaspi.kz"})


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (T0, T0, 0),
        (T0, T0 + dt.timedelta(hours=1), 1),
        (T0, T0 + MAX_WINDOW, 1),
        (T0, T0 + MAX_WINDOW + dt.timedelta(milliseconds=1), 2),
        (T0, T0 + dt.timedelta(days=45), 4),
    ],
)
def test_windows_cover_the_span_in_at_most_fourteen_days(since: dt.datetime, until: dt.datetime, expected: int) -> None:
    parts = windows(since, until)

    assert len(parts) == expected
    assert all(end - start <= MAX_WINDOW for start, end in parts)
    if parts:
        assert (parts[0][0], parts[-1][1]) == (since, until)
        assert all(parts[i][1] == parts[i + 1][0] for i in range(len(parts) - 1))


def test_milliseconds_round_trip() -> None:
    assert from_ms(to_ms(T0)) == T0
    with pytest.raises(ValueError, match="milliseconds"):
        from_ms("1736830000123")


def test_a_window_longer_than_fourteen_days_is_refused_before_calling() -> None:
    with KaspiClient(TOKEN, base_url="http://127.0.0.1:9") as client, pytest.raises(ValueError, match="14 days"):
        client.orders_page(state="NEW", since=T0, until=T0 + dt.timedelta(days=15), page=0, size=10)


def test_every_call_carries_the_token_and_the_json_api_media_type(fake_kaspi: FakeKaspi) -> None:
    with KaspiClient(TOKEN) as client:
        page = client.orders_page(state="NEW", since=T0, until=T0 + dt.timedelta(days=1), page=0, size=20)

    assert (page.orders, page.page_count) == ([], 1)
    (request,) = fake_kaspi.requests
    assert request.headers["x-auth-token"] == TOKEN
    assert request.headers["accept"] == "application/vnd.api+json"
    assert request.query["filter[orders][creationDate][$ge]"] == str(to_ms(T0))
    assert request.query["include[orders]"] == "user"


@pytest.mark.parametrize(("status", "transient"), [(500, True), (503, True), (429, True), (400, False), (404, False)])
def test_errors_are_classified(fake_kaspi: FakeKaspi, status: int, transient: bool) -> None:
    fake_kaspi.fail_next("GET", "/orders", status)

    with KaspiClient(TOKEN) as client, pytest.raises(KaspiError) as failed:
        client.entries("NDk2MTQ5MDIyOkZBS0U=")

    assert (failed.value.status, failed.value.transient) == (status, transient)
    assert str(failed.value).startswith(f"HTTP {status}: ")


def test_a_bad_token_is_permanent_and_says_why(fake_kaspi: FakeKaspi) -> None:
    with KaspiClient("expired=") as client, pytest.raises(KaspiError) as failed:
        client.set_status(order_id="x", code="1", status="ACCEPTED_BY_MERCHANT")

    assert (failed.value.status, failed.value.transient) == (401, False)
    assert "Invalid X-Auth-Token" in str(failed.value)


def test_an_unreachable_api_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    with KaspiClient(TOKEN, base_url=f"http://127.0.0.1:{port}") as client, pytest.raises(KaspiError) as failed:
        client.entries("x")

    assert failed.value.transient
    assert failed.value.status is None


def test_an_answer_that_is_not_json_api_is_permanent(fake_kaspi: FakeKaspi, monkeypatch: pytest.MonkeyPatch) -> None:
    def not_a_list(*args: Any, **kwargs: Any) -> tuple[int, Any]:
        return 200, {"data": {"unexpected": True}}

    monkeypatch.setattr(fake_kaspi, "handle", not_a_list)

    with KaspiClient(TOKEN) as client, pytest.raises(KaspiError) as failed:
        client.entries("x")

    assert not failed.value.transient


def test_the_poll_runs_every_minute() -> None:
    (job,) = [job for job in schedule.PERIODIC.values() if job.name.endswith("tasks.poll_kaspi")]
    assert job.interval == dt.timedelta(minutes=1)
