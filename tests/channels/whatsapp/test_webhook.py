"""WhatsApp webhooks through the real endpoint and database: handshake, signature, messages, dedupe, statuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from omnia.channels import delivery, ingest
from omnia.channels.models import Channel, InboundEvent
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation, Message
from omnia.customers import actions as customers_actions
from omnia.customers.models import Identity
from tests.channels.meta.fake_graph import FakeGraph
from tests.channels.meta.support import fixture, fixture_bytes, make_channel, post_webhook, sign

pytestmark = pytest.mark.django_db

SECRET = "wa_app_secret_42"
TOKEN = "EAAG-wa-token"
CREDENTIALS = {"access_token": TOKEN, "app_secret": SECRET, "verify_token": "wa-verify-7Hq2"}
CONFIG = {"phone_number_id": "109876543210987", "waba_id": "102938475610293"}
NOW = dt.datetime(2025, 1, 14, 5, 21, tzinfo=dt.UTC)  # a minute after the stored text message
INBOUND_ID = "wamid.HBgLNzcwMTEyMzQ1NjcVAgASGBQzQUZBS0UxMjM0NTY3ODkwQUJDAA=="
OUT_ID = "wamid.HBgLNzcwMTEyMzQ1NjcVAgARGBJGQUtFT1VUQk9VTkQwMDIA"  # the id in the stored status callbacks


@pytest.fixture(autouse=True, params=["inline", "deferred"])
def ingest_mode(request: pytest.FixtureRequest, settings: Any) -> str:
    """Every test runs both ways: applied before the answer, and stored then applied (omnia serve)."""
    settings.OMNIA_INGEST_DEFERRED = request.param == "deferred"
    return str(request.param)


@pytest.fixture
def channel(time_machine: Any) -> Channel:
    time_machine.move_to(NOW, tick=False)
    return make_channel("whatsapp", credentials=CREDENTIALS, config=CONFIG)


def post(client: Client, channel: Channel, name: str) -> Any:
    body = fixture_bytes("whatsapp", name)
    response = post_webhook(client, channel, body, signature=sign(SECRET, body))
    if django_settings.OMNIA_INGEST_DEFERRED:  # what the server's ingest thread does after the answer
        if response.status_code == 200:  # answered before anything was applied
            assert InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED).count() == response.json()["stored"]
        while ingest.apply_pending():
            pass
    return response


def test_the_handshake_echoes_the_challenge(client: Client, channel: Channel) -> None:
    query = "hub.mode=subscribe&hub.verify_token=wa-verify-7Hq2&hub.challenge=1158201444"

    response = client.get(f"/hooks/whatsapp/{channel.key}?{query}")

    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


def test_the_handshake_with_a_wrong_token_is_refused(client: Client, channel: Channel) -> None:
    response = client.get(
        f"/hooks/whatsapp/{channel.key}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444"
    )

    assert response.status_code == 403
    assert b"1158201444" not in response.content


def test_a_message_from_a_known_phone_lands_on_that_customers_card(client: Client, channel: Channel) -> None:
    customer = customers_actions.do_resolve_identity(kind="phone", value="+77011234567").customer

    response = post(client, channel, "text")

    assert response.status_code == 200
    assert response.json() == {"ok": True, "stored": 1, "duplicates": 0}
    message = Message.objects.get()
    assert message.direction == Message.Direction.IN
    assert message.text == "Здравствуйте, можно поменять адрес доставки?"
    assert message.provider_message_id == INBOUND_ID
    assert message.sent_at == dt.datetime(2025, 1, 14, 5, 20, 5, tzinfo=dt.UTC)
    assert message.conversation.customer_id == customer.pk
    assert message.conversation.external_thread_id == "77011234567"
    whatsapp = Identity.objects.get(kind="whatsapp")
    assert (whatsapp.customer_id, whatsapp.value, whatsapp.display_name) == (
        customer.pk,
        "+77011234567",
        "Ерлан Ахметов",
    )
    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED


def test_a_message_from_a_new_phone_makes_a_card_with_that_phone(client: Client, channel: Channel) -> None:
    post(client, channel, "text")

    customer = Conversation.objects.get().customer
    assert {(i.kind, i.value) for i in customer.identities.all()} == {
        ("whatsapp", "+77011234567"),
        ("phone", "+77011234567"),
        ("whatsapp_user", "KZ.80213374650019283746"),  # the business-scoped user id, kept too
    }
    assert customer.first_name == "Ерлан"


def test_a_redelivered_message_is_stored_once(client: Client, channel: Channel) -> None:
    post(client, channel, "text")

    again = post(client, channel, "text")

    assert again.status_code == 200
    assert again.json() == {"ok": True, "stored": 0, "duplicates": 1}
    assert Message.objects.count() == 1
    assert InboundEvent.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1


def test_a_message_twice_in_one_delivery_is_stored_once(client: Client, channel: Channel) -> None:
    response = post(client, channel, "duplicate")

    assert response.json() == {"ok": True, "stored": 1, "duplicates": 1}
    assert Message.objects.count() == 1


def test_an_image_keeps_its_media_reference(client: Client, channel: Channel) -> None:
    post(client, channel, "image")

    message = Message.objects.get()
    assert message.text == "Вот этот адрес"
    assert message.attachments == [
        {
            "kind": "image",
            "provider_ref": "1479537139650973",
            "mime_type": "image/jpeg",
            "file_name": "",
            "size": None,
            "url": "",
        }
    ]


def test_an_unsupported_message_is_shown_as_such(client: Client, channel: Channel) -> None:
    post(client, channel, "unsupported")

    message = Message.objects.get()
    assert message.kind == Message.Kind.UNSUPPORTED
    assert "131051" in message.text
    assert InboundEvent.objects.get().status == InboundEvent.Status.UNSUPPORTED


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(fixture("whatsapp", "bad_signature")["signature"], id="another app's secret"),
        pytest.param(None, id="no header"),
    ],
)
def test_a_bad_signature_is_refused_and_nothing_stored(client: Client, channel: Channel, signature: str | None) -> None:
    body = fixture("whatsapp", "bad_signature")["body"].encode()

    response = post_webhook(client, channel, body, signature=signature)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "SIGNATURE_INVALID"
    assert not InboundEvent.objects.exists()
    assert not Message.objects.exists()


def test_a_signed_body_that_is_not_whatsapps_is_a_400(client: Client, channel: Channel) -> None:
    body = b'{"object": "instagram", "entry": []}'

    response = post_webhook(client, channel, body, signature=sign(SECRET, body))

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


# --- statuses of our replies -------------------------------------------------------------------------


@pytest.fixture
def sent_reply(client: Client, channel: Channel, fake_graph: FakeGraph) -> Message:
    """A reply to the stored text message, sent through the fake Graph API under the id the callbacks use."""
    fake_graph.add_account(CONFIG["phone_number_id"], TOKEN)
    fake_graph.reply_ids.append(OUT_ID)
    post(client, channel, "text")
    reply = conversations_actions.check_send_message(
        actor=None, conversation=Conversation.objects.get(), text="Да, пришлите новый адрес."
    )
    assert delivery.deliver(reply.pk) is None
    reply.refresh_from_db()
    assert (reply.status, reply.provider_message_id) == (Message.Status.SENT, OUT_ID)
    return reply


def test_statuses_move_the_reply_forward(client: Client, channel: Channel, sent_reply: Message) -> None:
    seen = []
    for name in ("status_sent", "status_delivered", "status_read"):
        assert post(client, channel, name).json() == {"ok": True, "stored": 1, "duplicates": 0}
        sent_reply.refresh_from_db()
        seen.append(sent_reply.status)

    assert seen == [Message.Status.SENT, Message.Status.DELIVERED, Message.Status.READ]
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {InboundEvent.Status.PROCESSED}


def test_a_late_delivered_after_read_does_not_go_back(client: Client, channel: Channel, sent_reply: Message) -> None:
    post(client, channel, "status_read")

    post(client, channel, "status_delivered")
    post(client, channel, "status_sent")

    sent_reply.refresh_from_db()
    assert sent_reply.status == Message.Status.READ


def test_a_failed_status_records_the_error(client: Client, channel: Channel, sent_reply: Message) -> None:
    post(client, channel, "status_failed")

    sent_reply.refresh_from_db()
    assert sent_reply.status == Message.Status.FAILED
    assert sent_reply.error == "Message undeliverable (131026): Message Undeliverable."


def test_a_status_for_a_message_we_did_not_send_is_kept_and_flagged(client: Client, channel: Channel) -> None:
    response = post(client, channel, "status_delivered")

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.UNSUPPORTED
    assert event.event_id == f"{OUT_ID}:delivered"


# --- users with usernames: the business-scoped user id (BSUID) ---------------------------------------

BSUID = "KZ.80213374650019283746"


def test_a_username_user_without_a_phone_reaches_the_same_card_by_user_id(client: Client, channel: Channel) -> None:
    post(client, channel, "text")
    customer = Conversation.objects.get().customer

    response = post(client, channel, "username_user")

    assert response.status_code == 200
    latest = Message.objects.order_by("-id").first()
    assert latest is not None
    assert (latest.text, latest.conversation.customer_id) == ("Это снова я, номер теперь скрыт", customer.pk)
    assert InboundEvent.objects.filter(status="processed").count() == 2


def test_a_reply_to_a_username_user_goes_to_their_user_id(
    client: Client, channel: Channel, fake_graph: FakeGraph
) -> None:
    fake_graph.add_account(CONFIG["phone_number_id"], TOKEN)
    post(client, channel, "username_user")
    conversation = Conversation.objects.get()
    assert Identity.objects.get(customer=conversation.customer).kind == "whatsapp_user"

    reply = conversations_actions.check_send_message(
        actor=None, conversation=conversation, text="Да, адрес поменяли", window=dt.timedelta(hours=24)
    )
    delivery.deliver(reply.pk)

    (request,) = fake_graph.requests
    assert request.json["recipient"] == BSUID
    assert "to" not in request.json
