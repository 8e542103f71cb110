"""The web chat connector is pure: no webhooks, replies are routed to the visitor's socket group."""

import pytest

from omnia.channels.base import OutboundMessage, WebhookRejected
from omnia.channels.registry import connector_for
from omnia.channels.webchat.connector import WebchatConnector, normalize_visitor


def test_it_is_registered_without_a_reply_window() -> None:
    connector = connector_for("webchat")

    assert isinstance(connector, WebchatConnector)
    assert connector.capabilities.reply_window is None


def test_webhooks_are_rejected() -> None:
    with pytest.raises(WebhookRejected):
        WebchatConnector().verify(credentials={}, headers={}, body=b"{}")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950e"),
        ("v-0123456789abcdef", "v-0123456789abcdef"),
        ("short", None),
        ("has space in it", None),
        ("x" * 41, None),
        ("", None),
    ],
)
def test_visitor_ids(raw: str, expected: str | None) -> None:
    assert normalize_visitor(raw) == expected


@pytest.mark.parametrize("to", ["", "no-colon-here", "shop-key:bad id!"])
def test_a_reply_to_something_that_is_not_a_visitor_fails_without_raising(to: str) -> None:
    result = WebchatConnector().send(credentials={}, config={}, message=OutboundMessage(to=to, text="Hi"))

    assert not result.ok
    assert result.error
