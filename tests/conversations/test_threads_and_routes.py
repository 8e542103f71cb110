"""Threaded channels (e-mail style), auto-replies, replying through another channel of the same
customer, Instagram's tagged extended window, and the resolved/reopened/woken reporting events."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.cache import cache

from omnia.channels import delivery
from omnia.channels.instagram.connector import InstagramConnector
from omnia.conversations import actions, queries, routing
from omnia.conversations.models import Conversation, ConversationEvent, Message
from omnia.core import clock
from omnia.core.errors import Conflict, ValidationFailed
from omnia.customers import actions as customers_actions
from omnia.customers.models import Identity
from tests.channels.meta.fake_graph import FakeGraph, fake_graph
from tests.conversations import make_channel, make_customer, receive
from tests.factories import make_user

pytestmark = pytest.mark.django_db
__all__ = ["fake_graph"]
IG_ACCOUNT = "17841400000000001"

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def mail(
    channel: Any, customer: Any, message_id: str, *, references: tuple[str, ...] = (), **extra: Any
) -> Message | None:
    return actions.do_receive_message(
        customer=customer,
        channel=channel,
        text=extra.pop("text", "Добрый день"),
        sent_at=clock.now(),
        provider_message_id=message_id,
        external_chat_id="aigerim@example.kz",
        threaded=True,
        references=references,
        **extra,
    )


# --- threads --------------------------------------------------------------------------------------


def test_a_reply_joins_the_thread_it_answers_and_a_new_letter_opens_another() -> None:
    channel = make_channel("webchat")
    customer = make_customer(kind="email", value="aigerim@example.kz")

    first = mail(channel, customer, "<a@example.kz>", meta={"subject": "Размер"})
    answer = mail(channel, customer, "<b@example.kz>", references=("<a@example.kz>",))
    other = mail(channel, customer, "<c@example.kz>")

    assert first is not None
    assert answer is not None
    assert other is not None
    assert answer.conversation_id == first.conversation_id
    assert other.conversation_id != first.conversation_id
    assert first.meta == {"subject": "Размер"}


def test_a_reply_to_a_resolved_thread_reopens_it_and_records_the_reopening(
    django_capture_on_commit_callbacks: Any,
) -> None:
    channel = make_channel("webchat")
    customer = make_customer(kind="email", value="aigerim@example.kz")
    first = mail(channel, customer, "<a@example.kz>")
    assert first is not None
    with django_capture_on_commit_callbacks(execute=True):
        actions.check_set_status(actor=None, conversation=first.conversation, status="resolved")
    with django_capture_on_commit_callbacks(execute=True):
        mail(channel, customer, "<b@example.kz>", references=("<x@elsewhere>", "<a@example.kz>"))

    conversation = Conversation.objects.get(pk=first.conversation_id)
    assert conversation.status == "open"
    kinds = list(ConversationEvent.objects.filter(conversation=conversation).values_list("kind", flat=True))
    assert kinds == ["resolved", "reopened"]


def test_an_auto_reply_joins_its_thread_without_reopening_or_counting_unread() -> None:
    channel = make_channel("webchat")
    customer = make_customer(kind="email", value="aigerim@example.kz")
    first = mail(channel, customer, "<a@example.kz>")
    assert first is not None
    actions.do_mark_read(conversation=first.conversation)
    actions.check_set_status(actor=None, conversation=first.conversation, status="resolved")

    auto = mail(channel, customer, "<ooo@example.kz>", references=("<a@example.kz>",), automatic=True)

    assert auto is not None
    assert auto.meta == {"automatic": True}
    conversation = Conversation.objects.get(pk=first.conversation_id)
    assert (conversation.status, conversation.unread_count) == ("resolved", 0)


def test_an_auto_reply_outside_any_thread_opens_nothing() -> None:
    channel = make_channel("webchat")
    customer = make_customer(kind="email", value="aigerim@example.kz")

    assert mail(channel, customer, "<ooo@example.kz>", automatic=True) is None
    assert not Conversation.objects.exists()


# --- replying through another channel ---------------------------------------------------------------


@pytest.fixture
def two_channels() -> tuple[Any, Any, Conversation]:
    """A customer who wrote on Instagram and also has a WhatsApp number on the card."""
    instagram, whatsapp = make_channel("instagram"), make_channel("whatsapp")
    customer = make_customer(kind="instagram", value="17841499")
    customers_actions.check_add_identity(customer=customer, kind="whatsapp", value="+7 701 555 12 34")
    return instagram, whatsapp, receive(instagram, customer).conversation


def test_the_reply_channels_list_the_conversations_own_first(two_channels: tuple[Any, Any, Conversation]) -> None:
    instagram, whatsapp, conversation = two_channels

    options = queries.reply_channels(conversation)

    assert [(o.channel, o.to, o.allowed) for o in options] == [
        (instagram, conversation.external_thread_id, True),
        (whatsapp, "+77015551234", True),
    ]


def test_a_reply_goes_through_the_chosen_channel_and_says_so(two_channels: tuple[Any, Any, Conversation]) -> None:
    _, whatsapp, conversation = two_channels

    # The customer never wrote on WhatsApp: its 24-hour window is closed, so a template is needed.
    with pytest.raises(Conflict) as closed:
        actions.check_send_message(
            actor=None, conversation=conversation, text="Ваш заказ готов", window=dt.timedelta(hours=24), via=whatsapp
        )
    message = actions.check_send_message(
        actor=None, conversation=conversation, template={"name": "order_ready", "language": "ru"}, via=whatsapp
    )

    assert closed.value.code == "REPLY_WINDOW_CLOSED"
    assert (message.conversation_id, message.channel, message.reply_to) == (conversation.pk, whatsapp, "+77015551234")
    assert message.meta == {"switched_from": "instagram"}


def test_no_reply_through_a_channel_the_customer_withdrew_consent_for(
    two_channels: tuple[Any, Any, Conversation],
) -> None:
    _, whatsapp, conversation = two_channels
    customers_actions.check_record_consent(
        actor=None,
        customer=conversation.customer,
        channel="whatsapp",
        purpose="transactional",
        granted=False,
        source="WhatsApp",
        method="STOP reply",
    )

    assert [o.reason for o in queries.reply_channels(conversation)] == ["", "no_consent"]
    with pytest.raises(ValidationFailed) as refused:
        actions.check_send_message(actor=None, conversation=conversation, text="Здравствуйте", via=whatsapp)
    assert (refused.value.code, refused.value.field) == ("NO_CONSENT", "channel")
    assert not Message.objects.filter(direction="out").exists()


def test_no_reply_through_a_channel_that_cannot_reach_the_customer() -> None:
    conversation = receive(make_channel("telegram"), make_customer()).conversation
    email = make_channel("webchat")

    with pytest.raises(ValidationFailed) as refused:
        actions.check_send_message(actor=None, conversation=conversation, text="Здравствуйте", via=email)

    assert refused.value.code == "CHANNEL_UNREACHABLE"


# --- Instagram's extended window ---------------------------------------------------------------------


def instagram_reply(conversation: Conversation) -> Message:
    capabilities = InstagramConnector.capabilities
    return actions.check_send_message(
        actor=None,
        conversation=conversation,
        text="Мы нашли ваш размер",
        window=capabilities.reply_window,
        extended_window=capabilities.extended_window,
        extended_tag=capabilities.extended_window_tag,
    )


def test_instagram_after_a_day_sends_with_the_human_agent_tag(frozen: Any, fake_graph: FakeGraph) -> None:
    cache.clear()  # no send spacing left over from another test
    channel = make_channel("instagram", config={"ig_user_id": IG_ACCOUNT})
    conversation = receive(channel, make_customer(kind="instagram", value="17841400")).conversation
    fake_graph.add_account(IG_ACCOUNT, "ig-access-secret")
    frozen.shift(dt.timedelta(days=3))

    message = instagram_reply(conversation)
    delivery.deliver(message.pk)

    assert message.meta == {"tag": "HUMAN_AGENT"}
    (request,) = fake_graph.requests
    assert (request.json["messaging_type"], request.json["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_instagram_within_a_day_sends_untagged_and_after_a_week_refuses(frozen: Any) -> None:
    conversation = receive(make_channel("instagram"), make_customer(kind="instagram", value="17841400")).conversation

    assert instagram_reply(conversation).meta == {}
    frozen.shift(dt.timedelta(days=8))
    with pytest.raises(Conflict):
        instagram_reply(conversation)


# --- status events and snoozes -----------------------------------------------------------------------


def test_resolving_and_reopening_by_hand_are_recorded_with_who_did_it(
    django_capture_on_commit_callbacks: Any,
) -> None:
    conversation = receive(make_channel("telegram"), make_customer()).conversation
    operator = make_operator()

    for status in ("resolved", "pending", "open"):
        with django_capture_on_commit_callbacks(execute=True):
            actions.check_set_status(actor=operator, conversation=conversation, status=status)

    events = ConversationEvent.objects.filter(conversation=conversation).exclude(kind="opened")
    assert [(e.kind, e.actor_id) for e in events] == [("resolved", operator.pk), ("reopened", operator.pk)]


def test_a_snoozed_conversation_wakes_when_its_time_comes(frozen: Any) -> None:
    conversation = receive(make_channel("telegram"), make_customer()).conversation
    actions.check_set_status(
        actor=None, conversation=conversation, status="snoozed", snoozed_until=NOW + dt.timedelta(hours=2)
    )

    assert actions.do_wake_snoozed(now=NOW + dt.timedelta(hours=1)) == 0
    frozen.shift(dt.timedelta(hours=2))
    assert actions.do_wake_snoozed(now=clock.now()) == 1

    conversation.refresh_from_db()
    assert (conversation.status, conversation.snoozed_until) == ("open", None)
    assert actions.do_wake_snoozed(now=clock.now()) == 0


def test_a_message_scheduled_for_later_is_not_the_first_response() -> None:
    conversation = receive(make_channel("telegram"), make_customer()).conversation

    actions.check_send_message(
        actor=None, conversation=conversation, text="Напомню завтра", send_after=NOW + dt.timedelta(days=1)
    )

    conversation.refresh_from_db()
    assert conversation.first_response_at is None
    assert routing.record_sla_breaches(now=NOW + dt.timedelta(minutes=5)) == 1


def test_a_scheduled_reply_answers_the_conversation_when_it_goes_out(frozen: Any) -> None:
    conversation = receive(make_channel("telegram"), make_customer()).conversation
    message = actions.check_send_message(
        actor=None, conversation=conversation, text="Доброе утро", send_after=NOW + dt.timedelta(hours=10)
    )
    frozen.shift(dt.timedelta(hours=10))

    actions.do_record_send_result(message=message, provider_message_id="42:7")

    conversation.refresh_from_db()
    assert conversation.first_response_at == NOW + dt.timedelta(hours=10)
    event = ConversationEvent.objects.get(conversation=conversation, kind="first_response")
    assert event.at == conversation.first_response_at


def make_operator() -> Any:
    return make_user()


def test_identity_kinds_a_whatsapp_channel_reaches() -> None:
    assert set(queries.REACHABLE_KINDS["whatsapp"]) <= set(Identity.Kind.values)
