"""Routing new conversations to free operators (presence, capacity, teams, round-robin) and the SLA
records analytics reads (opened, first response, first-response breaches)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from omnia.accounts.models import User
from omnia.channels.models import Channel
from omnia.conversations import actions, routing, tasks
from omnia.conversations.models import Conversation, ConversationEvent, OperatorStatus
from omnia.core.errors import ValidationFailed
from omnia.core.permissions import Role
from tests.conversations import make_channel, make_customer, receive
from tests.factories import make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def channel() -> Channel:
    return make_channel("telegram")


def online(role: str = Role.OPERATOR, *, capacity: int = 5, teams: list[str] | None = None) -> User:
    user = make_user(role)
    routing.do_set_presence(user=user, status=OperatorStatus.Presence.ONLINE)
    routing.do_set_capacity(user=user, max_concurrent=capacity, teams=teams)
    return user


def new_conversation(channel: Channel) -> Conversation:
    """A new customer writes; the after-commit hooks do not run (the test transaction never commits)."""
    return receive(channel, make_customer()).conversation


def route(channel: Channel, frozen: Any) -> int | None:
    """A new conversation is routed a minute after the previous one; the assignee's id."""
    frozen.shift(dt.timedelta(minutes=1))
    conversation = new_conversation(channel)
    routing.assign_next(conversation=conversation)
    return Conversation.objects.get(pk=conversation.pk).assignee_id


# --- presence ---------------------------------------------------------------------------------------


def test_presence_and_capacity_are_kept_per_person() -> None:
    user = make_user(Role.OPERATOR)

    routing.do_set_presence(user=user, status="away")
    routing.do_set_capacity(user=user, max_concurrent=3, teams=[" Продажи ", "Продажи", "", "Сервис"])

    status = OperatorStatus.objects.get(user=user)
    assert (status.status, status.max_concurrent, status.teams) == ("away", 3, ["Продажи", "Сервис"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda user: routing.do_set_presence(user=user, status="busy"), "status"),
        (lambda user: routing.do_set_capacity(user=user, max_concurrent=-1), "max_concurrent"),
        (lambda user: routing.do_set_capacity(user=user, max_concurrent=101), "max_concurrent"),
    ],
)
def test_bad_presence_or_capacity_is_refused(change: Any, field: str) -> None:
    user = make_user(Role.OPERATOR)
    with pytest.raises(ValidationFailed) as caught:
        change(user)
    assert caught.value.field == field


# --- round-robin ------------------------------------------------------------------------------------


def test_round_robin_skips_a_full_operator(channel: Channel, frozen: Any) -> None:
    a, b, c = online(capacity=5), online(capacity=1), online(capacity=5)

    assignees = [route(channel, frozen) for _ in range(6)]

    # b holds one at most: after the first round it is skipped; a and c keep alternating.
    assert assignees == [a.pk, b.pk, c.pk, a.pk, c.pk, a.pk]
    assert OperatorStatus.objects.get(user=a).last_assigned_at == NOW + dt.timedelta(minutes=6)


def test_the_fourth_goes_to_the_least_recently_assigned(channel: Channel, frozen: Any) -> None:
    a, b, c = online(), online(), online()
    assert [route(channel, frozen) for _ in range(3)] == [a.pk, b.pk, c.pk]
    actions.check_assign(actor=None, conversation=new_conversation(channel), assignee=a, team="")  # by hand
    OperatorStatus.objects.filter(user=b).update(last_assigned_at=NOW)  # b: longest ago now

    assert route(channel, frozen) == b.pk


def test_a_resolved_conversation_frees_capacity(channel: Channel, frozen: Any) -> None:
    only = online(capacity=1)
    first = new_conversation(channel)
    routing.assign_next(conversation=first)
    assert route(channel, frozen) is None

    actions.check_set_status(actor=None, conversation=first, status=Conversation.Status.RESOLVED)

    assert route(channel, frozen) == only.pk


@pytest.mark.parametrize("presence", ["away", "offline"])
def test_operators_not_online_are_skipped(channel: Channel, frozen: Any, presence: str) -> None:
    absent = online()
    routing.do_set_presence(user=absent, status=presence)
    here = online()

    assert [route(channel, frozen) for _ in range(2)] == [here.pk, here.pk]


