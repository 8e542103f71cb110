"""Replies from the inbox over a real SMTP server (aiosmtpd), threaded so the customer's answer comes
back to the same conversation; auto-replies and bounces; what the server refuses, and retries."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.message import EmailMessage
from typing import Any

import pytest
import time_machine
from django.core.cache import cache

from omnia.channels import delivery
from omnia.channels.email import imap, parsing
from omnia.channels.models import Channel, InboundEvent
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation, Message
from omnia.core import clock
from tests.channels.email.conftest import Mailbox, Smtp, eml
from tests.channels.email.servers import SmtpController, SmtpHandler, free_port, start_smtp

pytestmark = pytest.mark.django_db


def poll(mailbox: Mailbox) -> imap.PollResult:
    return imap.poll_mailbox(Channel.objects.get(pk=mailbox.channel.pk))


def customer_writes(mailbox: Mailbox, name: str = "plain") -> Conversation:
    mailbox.deliver(eml(name))
    assert poll(mailbox).stored == 1
    return Message.objects.filter(direction=Message.Direction.IN).latest("id").conversation


def reply(conversation: Conversation, text: str) -> Message:
    """An operator answers in the console (the same action the console and the API call)."""
    return conversations_actions.check_send_message(actor=None, conversation=conversation, text=text)


def deliver(message: Message) -> dt.datetime | None:
    """The delivery task's work for one message, without the per-channel send spacing of the
    previous test step (delivery.py keeps the last send time in the cache)."""
    cache.clear()
    return delivery.deliver(message.pk)


def sent(smtp: Smtp, index: int = -1) -> Any:
    return email.message_from_bytes(smtp.messages[index].data, policy=email.policy.default)


def answer_to(mailbox: Mailbox, ours: Any, text: str, message_id: str) -> bytes:
    """The customer's client answering our e-mail the way mail clients do."""
    mail = EmailMessage()
    mail["From"] = "Айгерим Сапарова <Aigerim.S@Example.KZ>"
    mail["To"] = str(ours["From"])
    mail["Subject"] = f"Re: {ours['Subject']}"
    mail["Message-ID"] = message_id
    mail["In-Reply-To"] = str(ours["Message-ID"])
    mail["References"] = f"{ours['References']} {ours['Message-ID']}"
    mail["Date"] = "Tue, 14 Jan 2025 12:00:00 +0500"
    mail.set_content(
        f"{text}\n\nOn Tue, 14 Jan 2025 at 11:02, Omnia Shop <{mailbox.address}> wrote:\n> {ours.get_content()}"
    )
    return mail.as_bytes()


# --- a reply, and the answer to it ---------------------------------------------------------------


def test_a_reply_reaches_the_customer_threaded_under_their_letter(mailbox: Mailbox, smtp: Smtp) -> None:
    conversation = customer_writes(mailbox)
    message = reply(conversation, "Да, гирлянда есть. Ждём вас в магазине на Абая!")

    assert deliver(message) is None

    [received] = smtp.messages
    assert (received.mail_from, received.rcpt_tos, received.login) == (
        mailbox.address,
        ["Aigerim.S@Example.KZ"],
        mailbox.address,
    )
    ours = sent(smtp)
    assert str(ours["From"]) == f"Omnia Shop <{mailbox.address}>"
    assert str(ours["To"]) == "Aigerim.S@Example.KZ"
    assert str(ours["Subject"]) == "Re: Гирлянда в наличии?"
    assert str(ours["In-Reply-To"]) == "<CAF-plain-0001@mail.example.kz>"
    assert str(ours["References"]) == "<CAF-plain-0001@mail.example.kz>"
    assert str(ours["Message-ID"]).endswith("@demo.test>")
    assert ours.get_content().strip() == "Да, гирлянда есть. Ждём вас в магазине на Абая!"
    message.refresh_from_db()
    assert (message.status, message.provider_message_id, message.error) == ("sent", str(ours["Message-ID"]), "")
    assert message.meta["subject"] == "Гирлянда в наличии?"


def test_the_customers_answer_to_our_reply_joins_the_same_conversation(mailbox: Mailbox, smtp: Smtp) -> None:
    conversation = customer_writes(mailbox)
    deliver(reply(conversation, "Да, есть."))
    ours = sent(smtp)

    mailbox.deliver(answer_to(mailbox, ours, "Отлично, заберу сегодня.", "<CAF-answer-2@mail.example.kz>"))
    poll(mailbox)

    answer = Message.objects.get(provider_message_id="<CAF-answer-2@mail.example.kz>")
    assert answer.conversation_id == conversation.pk
    assert answer.text == "Отлично, заберу сегодня."
    assert Conversation.objects.count() == 1

    # Our second reply continues the thread: one "Re:", the whole chain in References.
    deliver(reply(conversation, "Ждём!"))
    second = sent(smtp)
    assert str(second["Subject"]) == "Re: Гирлянда в наличии?"
    assert str(second["In-Reply-To"]) == "<CAF-answer-2@mail.example.kz>"
    assert parsing.message_ids(str(second["References"])) == [
        "<CAF-plain-0001@mail.example.kz>",
        str(ours["Message-ID"]),
        "<CAF-answer-2@mail.example.kz>",
    ]


