"""Inbox triage actions: assignment, status (snooze, resolve, reopen), priority, labels, moving a
conversation to another card and merging two conversations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from omnia.conversations import actions
from omnia.conversations.models import Conversation, Message
from omnia.core.errors import ValidationFailed
from omnia.core.events import RealtimeUpdate
from omnia.core.permissions import Role
from omnia.customers import actions as customers_actions
from tests.conversations import make_channel, make_customer, receive
from tests.factories import make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def conversation() -> Conversation:
    return receive(make_channel("telegram"), make_customer()).conversation


@pytest.fixture
def pushed(monkeypatch: pytest.MonkeyPatch) -> list[RealtimeUpdate]:
    """Realtime updates the actions publish (after commit, so collected instead of sent)."""
    events: list[RealtimeUpdate] = []
    monkeypatch.setattr(
        actions, "publish_on_commit", lambda event: events.append(event) if isinstance(event, RealtimeUpdate) else None
    )
    return events


def fresh(conversation: Conversation) -> Conversation:
    return Conversation.objects.get(pk=conversation.pk)


# --- assignment -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.OPERATOR])
def test_assign_to_a_person_who_works_the_inbox(
    conversation: Conversation, role: str, pushed: list[RealtimeUpdate]
) -> None:
    person = make_user(role)

    actions.check_assign(actor=None, conversation=conversation, assignee=person, team="  Продажи ")

    stored = fresh(conversation)
    assert (stored.assignee_id, stored.team) == (person.pk, "Продажи")
    assert [(e.topic, e.kind) for e in pushed] == [
        ("inbox", "conversation.assigned"),
        (f"inbox:conversation:{conversation.pk}", "conversation.assigned"),
    ]
    assert pushed[0].data["assignee_id"] == person.pk


def test_a_clerk_cannot_take_conversations(conversation: Conversation) -> None:
    with pytest.raises(ValidationFailed) as caught:
        actions.check_assign(actor=None, conversation=conversation, assignee=make_user(Role.CLERK), team=None)

    assert caught.value.field == "assignee"
    assert fresh(conversation).assignee_id is None


def test_an_inactive_user_cannot_take_conversations(conversation: Conversation) -> None:
    gone = make_user(Role.OPERATOR)
    gone.is_active = False
    gone.save()

    with pytest.raises(ValidationFailed) as caught:
        actions.check_assign(actor=None, conversation=conversation, assignee=gone, team=None)

    assert caught.value.field == "assignee"


def test_assign_none_unassigns_and_clears_the_team(conversation: Conversation) -> None:
    actions.check_assign(actor=None, conversation=conversation, assignee=make_user(), team="support")

    actions.check_assign(actor=None, conversation=conversation, assignee=None, team=None)

    stored = fresh(conversation)
    assert (stored.assignee_id, stored.team) == (None, "")


# --- status -----------------------------------------------------------------------------------------


def test_resolving_stamps_the_time_and_reopening_clears_it(conversation: Conversation, frozen: Any) -> None:
    actions.check_set_status(actor=None, conversation=conversation, status="resolved")
    assert (fresh(conversation).status, fresh(conversation).resolved_at) == ("resolved", NOW)

    frozen.shift(dt.timedelta(hours=1))
    actions.check_set_status(actor=None, conversation=conversation, status="open")

    stored = fresh(conversation)
    assert (stored.status, stored.resolved_at) == ("open", None)


def test_resolving_twice_keeps_the_first_time(conversation: Conversation, frozen: Any) -> None:
    actions.check_set_status(actor=None, conversation=conversation, status="resolved")
    frozen.shift(dt.timedelta(hours=1))

    actions.check_set_status(actor=None, conversation=conversation, status="resolved")

    assert fresh(conversation).resolved_at == NOW


def test_snooze_until_a_future_time(conversation: Conversation, pushed: list[RealtimeUpdate]) -> None:
    until = NOW + dt.timedelta(hours=3)

    actions.check_set_status(actor=None, conversation=conversation, status="snoozed", snoozed_until=until)

    stored = fresh(conversation)
    assert (stored.status, stored.snoozed_until) == ("snoozed", until)
    assert pushed[0].kind == "conversation.status"
    assert pushed[0].data["status"] == "snoozed"


@pytest.mark.parametrize("until", [None, NOW, NOW - dt.timedelta(minutes=1)])
def test_snooze_needs_a_future_time(conversation: Conversation, until: dt.datetime | None) -> None:
    with pytest.raises(ValidationFailed) as caught:
        actions.check_set_status(actor=None, conversation=conversation, status="snoozed", snoozed_until=until)

    assert caught.value.field == "snoozed_until"
    assert fresh(conversation).status == "open"


def test_leaving_snooze_forgets_the_wake_up_time(conversation: Conversation) -> None:
    actions.check_set_status(
        actor=None, conversation=conversation, status="snoozed", snoozed_until=NOW + dt.timedelta(days=1)
    )

    actions.check_set_status(actor=None, conversation=conversation, status="pending")

    stored = fresh(conversation)
    assert (stored.status, stored.snoozed_until) == ("pending", None)


def test_an_unknown_status_is_refused(conversation: Conversation) -> None:
    with pytest.raises(ValidationFailed) as caught:
        actions.check_set_status(actor=None, conversation=conversation, status="closed")

    assert caught.value.field == "status"


# --- priority and labels ------------------------------------------------------------------------------


def test_set_priority(conversation: Conversation) -> None:
    actions.do_set_priority(actor=None, conversation=conversation, priority=Conversation.Priority.URGENT)

    assert fresh(conversation).priority == Conversation.Priority.URGENT


def test_labels_are_trimmed_lower_case_and_unique(conversation: Conversation) -> None:
    actions.do_set_labels(actor=None, conversation=conversation, labels=[" VIP ", "vip", "Доставка", "", "  "])

    assert fresh(conversation).labels == ["vip", "доставка"]


def test_labels_are_replaced(conversation: Conversation) -> None:
    actions.do_set_labels(actor=None, conversation=conversation, labels=["vip"])

    actions.do_set_labels(actor=None, conversation=conversation, labels=[])

    assert fresh(conversation).labels == []


# --- move to another card ----------------------------------------------------------------------------------


def test_move_to_another_customer_takes_the_messages_along(conversation: Conversation) -> None:
    other = make_customer(name="Ольга")

    actions.check_move_to_customer(actor=None, conversation=conversation, customer=other)

    assert fresh(conversation).customer_id == other.pk
    assert list(Message.objects.filter(conversation__customer=other)) == list(conversation.messages.all())


def test_move_to_a_merged_card_is_refused(conversation: Conversation) -> None:
    survivor, absorbed = make_customer(name="Ольга"), make_customer(name="Ольга К.")
    customers_actions.check_merge(actor=None, survivor=survivor, absorbed=absorbed)
    absorbed.refresh_from_db()

    with pytest.raises(ValidationFailed) as caught:
        actions.check_move_to_customer(actor=None, conversation=conversation, customer=absorbed)

    assert caught.value.field == "customer_id"
    assert fresh(conversation).customer_id != absorbed.pk


# --- merge two conversations ------------------------------------------------------------------------------


def test_merge_moves_the_messages_and_resolves_the_other(frozen: Any) -> None:
    customer = make_customer()
    telegram, webchat = make_channel("telegram"), make_channel("webchat")
    first = receive(telegram, customer, text="Гирлянда есть?")
    frozen.shift(dt.timedelta(minutes=5))
    second = receive(webchat, customer, text="Я с сайта, про гирлянду")
    target, other = first.conversation, second.conversation
    actions.do_set_labels(actor=None, conversation=other, labels=["delivery"])
    assert target.pk != other.pk

    actions.check_merge_conversations(actor=None, target=target, other=other)

    merged, resolved = fresh(target), fresh(other)
    assert [m.text for m in merged.messages.order_by("id")] == ["Гирлянда есть?", "Я с сайта, про гирлянду"]
    assert merged.unread_count == 2
    assert merged.labels == ["delivery"]
    assert merged.last_message_at == NOW + dt.timedelta(minutes=5)
    assert merged.waiting_since == NOW
    assert (resolved.status, resolved.resolved_at, resolved.unread_count) == (
        "resolved",
        NOW + dt.timedelta(minutes=5),
        0,
    )
    line = resolved.messages.get()
    assert (line.kind, line.text) == (Message.Kind.SYSTEM, f"merged into #{target.pk}")


def test_merge_needs_the_same_customer() -> None:
    channel = make_channel("telegram")
    mine, theirs = receive(channel, make_customer()).conversation, receive(channel, make_customer()).conversation

    with pytest.raises(ValidationFailed) as caught:
        actions.check_merge_conversations(actor=None, target=mine, other=theirs)

    assert caught.value.field == "other_id"
    assert fresh(theirs).status == "open"
    assert theirs.messages.count() == 1


def test_a_conversation_cannot_be_merged_into_itself(conversation: Conversation) -> None:
    with pytest.raises(ValidationFailed):
        actions.check_merge_conversations(actor=None, target=conversation, other=conversation)


# --- inbound edge cases ---------------------------------------------------------------------------


def test_a_retried_delivery_after_resolve_does_not_reopen_or_open_anything(conversation: Conversation) -> None:
    first = conversation.messages.get()
    actions.check_set_status(actor=None, conversation=conversation, status=Conversation.Status.RESOLVED)

    again = actions.do_receive_message(
        customer=conversation.customer,
        channel=conversation.channel,
        text=first.text,
        sent_at=NOW,
        provider_message_id=first.provider_message_id,
        external_chat_id=conversation.external_thread_id,
    )

    assert again is None
    assert Conversation.objects.count() == 1
    assert fresh(conversation).status == Conversation.Status.RESOLVED


def test_a_new_message_reopens_a_resolved_conversation_with_a_fresh_first_response_target(
    frozen: Any,
) -> None:
    channel = make_channel("telegram", reply_policy="continue")
    customer = make_customer()
    conversation = receive(channel, customer).conversation
    actions.check_send_message(actor=None, conversation=conversation, text="Да, есть")
    actions.check_set_status(actor=None, conversation=conversation, status=Conversation.Status.RESOLVED)
    frozen.shift(dt.timedelta(days=2))

    receive(channel, customer, text="А доставка?")

    stored = fresh(conversation)
    assert stored.status == Conversation.Status.OPEN
    assert stored.resolved_at is None
    assert stored.first_response_at is None
    assert stored.first_response_due is not None
    assert stored.first_response_due > NOW + dt.timedelta(days=2)


def test_a_switched_off_channel_refuses_replies(conversation: Conversation) -> None:
    from omnia.conversations.errors import ChannelInactive

    conversation.channel.is_active = False
    conversation.channel.save()

    with pytest.raises(ChannelInactive):
        actions.check_send_message(actor=None, conversation=fresh(conversation), text="Здравствуйте")

    assert not Message.objects.filter(direction="out").exists()


def test_merging_two_customer_cards_moves_their_conversations_and_undo_moves_them_back() -> None:
    channel = make_channel("telegram")
    survivor, absorbed = make_customer(), make_customer(name="Айгерим")
    kept = receive(channel, survivor).conversation
    moved = receive(channel, absorbed).conversation

    merge = customers_actions.check_merge(actor=None, survivor=survivor, absorbed=absorbed)
    assert set(Conversation.objects.filter(customer=survivor)) == {kept, moved}

    customers_actions.check_undo_merge(actor=None, merge=merge)
    assert fresh(moved).customer == absorbed
