"""The Graph client against the fake Graph API: success, and which failures are worth retrying."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

import pytest

from omnia.channels.meta import client
from tests.channels.meta.fake_graph import FakeGraph, fake_graph  # noqa: F401  (the fixture)

TOKEN = "EAAG-test-token"
PAYLOAD = {"messaging_product": "whatsapp", "to": "77011234567", "type": "text", "text": {"body": "Салем"}}


def _id(body: Mapping[str, Any]) -> str:
    return str(body["messages"][0]["id"])


def _send(token: str = TOKEN) -> Any:
    return client.post_message(path="109876543210987/messages", access_token=token, payload=PAYLOAD, message_id=_id)


@pytest.fixture
def graph(fake_graph: FakeGraph) -> FakeGraph:  # noqa: F811
    fake_graph.add_account("109876543210987", TOKEN)
    return fake_graph


def test_a_message_is_posted_with_the_bearer_token_and_its_id_returned(graph: FakeGraph) -> None:
    graph.reply_ids.append("wamid.ACCEPTED")

    result = _send()

    assert result.ok
    assert result.provider_message_id == "wamid.ACCEPTED"
    (request,) = graph.requests
    assert request.path == "/v21.0/109876543210987/messages"
    assert request.authorization == f"Bearer {TOKEN}"
    assert request.json == PAYLOAD


def test_a_wrong_token_is_a_permanent_failure_naming_the_graph_error(graph: FakeGraph) -> None:
    result = _send("EAAG-expired")

    assert not result.ok
    assert not result.transient
    assert result.error == "(#190) Invalid OAuth access token - Cannot parse access token"


@pytest.mark.parametrize(
    ("status", "code", "retry_after", "transient", "expected_retry_after"),
    [
        pytest.param(429, 4, 30, True, 30.0, id="HTTP 429 with Retry-After"),
        pytest.param(400, 130429, None, True, None, id="130429 throughput"),
        pytest.param(400, 131056, None, True, None, id="131056 pair rate"),
        pytest.param(400, 613, None, True, None, id="613 calls per hour"),
        pytest.param(503, 2, None, True, None, id="5xx"),
        pytest.param(400, 131047, None, False, None, id="131047 window closed"),
        pytest.param(400, 131026, None, False, None, id="131026 undeliverable"),
        pytest.param(400, 10, 60, False, None, id="permanent ignores Retry-After"),
    ],
)
def test_failures_are_transient_only_when_retrying_can_help(
    graph: FakeGraph,
    status: int,
    code: int,
    retry_after: int | None,
    transient: bool,
    expected_retry_after: float | None,
) -> None:
    graph.fail_next(status, code, "Something happened", details="Details here.", retry_after=retry_after)

    result = _send()

    assert not result.ok
    assert result.transient is transient
    assert result.retry_after == expected_retry_after
    assert result.error == f"(#{code}) Something happened: Details here."


def test_a_network_failure_is_transient(settings: Any) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.OMNIA_META_GRAPH_URL = f"http://127.0.0.1:{port}/v21.0"

    result = _send()

    assert result.transient
    assert result.error.startswith("network error: ConnectError")


def test_a_success_without_a_message_id_is_a_permanent_failure(graph: FakeGraph) -> None:
    result = client.post_message(
        path="109876543210987/messages", access_token=TOKEN, payload=PAYLOAD, message_id=lambda body: ""
    )

    assert not result.ok
    assert not result.transient
    assert "no id" in result.error
