"""SMS webhooks through the real endpoint and database: signature, messages, media, dedupe, statuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from omnia.channels import delivery
from omnia.channels.models import Channel, InboundEvent
from omnia.conversations import actions as conversations_actions
from omnia.conversations.models import Conversation, Message
from omnia.customers import actions as customers_actions
from omnia.customers.models import Identity
from tests.channels.sms.fake_twilio import FakeTwilio
from tests.channels.sms.support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    fixture,
    form_bytes,
    hook_path,
    post_form,
    post_signed,
    sign,
    sms_channel,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
INBOUND_SID = "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9"
OUT_SID = "SM5f1e2d3c4b5a69788796a5b4c3d2e1f0"  # the sid in the stored status callbacks
TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


@pytest.fixture(autouse=True, params=["inline", "deferred"])
def ingest_mode(request: pytest.FixtureRequest, settings: Any) -> str:
    """Every test runs both ways: applied before the answer, and stored then applied (omnia serve)."""
    settings.OMNIA_INGEST_DEFERRED = request.param == "deferred"
    return str(request.param)


@pytest.fixture
def channel(time_machine: Any) -> Channel:
    time_machine.move_to(NOW, tick=False)
    return sms_channel()


def test_an_sms_from_a_known_phone_lands_on_that_customers_card(client: Client, channel: Channel) -> None:
    customer = customers_actions.do_resolve_identity(kind="phone", value="+77011234567").customer

    response = post_signed(client, channel, "inbound_text")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content == TWIML  # no auto-reply
    message = Message.objects.get()
    assert message.direction == Message.Direction.IN
    assert message.text == "Сәлем! Где мой заказ 4961490?"
    assert message.provider_message_id == INBOUND_SID
    assert message.sent_at == NOW  # Twilio sends no time: when it reached us
    assert message.channel == channel
    assert message.conversation.customer_id == customer.pk
    assert message.conversation.external_thread_id == "+77011234567"  # replies go to that number
    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED
    assert set(customer.identities.values_list("kind", "value")) == {("phone", "+77011234567")}  # no new card


def test_an_sms_from_a_new_phone_makes_a_card_with_that_phone(client: Client, channel: Channel) -> None:
    post_signed(client, channel, "inbound_text")

    conversation = Conversation.objects.get()
    assert {(i.kind, i.value) for i in conversation.customer.identities.all()} == {("phone", "+77011234567")}
    assert conversation.channel == channel
    assert conversation.unread_count == 1


def test_a_retried_sms_is_stored_once(client: Client, channel: Channel) -> None:
    post_signed(client, channel, "inbound_text")

    again = post_signed(client, channel, "inbound_text")

    assert again.status_code == 200
    assert again.content == TWIML
    assert Message.objects.count() == 1
    assert InboundEvent.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1


def test_an_mms_keeps_its_media_links(client: Client, channel: Channel) -> None:
    post_signed(client, channel, "mms")

    message = Message.objects.get()
    assert message.text == "Вот чек и фото коробки"
    base = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM00000000000000000000000000000002"
    assert message.attachments == [
        {
            "kind": "image",
            "provider_ref": f"{base}/Media/ME00000000000000000000000000000001",
            "mime_type": "image/jpeg",
            "file_name": "",
            "size": None,
            "url": f"{base}/Media/ME00000000000000000000000000000001",
        },
        {
            "kind": "document",
            "provider_ref": f"{base}/Media/ME00000000000000000000000000000002",
            "mime_type": "application/pdf",
            "file_name": "",
            "size": None,
            "url": f"{base}/Media/ME00000000000000000000000000000002",
        },
    ]


def test_behind_a_tls_proxy_the_public_https_url_is_the_signed_one(client: Client, channel: Channel) -> None:
    body = form_bytes("inbound_text")
    public = f"https://testserver{hook_path(channel)}"

    response = post_form(client, channel, body, signature=sign(public, body), HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200
    assert Message.objects.count() == 1


def test_a_signature_for_another_address_is_refused(client: Client, channel: Channel) -> None:
    body = form_bytes("inbound_text")

    response = post_form(client, channel, body, signature=sign(f"https://elsewhere.kz{hook_path(channel)}", body))

    assert response.status_code == 403
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(fixture("bad_signature")["signature"], id="another account's token"),
        pytest.param(None, id="no header"),
    ],
)
def test_a_bad_signature_is_refused_and_nothing_stored(client: Client, channel: Channel, signature: str | None) -> None:
    body = fixture("bad_signature")["body"].encode()

    response = post_form(client, channel, body, signature=signature)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "SIGNATURE_INVALID"
    assert not InboundEvent.objects.exists()
    assert not Message.objects.exists()
    assert not Conversation.objects.exists()


def test_a_signed_body_without_a_message_sid_is_a_400(client: Client, channel: Channel) -> None:
    body = b"From=%2B77011234567&Body=hi"
    url = f"http://testserver{hook_path(channel)}"

    response = post_form(client, channel, body, signature=sign(url, body))

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


# --- delivery reports of our replies ----------------------------------------------------------------


@pytest.fixture
def sent_reply(client: Client, channel: Channel, fake_twilio: FakeTwilio) -> Message:
    """A reply the outbox sent through the fake Twilio, whose sid the stored callbacks carry."""
    fake_twilio.add_account(ACCOUNT_SID, AUTH_TOKEN)
    post_signed(client, channel, "inbound_text")
    reply = conversations_actions.check_send_message(
        actor=None, conversation=Conversation.objects.get(), text="Заказ в пути, будет завтра."
    )
    assert delivery.deliver(reply.pk) is None
    reply.refresh_from_db()
    assert reply.status == Message.Status.SENT
    Message.objects.filter(pk=reply.pk).update(provider_message_id=OUT_SID)
    reply.refresh_from_db()
    return reply


def test_delivery_reports_move_the_reply_forward(client: Client, channel: Channel, sent_reply: Message) -> None:
    seen = []
    for name in ("status_queued", "status_sent", "status_delivered"):
        response = post_signed(client, channel, name)
        assert (response.status_code, response.content) == (200, TWIML)
        sent_reply.refresh_from_db()
        seen.append(sent_reply.status)

    assert seen == [Message.Status.SENT, Message.Status.SENT, Message.Status.DELIVERED]


def test_a_late_sent_after_delivered_does_not_go_back(client: Client, channel: Channel, sent_reply: Message) -> None:
    post_signed(client, channel, "status_delivered")

    post_signed(client, channel, "status_sent")

    sent_reply.refresh_from_db()
    assert sent_reply.status == Message.Status.DELIVERED


def test_an_undelivered_report_fails_the_reply_with_twilios_reason(
    client: Client, channel: Channel, sent_reply: Message
) -> None:
    post_signed(client, channel, "status_failed")

    sent_reply.refresh_from_db()
    assert sent_reply.status == Message.Status.FAILED
    assert sent_reply.error == "Twilio error 30003: unreachable destination handset"


def test_a_report_twice_is_applied_once(client: Client, channel: Channel, sent_reply: Message) -> None:
    post_signed(client, channel, "status_delivered")

    post_signed(client, channel, "status_delivered")

    assert InboundEvent.objects.filter(event_id=f"{OUT_SID}:delivered").count() == 1


def test_a_report_for_a_message_we_did_not_send_is_kept_and_flagged(client: Client, channel: Channel) -> None:
    response = post_signed(client, channel, "status_delivered")

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.UNSUPPORTED
    assert event.event_id == f"{OUT_SID}:delivered"


def test_identities_stay_phone_only(client: Client, channel: Channel) -> None:
    post_signed(client, channel, "mms")

    assert set(Identity.objects.values_list("kind", flat=True)) == {"phone"}


def _inbound(body_text: str, sid: str, **extra: str) -> bytes:
    from urllib.parse import urlencode

    fields = {
        "AccountSid": ACCOUNT_SID,
        "Body": body_text,
        "From": "+77011234567",
        "MessageSid": sid,
        "NumMedia": "0",
        "To": "+77170000001",
        **extra,
    }
    return urlencode(fields).encode()


def _post_inbound(client: Client, channel: Channel, body: bytes) -> Any:
    return post_form(client, channel, body, signature=sign(f"http://testserver{hook_path(channel)}", body))


@pytest.mark.parametrize("word", ["STOP", "stop", "Стоп!", "UNSUBSCRIBE"])
def test_a_stop_reply_withdraws_consent_to_sms_and_stays_in_the_inbox(
    client: Client, channel: Channel, word: str
) -> None:
    from omnia.customers import queries as customers_queries

    response = _post_inbound(client, channel, _inbound(word, "SM" + "1" * 32))

    assert response.status_code == 200
    message = Message.objects.get()
    assert message.text == word  # the operator sees it as it came
    customer = message.conversation.customer
    in_force = {(c.channel, c.purpose): c.granted for c in customers_queries.consents_in_force(customer)}
    assert in_force == {("sms", "transactional"): False, ("sms", "marketing"): False}
    assert customer.timeline.filter(kind="consent").count() == 2


def test_start_after_stop_gives_consent_back_and_ordinary_words_change_nothing(
    client: Client, channel: Channel, time_machine: Any
) -> None:
    from omnia.customers import queries as customers_queries

    _post_inbound(client, channel, _inbound("STOP", "SM" + "1" * 32))
    time_machine.move_to(NOW + dt.timedelta(minutes=5), tick=False)
    _post_inbound(client, channel, _inbound("Please stop by the store later", "SM" + "2" * 32))
    customer = Message.objects.first().conversation.customer  # type: ignore[union-attr]
    assert customer.consents.count() == 2  # the sentence is not a keyword
    time_machine.move_to(NOW + dt.timedelta(minutes=10), tick=False)
    _post_inbound(client, channel, _inbound("Hi", "SM" + "3" * 32, OptOutType="START"))

    in_force = {(c.channel, c.purpose): c.granted for c in customers_queries.consents_in_force(customer)}
    assert in_force == {("sms", "transactional"): True, ("sms", "marketing"): True}