def test_inactive_people_and_clerks_are_skipped(channel: Channel, frozen: Any) -> None:
    gone = online()
    gone.is_active = False
    gone.save()
    online(Role.CLERK)

    assert route(channel, frozen) is None


def test_nobody_free_leaves_it_in_the_team_queue(frozen: Any) -> None:
    sales = make_channel("telegram", team="Продажи")
    online(teams=["Сервис"])
    online(capacity=0, teams=["Продажи"])

    conversation = new_conversation(sales)
    assert routing.assign_next(conversation=conversation) is None

    stored = Conversation.objects.get(pk=conversation.pk)
    assert (stored.assignee_id, stored.team) == (None, "Продажи")


def test_a_team_conversation_goes_to_someone_in_that_team(frozen: Any) -> None:
    online(teams=["Сервис"])
    seller = online(teams=["Продажи", "Сервис"])

    assert route(make_channel("telegram", team="Продажи"), frozen) == seller.pk


def test_a_conversation_with_someone_already_is_left_alone(channel: Channel) -> None:
    online()
    mine = make_user(Role.MANAGER)
    conversation = new_conversation(channel)
    actions.check_assign(actor=None, conversation=conversation, assignee=mine, team="")

    assert routing.assign_next(conversation=conversation) is None
    assert Conversation.objects.get(pk=conversation.pk).assignee_id == mine.pk


# --- automatic, after commit ------------------------------------------------------------------------


def test_a_new_conversation_is_assigned_when_it_arrives(
    channel: Channel, django_capture_on_commit_callbacks: Any
) -> None:
    operator = online()
    customer = make_customer()

    with django_capture_on_commit_callbacks(execute=True):
        conversation = receive(channel, customer).conversation

    stored = Conversation.objects.get(pk=conversation.pk)
    assert stored.assignee_id == operator.pk
    assert list(stored.events.values_list("kind", "at")) == [(ConversationEvent.Kind.OPENED, NOW)]


def test_a_later_message_does_not_route_again(channel: Channel, django_capture_on_commit_callbacks: Any) -> None:
    customer = make_customer()
    with django_capture_on_commit_callbacks(execute=True):
        conversation = receive(channel, customer).conversation  # nobody online: it waits unassigned
    online()

    with django_capture_on_commit_callbacks(execute=True):
        receive(channel, customer)

    stored = Conversation.objects.get(pk=conversation.pk)
    assert stored.assignee_id is None
    assert stored.events.filter(kind=ConversationEvent.Kind.OPENED).count() == 1


def test_the_first_reply_is_recorded_once(channel: Channel, django_capture_on_commit_callbacks: Any) -> None:
    conversation = new_conversation(channel)
    operator = make_user(Role.OPERATOR)

    with django_capture_on_commit_callbacks(execute=True):
        actions.check_send_message(actor=operator, conversation=conversation, text="Здравствуйте!")
    with django_capture_on_commit_callbacks(execute=True):
        actions.check_send_message(actor=operator, conversation=conversation, text="Есть, 10 м.")

    events = list(conversation.events.filter(kind=ConversationEvent.Kind.FIRST_RESPONSE))
    assert [(e.at, e.actor_id) for e in events] == [(NOW, operator.pk)]


# --- SLA breaches -----------------------------------------------------------------------------------


def test_an_overdue_first_response_is_recorded_once(channel: Channel, frozen: Any) -> None:
    late = new_conversation(channel)
    answered = new_conversation(channel)
    actions.check_send_message(actor=make_user(Role.OPERATOR), conversation=answered, text="Здравствуйте!")
    resolved = new_conversation(channel)
    actions.check_set_status(actor=None, conversation=resolved, status=Conversation.Status.RESOLVED)
    frozen.shift(dt.timedelta(minutes=5))

    assert tasks.record_sla_breaches.call() == {"breached": 1}
    assert routing.record_sla_breaches(now=NOW + dt.timedelta(minutes=6)) == 0

    breaches = ConversationEvent.objects.filter(kind=ConversationEvent.Kind.SLA_BREACHED)
    assert [(e.conversation_id, e.at) for e in breaches] == [(late.pk, NOW + dt.timedelta(minutes=5))]


def test_nothing_is_overdue_before_the_target(channel: Channel) -> None:
    new_conversation(channel)

    assert routing.record_sla_breaches(now=NOW + dt.timedelta(seconds=59)) == 0
