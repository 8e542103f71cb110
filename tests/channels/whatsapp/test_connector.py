"""WhatsApp Cloud connector, pure: stored webhook bodies → normalised events; signature; handshake; send."""

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
from omnia.channels.registry import connector_for
from omnia.channels.whatsapp.connector import WhatsAppConnector
from tests.channels.meta.fake_graph import FakeGraph
from tests.channels.meta.support import fixture, fixture_bytes, sign

CREDENTIALS = {"access_token": "EAAG-wa-token", "app_secret": "wa_app_secret_42", "verify_token": "wa-verify-7Hq2"}
CONFIG = {"phone_number_id": "109876543210987", "waba_id": "102938475610293"}
OUT_ID = "wamid.HBgLNzcwMTEyMzQ1NjcVAgARGBJGQUtFT1VUQk9VTkQwMDIA"
connector = WhatsAppConnector()


def parse(name: str) -> list[Any]:
    return connector.parse(body=fixture_bytes("whatsapp", name), config=CONFIG)


def at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def wrap(message: dict[str, Any]) -> bytes:
    body = fixture("whatsapp", "text")
    body["entry"][0]["changes"][0]["value"]["messages"] = [message]
    return json.dumps(body).encode()


def test_the_registry_knows_the_connector() -> None:
    assert isinstance(connector_for("whatsapp"), WhatsAppConnector)


def test_capabilities_follow_the_documented_limits() -> None:
    caps = connector.capabilities
    assert caps.reply_window == dt.timedelta(hours=24)
    assert caps.needs_template_outside_window
    assert caps.max_text_length == 4096
    assert caps.messages_per_second == 20
    assert caps.delivery_receipts
    assert caps.read_receipts


def test_a_text_message() -> None:
    (event,) = parse("text")

    assert event == InboundMessage(
        event_id="wamid.HBgLNzcwMTEyMzQ1NjcVAgASGBQzQUZBS0UxMjM0NTY3ODkwQUJDAA==",
        external_message_id="wamid.HBgLNzcwMTEyMzQ1NjcVAgASGBQzQUZBS0UxMjM0NTY3ODkwQUJDAA==",
        external_chat_id="77011234567",
        sender_kind="whatsapp",
        sender_id="77011234567",
        sent_at=at(1736832005),
        text="Здравствуйте, можно поменять адрес доставки?",
        sender_display_name="Ерлан Ахметов",
        sender_phone="77011234567",
        reply_to_external_id="wamid.HBgLNzcwMTEyMzQ1NjcVAgARGBJGQUtFT1VUQk9VTkQwMDEA",
        extra_handles=(("whatsapp_user", "KZ.80213374650019283746"),),
        raw=event.raw,
    )
    assert event.raw["message"]["text"]["body"] == event.text
    assert event.raw["contact"]["wa_id"] == "77011234567"


def test_a_username_user_without_a_phone_is_known_by_user_id() -> None:
    (event,) = parse("username_user")

    assert isinstance(event, InboundMessage)
    assert (event.sender_kind, event.sender_id, event.external_chat_id) == (
        "whatsapp_user",
        "KZ.80213374650019283746",
        "KZ.80213374650019283746",
    )
    assert (event.sender_phone, event.extra_handles, event.sender_username) == ("", (), "erlan.a")


def test_an_image_with_a_caption() -> None:
    (event,) = parse("image")

    assert isinstance(event, InboundMessage)
    assert event.text == "Вот этот адрес"
    assert event.attachments == (Attachment(kind="image", provider_ref="1479537139650973", mime_type="image/jpeg"),)
    assert not event.unsupported


def test_an_unsupported_message_says_so() -> None:
    (event,) = parse("unsupported")

    assert isinstance(event, InboundMessage)
    assert event.text == ""
    assert "unsupported" in event.unsupported
    assert "Message type unknown (131051)" in event.unsupported


