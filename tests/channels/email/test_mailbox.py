"""Mail in a real IMAP mailbox (Dovecot) → customers, conversations, messages; each exactly once,
across polls, restarts, lost bookkeeping and a renumbered folder; failures shown on the channel."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from omnia.channels.email import files, imap
from omnia.channels.models import Channel, InboundEvent, MailboxState
from omnia.channels.tasks import poll_mailboxes
from omnia.conversations.models import Conversation, Message
from omnia.core import schedule
from omnia.core.permissions import Role
from omnia.customers.models import Customer, Identity
from tests.channels.email.conftest import Mailbox, Smtp, connect_mailbox, eml
from tests.channels.email.servers import Dovecot, free_port
from tests.factories import make_token

pytestmark = pytest.mark.django_db


def poll(mailbox: Mailbox) -> imap.PollResult:
    """One poll, as a fresh process would run it: the channel read from the database again."""
    return imap.poll_mailbox(Channel.objects.get(pk=mailbox.channel.pk))


def state(mailbox: Mailbox) -> MailboxState:
    return MailboxState.objects.get(channel=mailbox.channel)


def inbound() -> list[Message]:
    return list(Message.objects.filter(direction=Message.Direction.IN).order_by("id"))


# --- a letter arrives ---------------------------------------------------------------------------------


def test_a_letter_becomes_a_customer_a_conversation_and_a_message(mailbox: Mailbox) -> None:
    mailbox.deliver(eml("plain"))

    result = poll(mailbox)

    assert (result.fetched, result.stored, result.duplicates, result.error) == (1, 1, 0, "")
    customer = Customer.objects.get()
    assert (customer.first_name, customer.last_name) == ("Айгерим", "Сапарова")
    identity = Identity.objects.get(customer=customer)
    assert (identity.kind, identity.value) == ("email", "aigerim.s@example.kz")
    conversation = Conversation.objects.get()
    assert (conversation.customer_id, conversation.status, conversation.unread_count) == (customer.pk, "open", 1)
    assert conversation.external_thread_id == "Aigerim.S@Example.KZ"  # replies go to the address as written
    [message] = inbound()
    assert message.text == "Здравствуйте! Гирлянда «Нить» 10 м есть в наличии?\nХочу забрать сегодня в Алматы."
    assert message.provider_message_id == "<CAF-plain-0001@mail.example.kz>"
    assert message.meta == {"subject": "Гирлянда в наличии?"}
    assert message.sent_at == dt.datetime(2025, 1, 14, 5, 15, tzinfo=dt.UTC)
    event = InboundEvent.objects.get()
    assert (event.event_id, event.status) == ("<CAF-plain-0001@mail.example.kz>", "processed")
    assert event.payload["imap"] == {"folder": "INBOX", "uidvalidity": state(mailbox).uidvalidity, "uid": 1}
    assert state(mailbox).last_error == ""


def test_the_reply_text_is_trimmed_and_the_whole_letter_kept(mailbox: Mailbox) -> None:
    mailbox.deliver(eml("reply_quoted"))

    poll(mailbox)

    [message] = inbound()
    assert message.text == "Отлично, тогда заберу сегодня после шести. Оплата картой на месте возможна?"
    full = InboundEvent.objects.get().payload["text"]
    assert "Айгерим Сапарова\n+7 701 123 45 67" in full
    assert "> Здравствуйте! Да, гирлянда есть в магазине на Абая." in full


@pytest.mark.parametrize(
    ("name", "text", "address"),
    [
        ("windows1251", "Добрый день! Подскажите, есть ли доставка в Шымкент?\nСпасибо.", "erlan@mail.example.ru"),
        ("koi8r", "Здравствуйте. Хочу вернуть товар, он пришёл повреждённым.", "petr@example.ru"),
        ("html_only", "Hello,\n\nplease deliver order 4961490 to\nAbay avenue 10, Almaty.", "dana@example.com"),
    ],
)
def test_charsets_and_html_arrive_readable(mailbox: Mailbox, name: str, text: str, address: str) -> None:
    mailbox.deliver(eml(name))

    poll(mailbox)

    [message] = inbound()
    assert message.text.startswith(text)
    assert Identity.objects.get().value == address


def test_attachments_are_kept_and_can_be_read_back(mailbox: Mailbox) -> None:
    mailbox.deliver(eml("attachment"))

    poll(mailbox)

    [message] = inbound()
    assert message.text == "Коробка пришла мятой, фото и чек во вложении."
    pdf, photo = message.attachments
    described = [(a["kind"], a["file_name"], a["mime_type"], a["size"]) for a in (pdf, photo)]
    assert described == [
        ("document", "receipt-4961490.pdf", "application/pdf", 77),
        ("image", "фото.jpg", "image/jpeg", 22),
    ]
    assert files.read(pdf["provider_ref"]).startswith(b"%PDF-1.4")
    assert files.read(photo["provider_ref"]) == bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def test_a_letter_nobody_can_answer_is_kept_as_a_failed_event_not_dropped(mailbox: Mailbox) -> None:
    mailbox.deliver(eml("bad_sender"))

    result = poll(mailbox)

    assert (result.fetched, result.stored, result.error) == (1, 1, "")
    event = InboundEvent.objects.get()
    assert event.status == "failed"
    assert event.error
    assert event.payload["text"] == "Body without a usable sender."
    assert not Conversation.objects.exists()


# --- exactly once ----------------------------------------------------------------------------------------


def test_nothing_is_fetched_twice_across_polls_and_restarts(mailbox: Mailbox, dovecot: Dovecot) -> None:
    mailbox.deliver(eml("plain"))
    mailbox.deliver(eml("html_only"))

    first = poll(mailbox)
    again = poll(mailbox)
    after_restart = poll(mailbox)  # a new process: nothing but the database remembers

    assert (first.fetched, first.stored) == (2, 2)
    assert (again.fetched, after_restart.fetched) == (0, 0)
    assert len(inbound()) == 2
    bookkeeping = state(mailbox)
    assert (bookkeeping.uidvalidity, bookkeeping.last_uid) == (dovecot.uidvalidity(mailbox.address), 2)
    assert bookkeeping.last_polled_at is not None

    mailbox.deliver(eml("windows1251"))
    later = poll(mailbox)

    assert (later.fetched, later.stored) == (1, 1)
    assert [m.provider_message_id for m in inbound()] == [
        "<CAF-plain-0001@mail.example.kz>",
        "<html-only-0002@example.com>",
        "<cp1251-0003@mail.example.ru>",
    ]


def test_the_same_letter_delivered_twice_is_stored_once(mailbox: Mailbox) -> None:
    mailbox.deliver(eml("plain"))
    mailbox.deliver(eml("plain_duplicate"))  # it came by To and by Cc

    result = poll(mailbox)

    assert (result.fetched, result.stored, result.duplicates) == (2, 1, 1)
    assert len(inbound()) == 1


def test_lost_bookkeeping_doubles_nothing(mailbox: Mailbox) -> None:
    mailbox.deliver(eml("plain"))
    mailbox.deliver(eml("koi8r"))
    poll(mailbox)
    MailboxState.objects.filter(channel=mailbox.channel).update(last_uid=0)  # e.g. an old backup restored

    result = poll(mailbox)

    assert (result.fetched, result.stored, result.duplicates) == (2, 0, 2)
    assert len(inbound()) == 2


def test_a_renumbered_folder_is_read_again_without_duplicates(dovecot: Dovecot, smtp: Smtp) -> None:
    box = connect_mailbox(dovecot, smtp, folder="Support")
    dovecot.create(box.address, "Support")
    box.deliver(eml("plain"), folder="Support")
    box.deliver(eml("html_only"), folder="Support")
    assert poll(box).stored == 2
    before = state(box).uidvalidity

    dovecot.recreate(box.address, "Support")  # the server renumbers: a new UIDVALIDITY
    box.deliver(eml("plain"), folder="Support")
    box.deliver(eml("html_only"), folder="Support")
    box.deliver(eml("koi8r"), folder="Support")
    result = poll(box)

    assert (result.fetched, result.stored, result.duplicates) == (3, 1, 2)
    assert state(box).uidvalidity == dovecot.uidvalidity(box.address, "Support") != before
    assert len(inbound()) == 3
    assert poll(box).fetched == 0


def test_only_recent_mail_is_taken_when_a_mailbox_is_first_connected(dovecot: Dovecot, smtp: Smtp) -> None:
    address = dovecot.new_mailbox()
    conn = dovecot.connect(address)
    try:
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
        assert conn.append("INBOX", None, old.timestamp(), eml("koi8r"))[0] == "OK"
    finally:
        conn.logout()
    box = connect_mailbox(dovecot, smtp, address=address)
    box.deliver(eml("plain"))

    result = poll(box)

    assert (result.fetched, result.stored) == (1, 1)
    assert [m.provider_message_id for m in inbound()] == ["<CAF-plain-0001@mail.example.kz>"]


# --- threads ---------------------------------------------------------------------------------------------


def test_a_new_letter_without_references_starts_a_new_conversation(mailbox: Mailbox) -> None:
    mailbox.deliver(eml("plain"))
    poll(mailbox)
    mailbox.deliver(eml("attachment"))  # the same customer, a new subject, no In-Reply-To

    poll(mailbox)

    first, second = inbound()
    assert first.conversation.customer_id == second.conversation.customer_id
    assert first.conversation_id != second.conversation_id


# --- failures are visible, and isolated ------------------------------------------------------------------


def test_bad_credentials_show_on_the_channel_and_other_mailboxes_go_on(
    dovecot: Dovecot, smtp: Smtp, client: Client
) -> None:
    wrong = connect_mailbox(dovecot, smtp, password="not-the-password")
    down = connect_mailbox(dovecot, smtp, imap_port=free_port())  # nothing listens there
    good = connect_mailbox(dovecot, smtp)
    demo = connect_mailbox(dovecot, smtp, demo=True)
    good.deliver(eml("plain"))
    demo.deliver(eml("koi8r"))

    totals = poll_mailboxes.call()

    assert totals == {"mailboxes": 3, "fetched": 1, "stored": 1, "failed": 2}
    assert [m.provider_message_id for m in inbound()] == ["<CAF-plain-0001@mail.example.kz>"]
    assert "refused the login" in state(wrong).last_error
    assert "AUTHENTICATIONFAILED" in state(wrong).last_error
    assert "Cannot connect to the IMAP server" in state(down).last_error
    assert state(good).last_error == ""
    assert not MailboxState.objects.filter(channel=demo.channel).exists()  # the demo's placeholder is left alone
    token = make_token(role=Role.MANAGER, scopes=["settings:read"])
    shown = client.get(f"/api/v1/channels/{wrong.channel.pk}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert "refused the login" in shown["last_error"]
    assert shown["last_polled_at"] is not None


def test_an_error_clears_once_the_mailbox_works_again(dovecot: Dovecot, smtp: Smtp) -> None:
    box = connect_mailbox(dovecot, smtp, password="old-password")
    assert poll(box).error
    box.channel.credentials = {"username": box.address, "password": "secret"}
    box.channel.save()

    result = poll(box)

    assert result.error == ""
    assert state(box).last_error == ""
    assert state(box).synced_at is not None


def test_a_missing_folder_is_reported(dovecot: Dovecot, smtp: Smtp) -> None:
    box = connect_mailbox(dovecot, smtp, folder="Нет такой папки")

    result = poll(box)

    assert "cannot open the folder Нет такой папки" in result.error
    assert "cannot open the folder" in state(box).last_error


def test_mailbox_settings_that_cannot_work_are_reported(mailbox: Mailbox) -> None:
    mailbox.channel.config = {**mailbox.channel.config, "imap_tls": "sometimes"}
    mailbox.channel.save()

    assert "imap_tls" in poll(mailbox).error


def test_a_poll_in_progress_is_not_run_twice(mailbox: Mailbox) -> None:
    mailbox.deliver(eml("plain"))
    poll(mailbox)
    MailboxState.objects.filter(channel=mailbox.channel).update(busy_until=dt.datetime.now(dt.UTC) + imap.LEASE)

    assert poll(mailbox).busy


def test_the_poller_runs_every_30_seconds() -> None:
    job: Any = schedule.PERIODIC[poll_mailboxes.module_path]

    assert job.interval == dt.timedelta(seconds=30)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_webhook_to_a_mailbox_is_a_clear_404(mailbox: Mailbox, client: Client, method: str) -> None:
    response = getattr(client, method)(f"/hooks/email/{mailbox.channel.key}", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "WEBHOOK_NOT_SUPPORTED"
    assert not InboundEvent.objects.exists()
