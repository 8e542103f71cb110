"""Telegram end to end: webhook → customer, conversation, message; reply → outbox → fake Bot API."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from omnia.channels.delivery import deliver
from omnia.channels.models import Channel, InboundEvent
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation, Message
from omnia.core import clock
from omnia.customers import actions as customers_actions
from omnia.customers.models import Customer, Identity, TimelineEntry
from tests.channels.telegram.fake_telegram import TOKEN, FakeTelegram, fake_telegram  # noqa: F401

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "s3cret"
KEY = "kz-shop-bot"
CHAT_ID = 512398765


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


@pytest.fixture(autouse=True)
def _fresh_rate_slots() -> Iterator[None]:
    cache.clear()  # delivery spaces sends per channel id through the cache; ids repeat between tests
    yield
    cache.clear()


def make_channel(key: str = KEY) -> Channel:
    channel = Channel(provider="telegram", name="KZ Shop bot", key=key, created_at=clock.now())
    channel.credentials = {"bot_token": TOKEN, "secret_token": SECRET}
    channel.save()
    return channel


def post(client: Client, raw: bytes, *, secret: str | None = SECRET, key: str = KEY) -> Any:
    headers: dict[str, Any] = {} if secret is None else {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret}
    return client.post(f"/hooks/telegram/{key}", data=raw, content_type="application/json", **headers)


def nothing_stored() -> bool:
    return not (
        InboundEvent.objects.exists()
        or Message.objects.exists()
        or Customer.objects.exists()
        or Conversation.objects.exists()
    )


# --- inbound ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_text_message_makes_a_customer_a_conversation_a_message_and_a_timeline_entry(client: Client) -> None:
    channel = make_channel()

    response = post(client, body("text"))

    assert response.status_code == 200
    assert response.json() == {"ok": True, "stored": 1, "duplicates": 0}
    customer = Customer.objects.get()
    assert (customer.first_name, customer.last_name) == ("Айгерим", "Сапарова")
    identity = customer.identities.get()
    assert (identity.kind, identity.value, identity.display_name) == ("telegram", str(CHAT_ID), "Айгерим Сапарова")
    conversation = Conversation.objects.get()
    assert (conversation.customer, conversation.channel) == (customer, channel)
    assert conversation.external_thread_id == str(CHAT_ID)
    assert conversation.unread_count == 1
    message = Message.objects.get()
    assert message.conversation == conversation
    assert (message.direction, message.kind, message.status) == ("in", "text", "received")
    assert message.text == "Когда привезут? /status"
    assert message.provider_message_id == f"{CHAT_ID}:1187"
    assert message.sent_at == dt.datetime(2025, 1, 14, 5, 15, 42, tzinfo=dt.UTC)
    entry = TimelineEntry.objects.get(customer=customer)
    assert (entry.kind, entry.channel, entry.summary) == ("message", "telegram", "Когда привезут? /status")
    event = InboundEvent.objects.get()
    assert (event.channel, event.event_id, event.status) == (channel, "584310027", "processed")
    assert event.payload == json.loads(body("text"))


@pytest.mark.django_db
def test_the_same_update_delivered_twice_is_stored_once(client: Client) -> None:
    make_channel()
    assert post(client, body("text")).status_code == 200

    again = post(client, body("text"))

    assert again.status_code == 200
    assert again.json() == {"ok": True, "stored": 0, "duplicates": 1}
    assert Message.objects.count() == 1
    assert InboundEvent.objects.count() == 1
    assert Customer.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1


@pytest.mark.django_db
@pytest.mark.parametrize("secret", [None, "", "wrong", "s3cret2", "S3CRET"])
def test_a_wrong_or_missing_secret_is_403_and_stores_nothing(client: Client, secret: str | None) -> None:
    make_channel()

    response = post(client, body("text"), secret=secret)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "SIGNATURE_INVALID"
    assert nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'{"message": {"text": "hi"}}'])
def test_a_malformed_body_is_400_and_stores_nothing(client: Client, raw: bytes) -> None:
    make_channel()

    response = post(client, raw)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "PAYLOAD_INVALID"
    assert nothing_stored()


@pytest.mark.django_db
def test_an_unknown_or_inactive_channel_key_is_404(client: Client) -> None:
    channel = make_channel()
    assert post(client, body("text"), key="no-such-bot").status_code == 404
    assert client.post(f"/hooks/whatsapp/{KEY}", data=body("text"), content_type="application/json").status_code == 404
    channel.is_active = False
    channel.save(update_fields=["is_active"])
    assert post(client, body("text")).status_code == 404
    assert nothing_stored()


@pytest.mark.django_db
def test_sharing_ones_own_contact_gives_the_card_a_phone(client: Client) -> None:
    make_channel()
    post(client, body("text"))

    response = post(client, body("contact_own"))

    assert response.status_code == 200
    customer = Customer.objects.get()
    assert sorted(customer.identities.values_list("kind", "value")) == [
        ("phone", "+77011234567"),
        ("telegram", str(CHAT_ID)),
    ]
    assert Message.objects.count() == 2
    assert Message.objects.order_by("id")[1].attachments[0]["kind"] == "contact"


@pytest.mark.django_db
def test_a_contact_share_with_a_known_phone_links_the_telegram_user_to_that_card(client: Client) -> None:
    make_channel()
    known = customers_actions.do_resolve_identity(
        kind="phone", value="+77017654321", channel="kaspi", display_name="Ерлан Абенов"
    ).customer

    response = post(client, body("contact_own_no_plus"))  # "77017654321", no '+'

    assert response.status_code == 200
    assert Customer.objects.count() == 1
    telegram = Identity.objects.get(kind="telegram")
    assert (telegram.value, telegram.customer) == ("633001122", known)
    assert Conversation.objects.get().customer == known


@pytest.mark.django_db
def test_an_unsupported_message_is_stored_and_shown_as_unsupported(client: Client) -> None:
    make_channel()

    response = post(client, body("poll"))

    assert response.status_code == 200
    message = Message.objects.get()
    assert message.kind == Message.Kind.UNSUPPORTED
    assert message.text == "Unsupported Telegram message: poll"
    assert message.conversation.customer.identities.get().value == str(CHAT_ID)
    assert InboundEvent.objects.get().status == InboundEvent.Status.UNSUPPORTED


@pytest.mark.django_db
def test_a_photo_keeps_its_caption_and_file_reference(client: Client) -> None:
    make_channel()

    post(client, body("photo"))

    message = Message.objects.get()
    assert message.text == "Вот повреждённая коробка"
    assert message.attachments == [
        {
            "kind": "image",
            "provider_ref": "AgACAgIAAxkBAAIEpmFake2",
            "mime_type": "image/jpeg",
            "file_name": "",
            "size": 118204,
            "url": "",
        }
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "reason"),
    [("edited", "edit"), ("my_chat_member_kicked", "bot blocked"), ("group", "supergroup chat")],
)
def test_ignored_updates_are_logged_but_make_no_message(client: Client, name: str, reason: str) -> None:
    make_channel()

    response = post(client, body(name))

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.status, event.error) == (InboundEvent.Status.PROCESSED, reason)
    assert not Message.objects.exists()
    assert not Customer.objects.exists()


# --- the reply path --------------------------------------------------------------------------


def receive_and_reply(client: Client, capture: Callable[..., Any], text: str = "Здравствуйте!") -> Message:
    make_channel()
    assert post(client, body("text")).status_code == 200
    conversation = Conversation.objects.get()
    with capture(execute=True):
        return conversations_actions.check_send_message(actor=None, conversation=conversation, text=text)


@pytest.mark.django_db
def test_a_reply_is_enqueued_then_sent_to_the_chat(
    client: Client,
    fake_telegram: FakeTelegram,  # noqa: F811
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    reply = receive_and_reply(client, django_capture_on_commit_callbacks)

    assert reply.status == Message.Status.QUEUED
    assert reply.reply_to == str(CHAT_ID)
    task = DBTaskResult.objects.get()
    assert task.task_path == "omnia.channels.tasks.deliver_message"
    assert task.args_kwargs["args"] == [reply.pk]

    assert deliver(reply.pk) is None

    assert fake_telegram.sent() == [{"chat_id": CHAT_ID, "text": "Здравствуйте!"}]
    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT
    assert reply.provider_message_id == f"{CHAT_ID}:1001"
    assert (reply.attempts, reply.error, reply.next_attempt_at) == (1, "", None)


@pytest.mark.django_db
def test_a_message_already_sent_is_never_sent_twice(
    client: Client,
    fake_telegram: FakeTelegram,  # noqa: F811
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    reply = receive_and_reply(client, django_capture_on_commit_callbacks)
    deliver(reply.pk)

    assert deliver(reply.pk) is None
    assert deliver(reply.pk) is None

    assert len(fake_telegram.attempts()) == 1
    reply.refresh_from_db()
    assert (reply.status, reply.attempts) == (Message.Status.SENT, 1)


@pytest.mark.django_db
def test_a_429_is_retried_after_the_providers_retry_after(
    client: Client,
    fake_telegram: FakeTelegram,  # noqa: F811
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    start = dt.datetime(2025, 1, 14, 6, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        reply = receive_and_reply(client, django_capture_on_commit_callbacks)
        fake_telegram.fail_next(429, "Too Many Requests: retry after 7", retry_after=7)

        retry_at = deliver(reply.pk)

        assert retry_at == start + dt.timedelta(seconds=7)
        reply.refresh_from_db()
        assert reply.status == Message.Status.QUEUED
        assert reply.next_attempt_at == retry_at
        assert reply.next_attempt_at > clock.now()
        assert (reply.attempts, reply.error) == (1, "Too Many Requests: retry after 7")
        assert fake_telegram.sent() == []

        traveller.shift(dt.timedelta(seconds=3))
        deliver(reply.pk)  # not due yet: nothing is sent
        assert len(fake_telegram.attempts()) == 1

        traveller.shift(dt.timedelta(seconds=5))
        assert deliver(reply.pk) is None

    assert fake_telegram.sent() == [{"chat_id": CHAT_ID, "text": "Здравствуйте!"}]
    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT
    assert reply.provider_message_id == f"{CHAT_ID}:1001"
    assert (reply.attempts, reply.error) == (2, "")


@pytest.mark.django_db
def test_chat_not_found_fails_the_message_with_telegrams_description_and_is_not_retried(
    client: Client,
    fake_telegram: FakeTelegram,  # noqa: F811
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    reply = receive_and_reply(client, django_capture_on_commit_callbacks)
    fake_telegram.fail_next(400, "Bad Request: chat not found")

    assert deliver(reply.pk) is None
    assert deliver(reply.pk) is None

    reply.refresh_from_db()
    assert reply.status == Message.Status.FAILED
    assert reply.error == "Bad Request: chat not found"
    assert reply.next_attempt_at is None
    assert len(fake_telegram.attempts()) == 1


@pytest.mark.django_db
def test_a_blocked_bot_fails_the_message(
    client: Client,
    fake_telegram: FakeTelegram,  # noqa: F811
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    reply = receive_and_reply(client, django_capture_on_commit_callbacks)
    fake_telegram.fail_next(403, "Forbidden: bot was blocked by the user")

    deliver(reply.pk)

    reply.refresh_from_db()
    assert (reply.status, reply.error) == (Message.Status.FAILED, "Forbidden: bot was blocked by the user")


# --- the same, through the task worker as `omnia serve` runs it ------------------------------


def run_worker_until_idle() -> None:
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_a_reply_and_retries_a_429_when_it_is_due(
    client: Client,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    make_channel()
    assert post(client, body("text")).status_code == 200
    conversation = Conversation.objects.get()
    fake_telegram.fail_next(429, "Too Many Requests: retry after 5", retry_after=5)
    start = clock.now()

    with time_machine.travel(start, tick=True) as traveller:
        reply = conversations_actions.check_send_message(actor=None, conversation=conversation, text="Здравствуйте!")
        run_worker_until_idle()

        reply.refresh_from_db()
        assert reply.status == Message.Status.QUEUED
        assert reply.error == "Too Many Requests: retry after 5"
        assert fake_telegram.sent() == []
        waiting = DBTaskResult.objects.get(status=TaskResultStatus.READY)
        assert waiting.run_after > clock.now()

        traveller.shift(dt.timedelta(seconds=6))
        run_worker_until_idle()

    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT
    assert reply.provider_message_id == f"{CHAT_ID}:1001"
    assert fake_telegram.sent() == [{"chat_id": CHAT_ID, "text": "Здравствуйте!"}]
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()