@pytest.mark.parametrize(
    ("message", "text", "attachments", "unsupported"),
    [
        pytest.param(
            {"type": "audio", "audio": {"id": "1023", "mime_type": "audio/ogg; codecs=opus", "voice": True}},
            "",
            (Attachment(kind="voice", provider_ref="1023", mime_type="audio/ogg; codecs=opus"),),
            "",
            id="voice note",
        ),
        pytest.param(
            {"type": "document", "document": {"id": "77", "mime_type": "application/pdf", "filename": "счёт.pdf"}},
            "",
            (Attachment(kind="document", provider_ref="77", mime_type="application/pdf", file_name="счёт.pdf"),),
            "",
            id="document",
        ),
        pytest.param(
            {"type": "video", "video": {"id": "88", "mime_type": "video/mp4", "caption": "распаковка"}},
            "распаковка",
            (Attachment(kind="video", provider_ref="88", mime_type="video/mp4"),),
            "",
            id="video",
        ),
        pytest.param(
            {"type": "sticker", "sticker": {"id": "99", "mime_type": "image/webp", "animated": False}},
            "",
            (Attachment(kind="sticker", provider_ref="99", mime_type="image/webp"),),
            "",
            id="sticker",
        ),
        pytest.param(
            {"type": "location", "location": {"latitude": 43.2389, "longitude": 76.8897, "name": "Dostyk Plaza"}},
            "Dostyk Plaza (43.2389,76.8897)",
            (
                Attachment(
                    kind="location",
                    provider_ref="43.2389,76.8897",
                    file_name="Dostyk Plaza",
                    url="https://maps.google.com/?q=43.2389,76.8897",
                ),
            ),
            "",
            id="location",
        ),
        pytest.param(
            {
                "type": "contacts",
                "contacts": [
                    {
                        "name": {"formatted_name": "Айгерим"},
                        "phones": [{"phone": "+7 701 765 43 21", "wa_id": "77017654321"}],
                    }
                ],
            },
            "Айгерим +7 701 765 43 21",
            (Attachment(kind="contact", provider_ref="+7 701 765 43 21", file_name="Айгерим"),),
            "",
            id="shared contact",
        ),
        pytest.param(
            {
                "type": "interactive",
                "interactive": {"type": "button_reply", "button_reply": {"id": "y", "title": "Да"}},
            },
            "Да",
            (),
            "",
            id="button reply",
        ),
        pytest.param(
            {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "pickup", "title": "Самовывоз", "description": "Алматы, Абая 10"},
                },
            },
            "Самовывоз\nАлматы, Абая 10",
            (),
            "",
            id="list reply",
        ),
        pytest.param(
            {"type": "button", "button": {"payload": "STOP", "text": "Отписаться"}},
            "Отписаться",
            (),
            "",
            id="template quick reply",
        ),
        pytest.param({"type": "order", "order": {"catalog_id": "1"}}, "", (), "of type 'order'", id="unknown type"),
    ],
)
def test_message_types(
    message: dict[str, Any], text: str, attachments: tuple[Attachment, ...], unsupported: str
) -> None:
    message = {"from": "77011234567", "id": "wamid.TYPE1", "timestamp": "1736832005", **message}

    (event,) = connector.parse(body=wrap(message), config=CONFIG)

    assert isinstance(event, InboundMessage)
    assert (event.text, event.attachments) == (text, attachments)
    assert (unsupported in event.unsupported) if unsupported else event.unsupported == ""


def test_a_reaction_is_stored_but_not_shown() -> None:
    message = {"from": "77011234567", "id": "wamid.R1", "timestamp": "1736832005", "type": "reaction"}
    message["reaction"] = {"message_id": OUT_ID, "emoji": "👍"}

    assert connector.parse(body=wrap(message), config=CONFIG) == [
        InboundIgnored(event_id="wamid.R1", reason=f"reaction 👍 to {OUT_ID}")
    ]


@pytest.mark.parametrize(
    ("name", "status", "seconds"),
    [
        ("status_sent", "sent", 1736832110),
        ("status_delivered", "delivered", 1736832120),
        ("status_read", "read", 1736832180),
    ],
)
def test_statuses(name: str, status: str, seconds: int) -> None:
    assert parse(name) == [
        InboundStatus(event_id=f"{OUT_ID}:{status}", external_message_id=OUT_ID, status=status, at=at(seconds))
    ]


def test_a_failed_status_carries_the_error() -> None:
    assert parse("status_failed") == [
        InboundStatus(
            event_id=f"{OUT_ID}:failed",
            external_message_id=OUT_ID,
            status="failed",
            at=at(1736832115),
            error="Message undeliverable (131026): Message Undeliverable.",
        )
    ]


def test_a_duplicate_in_one_delivery_keeps_the_same_event_id() -> None:
    first, second = parse("duplicate")

    assert first == second  # ingest stores the first and counts the second as a duplicate


