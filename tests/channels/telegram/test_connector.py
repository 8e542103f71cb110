"""The Telegram connector on its own: verify and parse (pure), send and file_url against the local fake."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnia.channels.base import (
    Attachment,
    BadPayload,
    InboundIgnored,
    InboundMessage,
    OutboundMessage,
    WebhookRejected,
)
from omnia.channels.registry import connector_for
from omnia.channels.telegram import client
from omnia.channels.telegram.connector import TelegramConnector
from tests.channels.telegram.fake_telegram import TOKEN, FakeTelegram, fake_telegram  # noqa: F401

FIXTURES = Path(__file__).parent / "fixtures"
CREDENTIALS = {"bot_token": TOKEN, "secret_token": "s3cret"}
connector = TelegramConnector()


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def parse_one(name: str) -> Any:
    events = connector.parse(body=body(name), config={})
    assert len(events) == 1
    return events[0]


# --- registry and capabilities ---------------------------------------------------------------


def test_the_registry_knows_the_telegram_connector() -> None:
    found = connector_for("telegram")
    assert isinstance(found, TelegramConnector)
    assert found.provider == "telegram"
    assert found.capabilities.reply_window is None
    assert found.capabilities.max_text_length == 4096
    assert found.capabilities.messages_per_second == 25
    assert not found.capabilities.delivery_receipts
    assert found.handshake(credentials=CREDENTIALS, query={"hub.challenge": "x"}) is None


# --- verify ----------------------------------------------------------------------------------


def test_the_exact_secret_token_is_accepted_whatever_the_header_case() -> None:
    connector.verify(credentials=CREDENTIALS, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}, body=b"{}")
    connector.verify(credentials=CREDENTIALS, headers={"x-telegram-bot-api-secret-token": "s3cret"}, body=b"{}")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Telegram-Bot-Api-Secret-Token": ""},
        {"X-Telegram-Bot-Api-Secret-Token": "s3cret "},
        {"X-Telegram-Bot-Api-Secret-Token": "S3CRET"},
        {"X-Telegram-Bot-Api-Secret-Token": "другой"},
        {"X-Hub-Signature-256": "sha256=00"},
    ],
)
def test_a_missing_or_different_secret_is_rejected(headers: dict[str, str]) -> None:
    with pytest.raises(WebhookRejected):
        connector.verify(credentials=CREDENTIALS, headers=headers, body=body("text"))


def test_a_channel_without_a_secret_rejects_everything() -> None:
    with pytest.raises(WebhookRejected):
        connector.verify(credentials={"bot_token": TOKEN}, headers={"X-Telegram-Bot-Api-Secret-Token": ""}, body=b"")


def test_the_reference_secret_vector() -> None:
    credentials = {"secret_token": "kz_shop_Tg-secret_9f3a"}
    connector.verify(
        credentials=credentials, headers={"X-Telegram-Bot-Api-Secret-Token": "kz_shop_Tg-secret_9f3a"}, body=b""
    )
    with pytest.raises(WebhookRejected):
        connector.verify(
            credentials=credentials, headers={"X-Telegram-Bot-Api-Secret-Token": "kz_shop_Tg-secret_9f3"}, body=b""
        )


# --- parse: messages -------------------------------------------------------------------------


def test_a_text_message() -> None:
    event = parse_one("text")
    assert isinstance(event, InboundMessage)
    assert event.event_id == "584310027"
    assert event.external_message_id == "512398765:1187"
    assert event.external_chat_id == "512398765"
    assert event.sender_kind == "telegram"
    assert event.sender_id == "512398765"
    assert event.sender_display_name == "Айгерим Сапарова"
    assert event.sender_username == "aigerim_s"
    assert event.sender_language == "ru"
    assert event.sender_phone == ""
    assert event.sent_at == dt.datetime(2025, 1, 14, 5, 15, 42, tzinfo=dt.UTC)
    assert event.sent_at.utcoffset() == dt.timedelta(0)
    assert event.text == "Когда привезут? /status"
    assert event.attachments == ()
    assert event.reply_to_external_id == "512398765:1185"
    assert event.unsupported == ""
    assert event.raw == json.loads(body("text"))


def test_a_photo_takes_the_largest_size_and_the_caption() -> None:
    event = parse_one("photo")
    assert isinstance(event, InboundMessage)
    assert event.external_message_id == "512398765:1190"
    assert event.text == "Вот повреждённая коробка"
    assert event.sender_display_name == "Айгерим"
    assert event.attachments == (
        Attachment(kind="image", provider_ref="AgACAgIAAxkBAAIEpmFake2", mime_type="image/jpeg", size=118204),
    )


def test_a_document() -> None:
    event = parse_one("document")
    assert isinstance(event, InboundMessage)
    assert event.text == ""
    assert event.attachments == (
        Attachment(
            kind="document",
            provider_ref="BQACAgIAAxkBAAIEqFakeDoc",
            mime_type="application/pdf",
            file_name="чек_4961490.pdf",
            size=48213,
        ),
    )


def test_a_voice_note() -> None:
    event = parse_one("voice")
    assert isinstance(event, InboundMessage)
    assert event.sender_language == "kk"
    assert event.attachments == (
        Attachment(kind="voice", provider_ref="AwACAgIAAxkBAAIEqVoiceFake", mime_type="audio/ogg", size=21340),
    )


def test_a_location_and_a_sticker() -> None:
    location = parse_one("location")
    assert isinstance(location, InboundMessage)
    assert location.attachments == (Attachment(kind="location", url="geo:43.238949,76.889709"),)
    sticker = parse_one("sticker")
    assert isinstance(sticker, InboundMessage)
    assert sticker.attachments == (
        Attachment(
            kind="sticker",
            provider_ref="CAACAgIAAxkBAAIEstickerFake",
            mime_type="image/webp",
            file_name="👍",
            size=23010,
        ),
    )


@pytest.mark.parametrize(("name", "phone"), [("contact_own", "+77011234567"), ("contact_own_no_plus", "+77017654321")])
def test_sharing_ones_own_contact_gives_the_phone(name: str, phone: str) -> None:
    event = parse_one(name)
    assert isinstance(event, InboundMessage)
    assert event.sender_phone == phone
    assert event.attachments[0].kind == "contact"
    assert event.attachments[0].url == f"tel:{phone}"


def test_someone_elses_contact_is_an_attachment_not_the_senders_phone() -> None:
    event = parse_one("contact_other")
    assert isinstance(event, InboundMessage)
    assert event.sender_phone == ""
    assert event.attachments == (
        Attachment(kind="contact", provider_ref="+77029998877", url="tel:+77029998877", file_name="Мама"),
    )


def test_an_invalid_own_number_is_left_out_but_the_message_kept() -> None:
    update = json.loads(body("contact_own"))
    update["message"]["contact"]["phone_number"] = "12"
    [event] = connector.parse(body=json.dumps(update).encode(), config={})
    assert isinstance(event, InboundMessage)
    assert event.sender_phone == ""
    assert event.attachments[0].provider_ref == "12"


def test_a_poll_is_an_unsupported_message() -> None:
    event = parse_one("poll")
    assert isinstance(event, InboundMessage)
    assert event.unsupported == "Unsupported Telegram message: poll"
    assert event.external_message_id == "512398765:1210"
    assert event.sender_display_name == "Айгерим Сапарова"


def test_a_dice_is_an_unsupported_message() -> None:
    update = json.loads(body("poll"))
    del update["message"]["poll"]
    update["message"]["dice"] = {"emoji": "🎲", "value": 4}
    [event] = connector.parse(body=json.dumps(update).encode(), config={})
    assert isinstance(event, InboundMessage)
    assert event.unsupported == "Unsupported Telegram message: dice"


# --- parse: ignored updates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("edited", "edit"),
        ("my_chat_member_kicked", "bot blocked"),
        ("group", "supergroup chat"),
        ("callback_query", "callback query"),
    ],
)
def test_updates_that_carry_nothing_for_operators_are_ignored(name: str, reason: str) -> None:
    event = parse_one(name)
    assert isinstance(event, InboundIgnored)
    assert event.event_id == str(json.loads(body(name))["update_id"])
    assert event.reason == reason


def test_a_service_message_and_an_unknown_update_type_are_ignored() -> None:
    pinned = {
        "update_id": 1,
        "message": {
            "message_id": 5,
            "date": 1736840000,
            "chat": {"id": 7, "type": "private"},
            "from": {"id": 7, "is_bot": False, "first_name": "A"},
            "pinned_message": {"message_id": 4, "date": 1736830000, "chat": {"id": 7, "type": "private"}},
        },
    }
    assert connector.parse(body=json.dumps(pinned).encode(), config={}) == [
        InboundIgnored(event_id="1", reason="service message: pinned_message")
    ]
    reaction = {"update_id": 2, "message_reaction": {"chat": {"id": 7, "type": "private"}}}
    assert connector.parse(body=json.dumps(reaction).encode(), config={}) == [
        InboundIgnored(event_id="2", reason="update: message_reaction")
    ]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"message": {}}',
        b'{"update_id": "584310027"}',
        b'{"update_id": true}',
        b'{"update_id": 1, "message": "hi"}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": 1}}',
        b'{"update_id": 1, "message": {"chat": {"id": 1, "type": "private"}, "date": 1}}',
        b'{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1, "type": "private"}, "date": 1e300}}',
        b'{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1, "type": "private"}, "date": 99999999999999}}',
    ],
)
def test_malformed_bodies_are_bad_payloads(raw: bytes) -> None:
    with pytest.raises(BadPayload):
        connector.parse(body=raw, config={})


# --- send, against the fake Bot API ----------------------------------------------------------


def test_send_posts_send_message_and_returns_chat_and_message_id(fake_telegram: FakeTelegram) -> None:  # noqa: F811
    result = connector.send(
        credentials=CREDENTIALS,
        config={},
        message=OutboundMessage(
            to="512398765", text="Здравствуйте! Заказ в пути.", reply_to_external_id="512398765:1187"
        ),
    )
    assert result.ok
    assert result.provider_message_id == "512398765:1001"
    assert fake_telegram.sent() == [
        {
            "chat_id": 512398765,
            "text": "Здравствуйте! Заказ в пути.",
            "reply_parameters": {"message_id": 1187, "allow_sending_without_reply": True},
        }
    ]
    assert fake_telegram.calls[0].token == TOKEN


def test_a_429_is_transient_with_the_providers_retry_after(fake_telegram: FakeTelegram) -> None:  # noqa: F811
    fake_telegram.fail_next(429, "Too Many Requests: retry after 7", retry_after=7)
    result = connector.send(credentials=CREDENTIALS, config={}, message=OutboundMessage(to="512398765", text="Привет"))
    assert not result.ok
    assert result.transient
    assert result.retry_after == 7
    assert result.error == "Too Many Requests: retry after 7"
    assert connector.send(credentials=CREDENTIALS, config={}, message=OutboundMessage(to="512398765", text="Привет")).ok


@pytest.mark.parametrize(
    ("code", "description"),
    [(400, "Bad Request: chat not found"), (403, "Forbidden: bot was blocked by the user")],
)
def test_chat_not_found_and_blocked_are_permanent(fake_telegram: FakeTelegram, code: int, description: str) -> None:  # noqa: F811
    fake_telegram.fail_next(code, description)
    result = connector.send(credentials=CREDENTIALS, config={}, message=OutboundMessage(to="512398765", text="Привет"))
    assert (result.ok, result.transient, result.error) == (False, False, description)


def test_server_errors_are_transient(fake_telegram: FakeTelegram) -> None:  # noqa: F811
    fake_telegram.fail_next(500, "Internal Server Error")
    fake_telegram.answer_raw_next(502, b"<html>Bad Gateway</html>")
    for _ in range(2):
        result = connector.send(credentials=CREDENTIALS, config={}, message=OutboundMessage(to="1", text="x"))
        assert result.transient
        assert result.retry_after is None
        assert not result.ok


def test_a_wrong_token_is_a_permanent_unauthorized(fake_telegram: FakeTelegram) -> None:  # noqa: F811
    result = connector.send(
        credentials={"bot_token": "123:WRONG"}, config={}, message=OutboundMessage(to="1", text="x")
    )
    assert (result.ok, result.transient, result.error) == (False, False, "Unauthorized")


def test_a_network_error_is_transient_and_never_shows_the_token(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.OMNIA_TELEGRAM_API_URL = f"http://127.0.0.1:{port}"
    with caplog.at_level(logging.DEBUG):
        result = connector.send(credentials=CREDENTIALS, config={}, message=OutboundMessage(to="1", text="x"))
    assert result.transient
    assert result.error.startswith("Cannot reach Telegram")
    assert TOKEN not in result.error
    assert TOKEN not in caplog.text


def test_a_timeout_is_transient(fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    def timeout(*args: object, **kwargs: object) -> None:
        raise httpx.ReadTimeout("timed out")

    monkeypatch.setattr(httpx, "post", timeout)
    result = connector.send(credentials=CREDENTIALS, config={}, message=OutboundMessage(to="1", text="x"))
    assert result.transient
    assert "did not answer in time" in result.error


def test_the_token_never_reaches_the_logs(fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    fake_telegram.fail_next(400, "Bad Request: chat not found")
    with caplog.at_level(logging.DEBUG, logger="httpx"):  # settings keep httpx at WARNING; the filter is the backstop
        connector.send(credentials=CREDENTIALS, config={}, message=OutboundMessage(to="1", text="x"))
        connector.send(credentials=CREDENTIALS, config={}, message=OutboundMessage(to="1", text="x"))
    assert "HTTP Request: POST" in caplog.text  # httpx's own request log line, redacted
    assert "/bot<token>/sendMessage" in caplog.text
    assert TOKEN not in caplog.text
    assert "ABC" not in caplog.text


def test_too_long_or_empty_text_is_refused_without_calling_telegram(fake_telegram: FakeTelegram) -> None:  # noqa: F811
    assert connector.send(credentials=CREDENTIALS, config={}, message=OutboundMessage(to="1", text="я" * 4096)).ok
    too_long = connector.send(credentials=CREDENTIALS, config={}, message=OutboundMessage(to="1", text="я" * 4097))
    emoji = connector.send(credentials=CREDENTIALS, config={}, message=OutboundMessage(to="1", text="😀" * 2049))
    empty = connector.send(credentials=CREDENTIALS, config={}, message=OutboundMessage(to="1", text="  "))
    no_chat = connector.send(credentials=CREDENTIALS, config={}, message=OutboundMessage(to="", text="x"))
    no_token = connector.send(credentials={}, config={}, message=OutboundMessage(to="1", text="x"))
    for result in (too_long, emoji, empty, no_chat, no_token):
        assert not result.ok
        assert not result.transient
        assert result.error
    assert "4096" in too_long.error
    assert len(fake_telegram.attempts()) == 1


# --- getFile → download URL -------------------------------------------------------------------


def test_file_url_resolves_a_file_id_and_the_url_downloads(fake_telegram: FakeTelegram) -> None:  # noqa: F811
    fake_telegram.add_file("AgACAgIAAxkBAAIEpmFake2", "photos/file_12.jpg", b"\xff\xd8jpeg-bytes")
    url = client.file_url(CREDENTIALS, "AgACAgIAAxkBAAIEpmFake2")
    assert url == f"{fake_telegram.url}/file/bot{TOKEN}/photos/file_12.jpg"
    assert httpx.get(url).content == b"\xff\xd8jpeg-bytes"
    assert fake_telegram.attempts("getFile") == [{"file_id": "AgACAgIAAxkBAAIEpmFake2"}]


def test_file_url_of_an_unknown_file_raises_a_permanent_error(fake_telegram: FakeTelegram) -> None:  # noqa: F811
    with pytest.raises(client.TelegramError) as caught:
        client.file_url(CREDENTIALS, "nope")
    assert caught.value.description == "Bad Request: invalid file_id"
    assert not caught.value.transient
    with pytest.raises(client.TelegramError, match="Unauthorized"):
        client.file_url({"bot_token": "123:WRONG"}, "AgACAgIAAxkBAAIEpmFake2")