def test_a_new_letter_from_the_same_customer_starts_a_new_conversation(mailbox: Mailbox, smtp: Smtp) -> None:
    conversation = customer_writes(mailbox)
    deliver(reply(conversation, "Да, есть."))

    other = customer_writes(mailbox, "attachment")

    assert other.pk != conversation.pk
    assert other.customer_id == conversation.customer_id


# --- auto-replies and bounces -----------------------------------------------------------------------


def test_an_auto_reply_joins_the_thread_without_reopening_or_counting_unread(mailbox: Mailbox, smtp: Smtp) -> None:
    conversation = customer_writes(mailbox)
    message = reply(conversation, "Ваш заказ готов.")
    deliver(message)
    message.refresh_from_db()
    conversations_actions.check_set_status(actor=None, conversation=conversation, status="resolved")

    mailbox.deliver(eml("auto_reply", answered_id=message.provider_message_id))
    poll(mailbox)

    auto = Message.objects.get(provider_message_id="<auto-0009@mail.example.kz>")
    assert auto.conversation_id == conversation.pk
    assert auto.meta["automatic"] is True
    conversation.refresh_from_db()
    assert (conversation.status, conversation.unread_count) == ("resolved", 0)


def test_an_auto_reply_to_nothing_we_know_opens_nothing_but_is_kept(mailbox: Mailbox) -> None:
    mailbox.deliver(eml("auto_reply", answered_id="<unknown@demo.test>"))

    result = poll(mailbox)

    assert result.stored == 1
    assert not Conversation.objects.exists()
    event = InboundEvent.objects.get()
    assert (event.status, event.error) == ("processed", "an automatic reply outside any conversation")


@pytest.mark.parametrize(
    ("bounce", "reason"),
    [
        ("bounce_dsn", "nobody@example.kz: 550 5.1.1 <nobody@example.kz>: Recipient address rejected: User unknown"),
        ("bounce_classic", "552 5.2.2 mailbox full"),
    ],
)
def test_a_bounce_marks_our_message_failed_with_the_reason(
    mailbox: Mailbox, smtp: Smtp, bounce: str, reason: str
) -> None:
    conversation = customer_writes(mailbox)
    message = reply(conversation, "Ваш заказ отправлен.")
    deliver(message)
    message.refresh_from_db()
    assert message.status == "sent"

    mailbox.deliver(eml(bounce, original_id=message.provider_message_id))
    poll(mailbox)

    message.refresh_from_db()
    assert message.status == "failed"
    assert reason in message.error
    assert Message.objects.filter(direction=Message.Direction.IN).count() == 1  # the bounce is no customer message


# --- what the server refuses --------------------------------------------------------------------------


def test_a_refused_recipient_fails_the_reply_with_the_servers_words(mailbox: Mailbox, smtp: Smtp) -> None:
    conversation = customer_writes(mailbox)
    smtp.handler.refuse["Aigerim.S@Example.KZ"] = "550 5.1.1 <Aigerim.S@Example.KZ>: Recipient address rejected"
    message = reply(conversation, "Здравствуйте")

    assert deliver(message) is None

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 1)
    assert "550 5.1.1 <Aigerim.S@Example.KZ>: Recipient address rejected" in message.error
    assert smtp.messages == []


def test_a_wrong_smtp_password_fails_the_reply(mailbox: Mailbox, smtp: Smtp) -> None:
    conversation = customer_writes(mailbox)
    smtp.handler.accounts[mailbox.address] = "rotated-password"
    message = reply(conversation, "Здравствуйте")

    deliver(message)

    message.refresh_from_db()
    assert message.status == "failed"
    assert "535" in message.error


def test_a_temporary_refusal_is_retried_and_then_sent(mailbox: Mailbox, smtp: Smtp) -> None:
    conversation = customer_writes(mailbox)
    smtp.handler.refuse["Aigerim.S@Example.KZ"] = "451 4.3.0 Temporary lookup failure, try again later"
    message = reply(conversation, "Здравствуйте")

    retry_at = deliver(message)

    message.refresh_from_db()
    assert retry_at is not None
    assert (message.status, message.attempts) == ("queued", 1)
    assert "451 4.3.0" in message.error
    smtp.handler.refuse.clear()
    with time_machine.travel(retry_at + dt.timedelta(seconds=1)):
        assert deliver(message) is None
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == ("sent", 2, "")
    assert len(smtp.messages) == 1


def test_an_unreachable_server_is_retried_and_the_reply_goes_out_once_it_is_back(mailbox: Mailbox) -> None:
    conversation = customer_writes(mailbox)
    port = free_port()  # nothing listens here yet
    mailbox.channel.config = {**mailbox.channel.config, "smtp_port": port}
    mailbox.channel.save()
    message = reply(conversation, "Здравствуйте")

    retry_at = deliver(message)

    message.refresh_from_db()
    assert retry_at is not None
    assert retry_at > clock.now()
    assert message.status == "queued"
    assert "Cannot reach the mail server" in message.error
    handler = SmtpHandler(accounts={mailbox.address: "secret"})
    controller: SmtpController = start_smtp(handler, port=port)
    try:
        with time_machine.travel(retry_at + dt.timedelta(seconds=1)):
            assert deliver(message) is None
    finally:
        controller.stop()
    message.refresh_from_db()
    assert message.status == "sent"
    assert len(handler.messages) == 1
