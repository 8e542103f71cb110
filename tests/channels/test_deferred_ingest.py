"""Deferred ingest (what `omnia serve` does): a webhook is stored and answered, then applied exactly once."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from omnia.channels import ingest, tasks
from omnia.channels.base import Attachment, InboundIgnored, InboundMessage, InboundStatus
from omnia.channels.models import Channel, InboundEvent
from omnia.channels.processor import APPLIER_ENV, processor
from omnia.conversations.models import Message
from omnia.core import clock
from omnia.customers.models import Identity
from tests.channels.meta.support import fixture_bytes, make_channel, post_webhook, sign

SECRET = "wa_app_secret_42"
CREDENTIALS = {"access_token": "EAAG-wa-token", "app_secret": SECRET, "verify_token": "wa-verify-7Hq2"}
CONFIG = {"phone_number_id": "109876543210987", "waba_id": "102938475610293"}


@pytest.fixture(autouse=True)
def deferred(settings: Any) -> None:
    settings.OMNIA_INGEST_DEFERRED = True


@pytest.fixture
def channel() -> Channel:
    return make_channel("whatsapp", credentials=CREDENTIALS, config=CONFIG)


def post(client: Client, channel: Channel, name: str) -> Any:
    body = fixture_bytes("whatsapp", name)
    return post_webhook(client, channel, body, signature=sign(SECRET, body))


def test_a_parsed_message_survives_the_round_trip_through_json() -> None:
    sent = dt.datetime(2025, 1, 14, 5, 20, 5, tzinfo=dt.UTC)
    message = InboundMessage(
        event_id="e1",
        external_message_id="m1",
        external_chat_id="c1",
        sender_kind="email",
        sender_id="Aigerim@Example.kz",
        sent_at=sent,
        text="Здравствуйте",
        attachments=(Attachment(kind="document", provider_ref="sha256:ab", mime_type="application/pdf", size=12),),
        references=("<a@x>", "<b@x>"),
        subject="Заказ",
        automatic=True,
        extra_handles=(("whatsapp_user", "KZ.1"),),
        raw={"id": "e1"},
    )
    status = InboundStatus(event_id="s1", external_message_id="m9", status="failed", at=sent, error="Undeliverable")
    ignored = InboundIgnored(event_id="i1", reason="a reaction")

    for parsed in (message, status, ignored):
        assert ingest.decode_parsed(ingest.encode_parsed(parsed), parsed.raw) == parsed


@pytest.mark.django_db
def test_the_answer_comes_before_the_message_is_applied_and_applying_twice_changes_nothing(
    client: Client, channel: Channel
) -> None:
    response = post(client, channel, "image")

    assert response.json() == {"ok": True, "stored": 1, "duplicates": 0}
    assert InboundEvent.objects.get().status == InboundEvent.Status.RECEIVED
    assert not Message.objects.exists()

    assert ingest.apply_pending() == 1
    assert ingest.apply_pending() == 0

    message = Message.objects.get()
    assert message.text == "Вот этот адрес"
    assert message.attachments[0]["provider_ref"] == "1479537139650973"
    assert Identity.objects.filter(kind="whatsapp", customer=message.conversation.customer).exists()
    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED


@pytest.mark.django_db
def test_a_redelivery_before_the_first_is_applied_is_stored_and_applied_once(client: Client, channel: Channel) -> None:
    post(client, channel, "text")

    again = post(client, channel, "text")
    while ingest.apply_pending():
        pass

    assert again.json() == {"ok": True, "stored": 0, "duplicates": 1}
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_an_event_that_cannot_be_applied_is_marked_failed_and_the_others_go_on(
    client: Client, channel: Channel
) -> None:
    post(client, channel, "text")
    broken = InboundEvent.objects.create(
        channel=channel,
        event_id="broken",
        received_at=clock.now(),
        payload={},
        parsed={"type": "InboundMessage", "event_id": "broken"},  # no sender: cannot be rebuilt
    )
    post(client, channel, "image")

    assert ingest.apply_pending() == 3

    broken.refresh_from_db()
    assert broken.status == InboundEvent.Status.FAILED
    assert "TypeError" in broken.error
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_the_sweep_applies_only_what_a_server_left_behind(client: Client, channel: Channel, time_machine: Any) -> None:
    time_machine.move_to(dt.datetime(2025, 1, 14, 5, 0, tzinfo=dt.UTC), tick=False)
    post(client, channel, "text")  # its process died before applying it
    time_machine.move_to(dt.datetime(2025, 1, 14, 5, 1, tzinfo=dt.UTC), tick=False)
    post(client, channel, "image")  # just stored: its own server is about to apply it

    assert tasks.apply_waiting_events.call() == 1

    assert list(Message.objects.values_list("text", flat=True)) == ["Здравствуйте, можно поменять адрес доставки?"]
    assert InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED).count() == 1


@pytest.fixture
def running_processor() -> Iterator[None]:
    yield
    processor.stop()


@pytest.mark.django_db(transaction=True)
def test_the_servers_ingest_thread_applies_a_webhook_right_after_the_answer(
    client: Client, channel: Channel, running_processor: None
) -> None:
    response = post(client, channel, "text")

    assert response.status_code == 200
    deadline = time.monotonic() + 30
    while not Message.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Message.objects.get().text == "Здравствуйте, можно поменять адрес доставки?"
    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED


@pytest.mark.django_db(transaction=True)
def test_an_event_that_meets_a_lock_it_cannot_wait_for_stays_waiting_and_is_applied_later(
    client: Client, channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("needs row locks held by another connection (PostgreSQL)")
    monkeypatch.setenv(APPLIER_ENV, "1")  # as under omnia serve: no ingest thread applies beside this test
    post(client, channel, "text")
    ingest.apply_pending()
    conversation_id = Message.objects.get().conversation_id
    post(client, channel, "image")  # the same customer's conversation

    holder = connections.create_connection("default")  # another server holding the conversation
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT id FROM conversations_conversation WHERE id = %s FOR UPDATE", [conversation_id])
            with connection.cursor() as mine:
                mine.execute("SET lock_timeout = '200ms'")
            ingest.apply_pending()

            assert InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED).count() == 1
            assert Message.objects.count() == 1
            cursor.execute("ROLLBACK")
    finally:
        holder.close()
        with connection.cursor() as mine:
            mine.execute("RESET lock_timeout")

    assert ingest.apply_pending() == 1
    assert Message.objects.count() == 2
    assert not InboundEvent.objects.exclude(status=InboundEvent.Status.PROCESSED).exists()
