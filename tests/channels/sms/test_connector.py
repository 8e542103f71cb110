"""The SMS connector alone: stored Twilio form bodies → normalised events; what send refuses before any HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from omnia.channels.base import BadPayload, InboundIgnored, InboundMessage, InboundStatus, OutboundMessage
from omnia.channels.sms.connector import SmsConnector
from tests.channels.sms.support import form_bytes

NOW = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
connector = SmsConnector()


@pytest.fixture(autouse=True)
def _frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def test_a_text_sms() -> None:
    (event,) = connector.parse(body=form_bytes("inbound_text"), config={})

    assert isinstance(event, InboundMessage)
    assert (event.event_id, event.external_message_id) == ("SM0a1b2c3d4e5f60718293a4b5c6d7e8f9",) * 2
    assert (event.sender_kind, event.sender_id, event.sender_phone) == ("phone", "+77011234567", "+77011234567")
    assert event.external_chat_id == "+77011234567"
    assert event.text == "Сәлем! Где мой заказ 4961490?"
    assert event.sent_at == NOW
    assert event.attachments == ()
    assert event.raw["To"] == "+77170000001"


def test_an_mms_lists_its_media_in_order() -> None:
    (event,) = connector.parse(body=form_bytes("mms"), config={})

    assert isinstance(event, InboundMessage)
    assert [(a.kind, a.mime_type, a.provider_ref.rsplit("/", 1)[1]) for a in event.attachments] == [
        ("image", "image/jpeg", "ME00000000000000000000000000000001"),
        ("document", "application/pdf", "ME00000000000000000000000000000002"),
    ]


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("status_sent", "sent", ""),
        ("status_delivered", "delivered", ""),
        ("status_failed", "failed", "Twilio error 30003: unreachable destination handset"),
    ],
)
def test_status_callbacks(name: str, status: str, error: str) -> None:
    (event,) = connector.parse(body=form_bytes(name), config={})

    assert isinstance(event, InboundStatus)
    assert (event.external_message_id, event.status, event.error) == (
        "SM5f1e2d3c4b5a69788796a5b4c3d2e1f0",
        status,
        error,
    )
    assert event.event_id == f"SM5f1e2d3c4b5a69788796a5b4c3d2e1f0:{event.raw['MessageStatus']}"


def test_a_queued_callback_is_kept_but_not_applied() -> None:
    (event,) = connector.parse(body=form_bytes("status_queued"), config={})

    assert isinstance(event, InboundIgnored)


def test_twilios_own_error_message_wins_over_the_built_in_one() -> None:
    body = (
        b"MessageSid=SM5f1e2d3c4b5a69788796a5b4c3d2e1f0&MessageStatus=failed"
        b"&ErrorCode=30007&ErrorMessage=Carrier+violation"
    )

    (event,) = connector.parse(body=body, config={})

    assert isinstance(event, InboundStatus)
    assert event.error == "Twilio error 30007: Carrier violation"


def test_whatsapp_through_twilio_is_known_by_its_whatsapp_number() -> None:
    body = (
        b"MessageSid=SM00000000000000000000000000000003&From=whatsapp%3A%2B77011234567"
        b"&To=whatsapp%3A%2B77170000001&Body=Hi&NumMedia=0&ProfileName=Dana"
    )

    (event,) = connector.parse(body=body, config={})

    assert isinstance(event, InboundMessage)
    assert (event.sender_kind, event.sender_id, event.sender_display_name) == ("whatsapp", "+77011234567", "Dana")
    assert event.external_chat_id == "whatsapp:+77011234567"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"From=%2B77011234567&Body=hi", id="no MessageSid"),
        pytest.param(b"MessageSid=SM123&From=%2B77011234567", id="malformed MessageSid"),
        pytest.param(b"MessageSid=SM00000000000000000000000000000003&Body=hi", id="no From"),
        pytest.param(
            b"MessageSid=SM00000000000000000000000000000003&From=%2B77011234567&NumMedia=two",
            id="NumMedia not a number",
        ),
        pytest.param(b"\xff\xfe", id="not UTF-8"),
    ],
)
def test_what_is_not_a_twilio_body(body: bytes) -> None:
    with pytest.raises(BadPayload):
        connector.parse(body=body, config={})


@pytest.mark.parametrize(
    ("credentials", "config", "message", "error"),
    [
        (
            {},
            {"account_sid": "AC1", "phone_number": "+7"},
            OutboundMessage(to="+77011234567", text="hi"),
            "not configured",
        ),
        (
            {"auth_token": "t"},
            {"account_sid": "AC1"},
            OutboundMessage(to="+77011234567", text="hi"),
            "no number (or Messaging Service)",
        ),
        (
            {"auth_token": "t"},
            {"account_sid": "AC1", "phone_number": "+77170000001"},
            OutboundMessage(to="", text="hi"),
            "no phone number to reply to",
        ),
        (
            {"auth_token": "t"},
            {"account_sid": "AC1", "phone_number": "+77170000001"},
            OutboundMessage(to="+77011234567", text="hi", template={"name": "x"}),
            "text only",
        ),
        (
            {"auth_token": "t"},
            {"account_sid": "AC1", "phone_number": "+77170000001"},
            OutboundMessage(to="+77011234567", text="hi"),
            "not a Twilio account SID",
        ),
    ],
)
def test_send_refuses_before_calling_twilio(
    credentials: dict[str, str], config: dict[str, str], message: OutboundMessage, error: str
) -> None:
    result = connector.send(credentials=credentials, config=config, message=message)

    assert not result.ok
    assert not result.transient
    assert error in result.error


def test_capabilities() -> None:
    capabilities = connector.capabilities
    assert capabilities.reply_window is None
    assert (capabilities.max_text_length, capabilities.messages_per_second) == (1600, 1.0)
