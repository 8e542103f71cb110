"""The e-mail connector on its own (pure): stored .eml files → the normalised events; display text
trimming; the reply e-mail it builds; the connector's registration and settings."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from typing import Any

import pytest

from omnia.channels.base import (
    Attachment,
    BadPayload,
    InboundIgnored,
    InboundMessage,
    InboundStatus,
    OutboundMessage,
)
from omnia.channels.email import parsing, smtp
from omnia.channels.email.account import Mailbox, MailboxSettingsInvalid, mailbox_from
from omnia.channels.email.connector import EmailConnector
from omnia.channels.email.imap import imap_utf7
from omnia.channels.email.text import html_to_text, trim_reply
from omnia.channels.registry import connector_for
from tests.channels.email.conftest import eml

MAILBOX = "shop@demo.test"
RECEIVED = dt.datetime(2025, 1, 20, 9, 0, tzinfo=dt.UTC)
OURS = "<170000.42.1@demo.test>"


def parse(name: str, **values: str) -> parsing.ParsedMail:
    return parsing.parse_mail(eml(name, **values), mailbox=MAILBOX, received_at=RECEIVED)


def message(name: str, **values: str) -> InboundMessage:
    event = parse(name, **values).event
    assert isinstance(event, InboundMessage)
    return event


# --- registry, capabilities, webhooks ---------------------------------------------------------------


def test_the_registry_knows_the_email_connector() -> None:
    found = connector_for("email")

    assert isinstance(found, EmailConnector)
    assert found.capabilities.threaded
    assert found.capabilities.reply_window is None
    assert 0 < found.capabilities.messages_per_second <= 5
    assert found.handshake(credentials={}, query={"hub.challenge": "x"}) is None


def test_a_webhook_body_is_refused_as_not_an_email_transport() -> None:
    with pytest.raises(BadPayload, match="IMAP"):
        EmailConnector().parse(body=b"{}", config={})


# --- what a letter becomes ----------------------------------------------------------------------------


def test_a_plain_letter() -> None:
    parsed = parse("plain")
    got = parsed.event

    assert got == InboundMessage(
        event_id="<CAF-plain-0001@mail.example.kz>",
        external_message_id="<CAF-plain-0001@mail.example.kz>",
        external_chat_id="Aigerim.S@Example.KZ",
        sender_kind="email",
        sender_id="Aigerim.S@Example.KZ",
        sent_at=dt.datetime(2025, 1, 14, 5, 15, tzinfo=dt.UTC),
        text="Здравствуйте! Гирлянда «Нить» 10 м есть в наличии?\nХочу забрать сегодня в Алматы.",
        sender_display_name="Айгерим Сапарова",
        subject="Гирлянда в наличии?",
        raw=got.raw,
    )
    assert got.raw["headers"]["Message-ID"] == "<CAF-plain-0001@mail.example.kz>"
    assert parsed.files == ()


@pytest.mark.parametrize(
    ("name", "sender", "subject", "text"),
    [
        (
            "windows1251",
            ("erlan@mail.example.ru", "Ерлан"),
            "Доставка в Шымкент",
            "Добрый день! Подскажите, есть ли доставка в Шымкент?\nСпасибо.",
        ),
        (
            "koi8r",
            ("petr@example.ru", "Пётр Иванов"),
            "Возврат товара",
            "Здравствуйте. Хочу вернуть товар, он пришёл повреждённым.",
        ),
    ],
)
def test_russian_charsets_are_decoded(name: str, sender: tuple[str, str], subject: str, text: str) -> None:
    got = message(name)

    assert (got.sender_id, got.sender_display_name) == sender
    assert got.subject == subject
    assert got.text == text


def test_a_body_in_an_undeclared_charset_is_still_read() -> None:
    raw = (
        b"From: a@example.kz\r\nSubject: x\r\nMessage-ID: <u@example.kz>\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + "Привет, заказ готов?".encode("cp1251")
    )

    got = parsing.parse_mail(raw, mailbox=MAILBOX, received_at=RECEIVED).event

    assert isinstance(got, InboundMessage)
    assert got.text == "Привет, заказ готов?"


def test_an_html_only_letter_becomes_readable_text_and_keeps_its_html() -> None:
    got = message("html_only")

    assert got.text == (
        "Hello,\n\nplease deliver order 4961490 to\nAbay avenue 10, Almaty.\n\n- ring twice\n- after 6 pm\n\n"
        "The map: here (https://maps.example.com/?q=abay+10) & thanks!"
    )
    assert "<b>4961490</b>" in got.raw["html"]
    assert "alert" not in got.text
    assert "color" not in got.text


def test_attachments_are_kept_with_name_type_and_size() -> None:
    parsed = parse("attachment")
    got = parsed.event

    assert isinstance(got, InboundMessage)
    assert got.text == "Коробка пришла мятой, фото и чек во вложении."
    assert got.attachments == (
        Attachment(kind="document", mime_type="application/pdf", file_name="receipt-4961490.pdf", size=77),
        Attachment(kind="image", mime_type="image/jpeg", file_name="фото.jpg", size=22),
    )
    assert parsed.files[0].startswith(b"%PDF-1.4")
    assert parsed.files[1].startswith(b"\xff\xd8")
    stored = parsed.with_refs(["email/aa/1", "email/bb/2"])
    assert isinstance(stored, InboundMessage)
    assert [a.provider_ref for a in stored.attachments] == ["email/aa/1", "email/bb/2"]
    assert [a["provider_ref"] for a in stored.raw["attachments"]] == ["email/aa/1", "email/bb/2"]


@pytest.mark.parametrize(
    ("name", "shown", "references"),
    [
        (
            "reply_quoted",
            "Отлично, тогда заберу сегодня после шести. Оплата картой на месте возможна?",
            ("<CAF-plain-0001@mail.example.kz>", "<shop-answer-0001@demo.test>"),
        ),
        (
            "reply_outlook",
            "Тогда оформляю заказ на доставку.",
            ("<cp1251-0003@mail.example.ru>", "<shop-answer-0003@demo.test>"),
        ),
        ("reply_ru_wrote", "Хорошо, привезу в пятницу.", ("<shop-answer-0004@demo.test>",)),
    ],
)
def test_a_reply_shows_only_its_new_text_and_keeps_the_whole_body(
    name: str, shown: str, references: tuple[str, ...]
) -> None:
    got = message(name)

    assert got.text == shown
    assert got.references == references
    assert got.reply_to_external_id == references[-1]
    assert got.raw["text"].startswith(shown.split()[0])
    assert len(got.raw["text"]) > len(shown) + 40  # the quoted history is still there


def test_an_auto_reply_is_marked_automatic() -> None:
    got = message("auto_reply", answered_id=OURS)

    assert got.automatic
    assert got.references == ("<CAF-plain-0001@mail.example.kz>", OURS)


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: auto-generated",
        "X-Autoreply: yes",
        "X-Autorespond: Out of office",
        "Precedence: bulk",
        "Precedence: auto_reply",
        "List-Id: <news.example.kz>",
        "Subject: Out of Office: your order",
        "Subject: Automatic reply: Заказ",
        "Subject: Автоответ: Заказ",
        "Subject: [Автоматический ответ] Заказ",
    ],
)
def test_auto_reply_signals(headers: str) -> None:
    subject = "" if headers.startswith("Subject") else "Subject: Заказ\r\n"
    raw = f"From: a@example.kz\r\n{subject}{headers}\r\nMessage-ID: <x@example.kz>\r\n\r\nТекст\r\n"

    got = parsing.parse_mail(raw.encode(), mailbox=MAILBOX, received_at=RECEIVED).event

    assert isinstance(got, InboundMessage)
    assert got.automatic


def test_a_letter_through_the_shops_own_group_address_is_not_automatic() -> None:
    raw = (
        b"From: a@example.kz\r\nTo: shop@demo.test\r\nSubject: Size?\r\nList-Id: <shop.demo.test>\r\n"
        b"Precedence: list\r\nMessage-ID: <g@example.kz>\r\n\r\nWhich size fits a 3 m tree?\r\n"
    )

    got = parsing.parse_mail(raw, mailbox=MAILBOX, received_at=RECEIVED).event

    assert isinstance(got, InboundMessage)
    assert not got.automatic


def test_a_person_writing_is_not_automatic() -> None:
    raw = b"From: a@example.kz\r\nSubject: Auto parts\r\nAuto-Submitted: no\r\nMessage-ID: <x@e.kz>\r\n\r\nHi\r\n"

    got = parsing.parse_mail(raw, mailbox=MAILBOX, received_at=RECEIVED).event

    assert isinstance(got, InboundMessage)
    assert not got.automatic


@pytest.mark.parametrize(
    ("name", "event_id", "reason"),
    [
        (
            "bounce_dsn",
            "<dsn-0010@mail.demo.test>",
            "Not delivered to nobody@example.kz: 550 5.1.1 <nobody@example.kz>: Recipient address rejected: "
            "User unknown",
        ),
        ("bounce_classic", "<qmail-0011@mx.example.kz>", "Not delivered: 552 5.2.2 mailbox full"),
    ],
)
def test_a_bounce_fails_the_message_we_sent(name: str, event_id: str, reason: str) -> None:
    got = parse(name, original_id=OURS).event

    assert isinstance(got, InboundStatus)
    assert (got.event_id, got.external_message_id, got.status, got.error) == (event_id, OURS, "failed", reason)


def test_a_bounce_without_the_original_message_id_is_kept_but_changes_nothing() -> None:
    raw = eml("bounce_dsn", original_id="(lost)")

    got = parsing.parse_mail(raw, mailbox=MAILBOX, received_at=RECEIVED).event

    assert isinstance(got, InboundIgnored)
    assert "cannot identify" in got.reason


def test_a_delay_notice_is_not_a_failure() -> None:
    raw = eml("bounce_dsn", original_id=OURS).replace(b"Action: failed", b"Action: delayed").replace(b"5.1.1", b"4.4.1")

    got = parsing.parse_mail(raw, mailbox=MAILBOX, received_at=RECEIVED).event

    assert isinstance(got, InboundIgnored)
    assert got.reason.startswith("delivery delayed")


def test_our_own_letter_is_ignored() -> None:
    raw = b"From: Omnia Shop <SHOP@demo.test>\r\nSubject: x\r\nMessage-ID: <o@demo.test>\r\n\r\nhi\r\n"

    got = parsing.parse_mail(raw, mailbox=MAILBOX, received_at=RECEIVED).event

    assert isinstance(got, InboundIgnored)


def test_a_letter_without_a_usable_sender_still_becomes_an_event() -> None:
    got = message("bad_sender")

    assert got.sender_id == ""
    assert got.sent_at == RECEIVED  # "Date: not a date"
    assert got.text == "Body without a usable sender."


def test_a_letter_without_message_id_is_keyed_by_its_bytes() -> None:
    raw = b"From: a@example.kz\r\nSubject: x\r\n\r\nhi\r\n"

    first = parsing.parse_mail(raw, mailbox=MAILBOX, received_at=RECEIVED).event
    again = parsing.parse_mail(raw, mailbox=MAILBOX, received_at=RECEIVED).event

    assert first.event_id.startswith("sha256:")
    assert first.event_id == again.event_id


def test_reply_to_is_where_answers_go() -> None:
    raw = b"From: form@site.kz\r\nReply-To: Dana <dana@example.kz>\r\nMessage-ID: <f@site.kz>\r\n\r\nCall me\r\n"

    got = parsing.parse_mail(raw, mailbox=MAILBOX, received_at=RECEIVED).event

    assert isinstance(got, InboundMessage)
    assert (got.sender_id, got.external_chat_id) == ("form@site.kz", "dana@example.kz")


def test_an_empty_letter_shows_its_subject() -> None:
    raw = b"From: a@example.kz\r\nSubject: Please call me back\r\nMessage-ID: <e@example.kz>\r\n\r\n"

    got = parsing.parse_mail(raw, mailbox=MAILBOX, received_at=RECEIVED).event

    assert isinstance(got, InboundMessage)
    assert got.text == "Please call me back"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"From: a@example.kz\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nbroken",
        b"From: =?utf-8?B?broken?= <a@example.kz>\r\nSubject: =?koi8-r?Q?=FF=?=\r\nDate: 99 Foo 9999\r\n\r\nhi",
        b"Content-Type: text/plain; charset=no-such-charset\r\nFrom: a@example.kz\r\n\r\n\xd0\xbf\xd1\x80",
    ],
)
def test_malformed_mail_never_raises(raw: bytes) -> None:
    parsed = parsing.parse_mail(raw, mailbox=MAILBOX, received_at=RECEIVED)

    assert parsed.event.event_id


def test_a_message_too_large_to_fetch_keeps_its_headers_and_says_why() -> None:
    headers = eml("attachment").split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"

    got = parsing.parse_headers_only(headers, size=31_400_000, mailbox=MAILBOX, received_at=RECEIVED).event

    assert isinstance(got, InboundMessage)
    assert got.subject == "Broken box - photo and receipt"
    assert "31.4 MB" in got.unsupported


# --- display text -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Да, подходит.\n\n-- \nДана\n+7 701 000 00 00", "Да, подходит."),
        ("Yes please.\n\nSent from my iPhone", "Yes please."),
        ("Спасибо!\n\nОтправлено из мобильной Почты Mail.ru", "Спасибо!"),
        ("Ок\n\n-----Original Message-----\nFrom: shop\nSent: today\n\nold", "Ок"),
        ("Ок\n\n-----Исходное сообщение-----\nОт: shop\n\nold", "Ок"),
        ("Хорошо\n\n14.01.2025, 10:15, Omnia Shop написал(а):\n> Ваш заказ готов", "Хорошо"),
        ("Жақсы\n\n2025 ж. 14 қаң., 10:15 Omnia Shop жазды:\n> Тапсырыс дайын", "Жақсы"),
        ("Fine\n\nOn Tue, 14 Jan 2025 at 10:15, Omnia Shop <shop@demo.test>\nwrote:\n> Ready", "Fine"),
        ("> Когда доставка?\n\nЗавтра после обеда подойдёт", "Завтра после обеда подойдёт"),
        ("> only a quote\n> nothing new", "> only a quote\n> nothing new"),
        ("Line one\n\n--\nLine after a bare dash pair", "Line one"),
        ("Цена -- 5000 тенге, а доставка?", "Цена -- 5000 тенге, а доставка?"),
    ],
)
def test_quoted_history_and_signatures_are_trimmed_for_display(text: str, shown: str) -> None:
    assert trim_reply(text) == shown


def test_a_bottom_posted_answer_is_kept() -> None:
    text = "On Mon, Omnia Shop wrote:\n> Which size?\n\nThe large one, please."

    assert trim_reply(text) == "The large one, please."


def test_html_blockquotes_are_quoted_text() -> None:
    html = "<p>Да</p><blockquote><p>Вопрос?</p><blockquote>старое</blockquote></blockquote><p>после</p>"

    assert html_to_text(html) == "Да\n\n> Вопрос?\n>\n> > старое\n\nпосле"


def test_broken_html_still_gives_its_text() -> None:
    assert html_to_text("<div><p>Привет <b>мир</div><p>ещё <<>>") == "Привет мир\n\nещё <<>>"


# --- the reply e-mail ------------------------------------------------------------------------------------

BOX = Mailbox(
    address="shop@demo.test",
    username="shop@demo.test",
    password="secret",
    imap_host="127.0.0.1",
    imap_port=143,
    imap_tls="none",
    smtp_host="127.0.0.1",
    smtp_port=25,
    smtp_tls="none",
    from_name="Omnia Shop",
)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Заказ 4961490", "Re: Заказ 4961490"),
        ("Re: Заказ 4961490", "Re: Заказ 4961490"),
        ("Re: Re: RE: Заказ", "Re: Заказ"),
        ("Ответ: Заказ", "Re: Заказ"),
        ("AW: Bestellung", "Re: Bestellung"),
        ("Re[2]: Заказ", "Re: Заказ"),
        ("Fwd: Заказ", "Re: Fwd: Заказ"),
        ("", "Re: (no subject)"),
    ],
)
def test_a_reply_subject_has_one_re_prefix(subject: str, expected: str) -> None:
    assert smtp.reply_subject(subject, answering=True) == expected


def test_the_reply_e_mail_threads_under_the_customers_letter() -> None:
    chain = tuple(f"<id{i}@example.kz>" for i in range(15))
    outbound = OutboundMessage(
        to="Aigerim.S@Example.KZ",
        text="Да, гирлянда есть. Ждём вас!",
        subject="Re: Гирлянда в наличии?",
        references=chain,
        reply_to_external_id=chain[-1],
    )

    built = smtp.build_message(BOX, outbound)
    parsed: Any = email.message_from_bytes(built.as_bytes(), policy=email.policy.default)

    assert str(parsed["From"]) == "Omnia Shop <shop@demo.test>"
    assert str(parsed["To"]) == "Aigerim.S@Example.KZ"
    assert str(parsed["Subject"]) == "Re: Гирлянда в наличии?"
    assert str(parsed["In-Reply-To"]) == "<id14@example.kz>"
    assert parsing.message_ids(str(parsed["References"])) == [chain[0], *chain[-10:]]
    assert str(parsed["Message-ID"]).endswith("@demo.test>")
    assert parsed["Date"].datetime.tzinfo is not None
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().strip() == "Да, гирлянда есть. Ждём вас!"


def test_a_letter_that_answers_nothing_has_no_threading_headers() -> None:
    built = smtp.build_message(BOX, OutboundMessage(to="a@example.kz", text="Здравствуйте", subject="Ваш заказ"))

    assert (built["Subject"], built["In-Reply-To"], built["References"]) == ("Ваш заказ", None, None)
    untitled = smtp.build_message(BOX, OutboundMessage(to="a@example.kz", text="Здравствуйте"))
    assert untitled["Subject"] == "Message from Omnia Shop"


@pytest.mark.parametrize(
    ("to", "text", "error"),
    [
        ("not-an-address", "hi", "not an e-mail address"),
        ("a@example.kz", "   ", "empty"),
    ],
)
def test_what_cannot_be_sent_fails_before_connecting(to: str, text: str, error: str) -> None:
    result = smtp.send(BOX, OutboundMessage(to=to, text=text))

    assert not result.ok
    assert error in result.error
    assert not result.transient


# --- settings ------------------------------------------------------------------------------------------------


def test_settings_have_safe_defaults() -> None:
    box = mailbox_from(
        {"username": "shop@demo.test", "password": "p"},
        {"address": "shop@demo.test", "imap_host": "imap.demo.test", "smtp_host": "smtp.demo.test"},
    )

    assert (box.imap_port, box.imap_tls, box.smtp_port, box.smtp_tls) == (143, "starttls", 587, "starttls")
    assert (box.folder, box.history_days, box.domain) == ("INBOX", 7, "demo.test")
    implicit = mailbox_from(
        {"username": "u"},
        {"address": "a@b.kz", "imap_host": "h", "smtp_host": "h", "imap_port": "993", "smtp_port": 465},
    )
    assert (implicit.imap_tls, implicit.smtp_tls) == ("ssl", "ssl")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"imap_host": ""}, "imap_host"),
        ({"address": "shop"}, "not an e-mail address"),
        ({"imap_tls": "tls1.3"}, "imap_tls"),
        ({"smtp_port": "smtp"}, "smtp_port"),
        ({"history_days": 9999}, "history_days"),
    ],
)
def test_bad_settings_say_what_is_wrong(config: dict[str, Any], message: str) -> None:
    base = {"address": "shop@demo.test", "imap_host": "h", "smtp_host": "h"}

    with pytest.raises(MailboxSettingsInvalid, match=message):
        mailbox_from({"username": "u", "password": "p"}, {**base, **config})


def test_folder_names_are_sent_in_imap_utf7() -> None:
    assert imap_utf7("INBOX") == "INBOX"
    assert imap_utf7("Входящие") == "&BBIERQQ+BDQETwRJBDgENQ-"
    assert imap_utf7("R&D") == "R&-D"
