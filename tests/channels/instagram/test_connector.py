"""Instagram connector, pure: stored webhook bodies → normalised events; signature; handshake; send."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from omnia.channels.base import (
    Attachment,
    BadPayload,
    InboundIgnored,
    InboundMessage,
    InboundStatus,
    OutboundMessage,
    WebhookRejected,
)
from omnia.channels.instagram.connector import InstagramConnector
from omnia.channels.registry import connector_for
from tests.channels.meta.fake_graph import FakeGraph
from tests.channels.meta.support import fixture, fixture_bytes, sign

CREDENTIALS = {"access_token": "IGQV-test-token", "app_secret": "ig_app_secret_42", "verify_token": "ig-verify-9Kd1"}
CONFIG = {"ig_user_id": "17841400000000001"}
IGSID = "6123456789012345"
TEXT_MID = fixture("instagram", "text")["entry"][0]["messaging"][0]["message"]["mid"]
connector = InstagramConnector()


def parse(name: str) -> list[Any]:
    return connector.parse(body=fixture_bytes("instagram", name), config=CONFIG)


def one(item: dict[str, Any]) -> list[Any]:
    body = {"object": "instagram", "entry": [{"id": "17841400000000001", "time": 1736832301123, "messaging": [item]}]}
    return connector.parse(body=json.dumps(body).encode(), config=CONFIG)


def item(**event: Any) -> dict[str, Any]:
    return {"sender": {"id": IGSID}, "recipient": {"id": "17841400000000001"}, "timestamp": 1736832300871, **event}


def test_the_registry_knows_the_connector() -> None:
    assert isinstance(connector_for("instagram"), InstagramConnector)


def test_capabilities() -> None:
    caps = connector.capabilities
    assert caps.reply_window == dt.timedelta(hours=24)
    assert caps.extended_window == dt.timedelta(days=7)
    assert not caps.needs_template_outside_window
    assert caps.messages_per_second == 5
    assert (caps.delivery_receipts, caps.read_receipts) == (False, True)


def test_a_text_message() -> None:
    (event,) = parse("text")

    assert event == InboundMessage(
        event_id=TEXT_MID,
        external_message_id=TEXT_MID,
        external_chat_id=IGSID,
        sender_kind="instagram",
        sender_id=IGSID,
        sent_at=dt.datetime(2025, 1, 14, 5, 25, 0, 871000, tzinfo=dt.UTC),
        text="Есть этот свитер в размере M?",
        raw=fixture("instagram", "text")["entry"][0]["messaging"][0],
    )


def test_an_image() -> None:
    (event,) = parse("image")

    url = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1799&signature=FAKE"
    assert isinstance(event, InboundMessage)
    assert event.text == ""
    assert event.attachments == (Attachment(kind="image", provider_ref=url, url=url),)
    assert not event.unsupported


def test_an_echo_of_our_own_message_is_ignored() -> None:
    (event,) = parse("echo")

    assert isinstance(event, InboundIgnored)
    assert event.reason == "echo of our own message"
    assert event.event_id == fixture("instagram", "echo")["entry"][0]["messaging"][0]["message"]["mid"]


def test_a_read_receipt_is_a_status_of_our_message() -> None:
    mid = fixture("instagram", "echo")["entry"][0]["messaging"][0]["message"]["mid"]

    assert parse("read") == [
        InboundStatus(
            event_id=f"{mid}:read",
            external_message_id=mid,
            status="read",
            at=dt.datetime(2025, 1, 14, 5, 28, 0, 120000, tzinfo=dt.UTC),
        )
    ]


@pytest.mark.parametrize(
    ("event", "expected_type", "text"),
    [
        pytest.param(
            {"reaction": {"mid": "m.1", "action": "react", "reaction": "love", "emoji": "❤"}},
            InboundIgnored,
            "",
            id="reaction",
        ),
        pytest.param(
            {"postback": {"mid": "m.2", "title": "Где мой заказ?", "payload": "ORDER_STATUS"}},
            InboundMessage,
            "Где мой заказ?",
            id="icebreaker postback",
        ),
        pytest.param({"message": {"mid": "m.3", "is_deleted": True}}, InboundIgnored, "", id="unsent"),
        pytest.param({"message_edit": {"mid": "m.4", "text": "x", "num_edit": 1}}, InboundIgnored, "", id="edit"),
        pytest.param({"referral": {"ref": "ad", "source": "ADS"}}, InboundIgnored, "", id="referral"),
        pytest.param(
            {"message": {"mid": "m.5", "attachments": [{"type": "story_mention", "payload": {"url": "https://x/s"}}]}},
            InboundMessage,
            "Mentioned us in a story: https://x/s",
            id="story mention",
        ),
    ],
)
def test_other_events(event: dict[str, Any], expected_type: type, text: str) -> None:
    (parsed,) = one(item(**event))

    assert isinstance(parsed, expected_type)
    if text:
        assert parsed.text == text


def test_events_of_one_message_get_distinct_ids() -> None:
    ids = [
        one(item(message={"mid": "m.1", "text": "Привет"}))[0].event_id,
        one(item(message={"mid": "m.1", "is_deleted": True}))[0].event_id,
        one(item(reaction={"mid": "m.1", "action": "react", "emoji": "❤"}))[0].event_id,
        one(item(read={"mid": "m.1"}))[0].event_id,
    ]

    assert len(set(ids)) == len(ids)


def test_an_unsupported_message_says_so() -> None:
    (event,) = one(item(message={"mid": "m.6", "is_unsupported": True}))

    assert isinstance(event, InboundMessage)
    assert "unsupported" in event.unsupported


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {"object": "instagram", "entry": [{"messaging": [item(message={"text": "no mid"})]}]}, id="no mid"
        ),
        pytest.param({"object": "instagram", "entry": [{"messaging": [item(timestamp="later")]}]}, id="bad time"),
        pytest.param({"object": "page", "entry": []}, id="another object"),
    ],
)
def test_malformed_bodies_are_bad_payloads(body: dict[str, Any]) -> None:
    with pytest.raises(BadPayload):
        connector.parse(body=json.dumps(body).encode(), config=CONFIG)


def test_the_signature_of_a_stored_body_is_checked() -> None:
    body = fixture_bytes("instagram", "text")
    connector.verify(
        credentials=CREDENTIALS, headers={"X-Hub-Signature-256": sign("ig_app_secret_42", body)}, body=body
    )


def test_a_forged_signature_is_rejected() -> None:
    forged = fixture("instagram", "bad_signature")

    with pytest.raises(WebhookRejected):
        connector.verify(
            credentials=CREDENTIALS, headers={"X-Hub-Signature-256": forged["signature"]}, body=forged["body"].encode()
        )


@pytest.mark.parametrize(("token", "expected"), [("ig-verify-9Kd1", "42"), ("wa-verify-7Hq2", None)])
def test_handshake(token: str, expected: str | None) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"}

    assert connector.handshake(credentials=CREDENTIALS, query=query) == expected


# --- sending, against the fake Graph API ---------------------------------------------------------


@pytest.fixture
def graph(fake_graph: FakeGraph) -> FakeGraph:
    fake_graph.add_account("17841400000000001", "IGQV-test-token")
    fake_graph.add_account("me", "IGQV-test-token")
    return fake_graph


def send(message: OutboundMessage, config: dict[str, Any] = CONFIG) -> Any:
    return connector.send(credentials=CREDENTIALS, config=config, message=message)


def test_send_text(graph: FakeGraph) -> None:
    graph.reply_ids.append("aWdfZAG1faXRlbTpSRVBMWTE=")

    result = send(OutboundMessage(to=IGSID, text="Да, размер M есть в наличии."))

    assert result.provider_message_id == "aWdfZAG1faXRlbTpSRVBMWTE="
    (request,) = graph.requests
    assert request.path == "/v21.0/17841400000000001/messages"
    assert request.authorization == "Bearer IGQV-test-token"
    assert request.json == {"recipient": {"id": IGSID}, "message": {"text": "Да, размер M есть в наличии."}}


def test_send_with_the_human_agent_tag(graph: FakeGraph) -> None:
    result = send(OutboundMessage(to=IGSID, text="Ваш заказ отправлен", tag="HUMAN_AGENT"))

    assert result.ok
    assert graph.requests[0].json == {
        "recipient": {"id": IGSID},
        "message": {"text": "Ваш заказ отправлен"},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
    }


def test_without_an_account_id_the_page_token_posts_to_me(graph: FakeGraph) -> None:
    assert send(OutboundMessage(to=IGSID, text="Салем"), config={}).ok
    assert graph.requests[0].path == "/v21.0/me/messages"


@pytest.mark.parametrize(
    ("code", "subcode", "status", "transient"),
    [
        pytest.param(613, None, 400, True, id="rate limit"),
        pytest.param(32, None, 400, True, id="page request limit"),
        pytest.param(10, 2534022, 400, False, id="outside the allowed window"),
        pytest.param(551, None, 400, False, id="user unavailable"),
    ],
)
def test_send_errors(graph: FakeGraph, code: int, subcode: int | None, status: int, transient: bool) -> None:
    graph.fail_next(status, code, "Refused", subcode=subcode)

    result = send(OutboundMessage(to=IGSID, text="Салем"))

    assert (result.ok, result.transient, result.error) == (False, transient, f"(#{code}) Refused")


@pytest.mark.parametrize(
    ("message", "error"),
    [
        pytest.param(OutboundMessage(to=IGSID, text="ж" * 501), "1000 bytes", id="over 1000 bytes"),
        pytest.param(
            OutboundMessage(to=IGSID, text="x", tag="CONFIRMED_EVENT_UPDATE"), "unknown message tag", id="tag"
        ),
        pytest.param(OutboundMessage(to=IGSID), "nothing to send", id="empty"),
        pytest.param(OutboundMessage(to="", text="x"), "no recipient", id="no recipient"),
    ],
)
def test_what_cannot_be_sent_fails_without_calling_meta(graph: FakeGraph, message: OutboundMessage, error: str) -> None:
    result = send(message)

    assert not result.ok
    assert error in result.error
    assert graph.requests == []


def test_500_cyrillic_letters_fit() -> None:
    assert len(("ж" * 500).encode()) == 1000