def test_events_for_another_number_of_the_same_app_are_not_this_channels() -> None:
    (event,) = connector.parse(body=fixture_bytes("whatsapp", "text"), config={"phone_number_id": "555"})

    assert isinstance(event, InboundIgnored)
    assert "109876543210987" in event.reason


def test_other_webhook_fields_carry_no_events() -> None:
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "account_update"}]}]}

    assert connector.parse(body=json.dumps(body).encode(), config=CONFIG) == []


@pytest.mark.parametrize(
    "message",
    [
        pytest.param({"from": "77011234567", "timestamp": "1736832005", "type": "text"}, id="no id"),
        pytest.param({"from": "77011234567", "id": "wamid.X", "timestamp": "yesterday", "type": "text"}, id="bad time"),
        pytest.param({"id": "wamid.X", "timestamp": "1736832005", "type": "text"}, id="no sender"),
    ],
)
def test_malformed_messages_are_bad_payloads(message: dict[str, Any]) -> None:
    with pytest.raises(BadPayload):
        connector.parse(body=wrap(message), config=CONFIG)


def test_the_signature_of_a_stored_body_is_checked() -> None:
    body = fixture_bytes("whatsapp", "text")
    connector.verify(
        credentials=CREDENTIALS, headers={"X-Hub-Signature-256": sign("wa_app_secret_42", body)}, body=body
    )


def test_a_forged_signature_is_rejected() -> None:
    forged = fixture("whatsapp", "bad_signature")

    with pytest.raises(WebhookRejected):
        connector.verify(
            credentials=CREDENTIALS,
            headers={"X-Hub-Signature-256": forged["signature"]},
            body=forged["body"].encode(),
        )


@pytest.mark.parametrize(("token", "expected"), [("wa-verify-7Hq2", "1158201444"), ("wrong", None)])
def test_handshake(token: str, expected: str | None) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}

    assert connector.handshake(credentials=CREDENTIALS, query=query) == expected


# --- sending, against the fake Graph API ---------------------------------------------------------


@pytest.fixture
def graph(fake_graph: FakeGraph) -> FakeGraph:
    fake_graph.add_account("109876543210987", "EAAG-wa-token")
    return fake_graph


def send(message: OutboundMessage) -> Any:
    return connector.send(credentials=CREDENTIALS, config=CONFIG, message=message)


def test_send_text_as_a_quoted_reply(graph: FakeGraph) -> None:
    result = send(OutboundMessage(to="77011234567", text="Да, пришлите адрес.", reply_to_external_id="wamid.Q"))

    assert result.ok
    assert graph.requests[0].json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "77011234567",
        "type": "text",
        "text": {"body": "Да, пришлите адрес."},
        "context": {"message_id": "wamid.Q"},
    }


@pytest.mark.parametrize("language", ["ru", {"code": "ru"}])
def test_send_a_template(graph: FakeGraph, language: Any) -> None:
    components = [{"type": "body", "parameters": [{"type": "text", "text": "4961490"}]}]
    template = {"name": "order_status_update", "language": language, "components": components}

    result = send(OutboundMessage(to="+77011234567", template=template))

    assert result.ok
    assert graph.requests[0].json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "77011234567",
        "type": "template",
        "template": {"name": "order_status_update", "language": {"code": "ru"}, "components": components},
    }


@pytest.mark.parametrize(
    ("credentials", "config", "message", "error"),
    [
        pytest.param(CREDENTIALS, {}, OutboundMessage(to="77011234567", text="x"), "not configured", id="no number"),
        pytest.param(CREDENTIALS, CONFIG, OutboundMessage(to="77011234567"), "nothing to send", id="empty"),
        pytest.param(CREDENTIALS, CONFIG, OutboundMessage(to="", text="x"), "no recipient", id="no recipient"),
        pytest.param(
            CREDENTIALS, CONFIG, OutboundMessage(to="77011234567", text="ы" * 4097), "longer than 4096", id="too long"
        ),
        pytest.param(
            CREDENTIALS,
            CONFIG,
            OutboundMessage(to="77011234567", template={"name": "order_status_update"}),
            "language",
            id="template without language",
        ),
    ],
)
def test_what_cannot_be_sent_fails_without_calling_meta(
    graph: FakeGraph, credentials: dict[str, str], config: dict[str, str], message: OutboundMessage, error: str
) -> None:
    result = connector.send(credentials=credentials, config=config, message=message)

    assert not result.ok
    assert not result.transient
    assert error in result.error
    assert graph.requests == []
