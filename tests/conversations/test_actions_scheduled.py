"""Replies scheduled for later: the time must be ahead and inside the channel's reply window when
the reply goes; cancelling works only while no sender has claimed it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from omnia.channels.instagram.connector import InstagramConnector
from omnia.channels.whatsapp.connector import WhatsAppConnector
from omnia.conversations import actions_scheduled
from omnia.conversations.models import Conversation, Message
from omnia.core.audit import list_audit
from omnia.core.errors import Conflict, PermissionDenied, ValidationFailed
from omnia.core.permissions import Role
from tests.conversations import make_channel, make_customer, receive
from tests.factories import make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def schedule(conversation: Conversation, at: dt.datetime, *, connector: Any = None, **extra: Any) -> Message:
    capabilities = connector.capabilities if connector else None
    return actions_scheduled.check_schedule_message(
        actor=make_user(Role.OPERATOR),
        conversation=conversation,
        text=extra.pop("text", "Напоминаю о заказе"),
        send_after=at,
        window=capabilities.reply_window if capabilities else None,
        extended_window=capabilities.extended_window if capabilities else None,
        extended_tag=capabilities.extended_window_tag if capabilities else "",
        **extra,
    )


def test_a_scheduled_reply_waits_for_its_time() -> None:
    conversation = receive(make_channel("telegram"), make_customer()).conversation

    message = schedule(conversation, NOW + dt.timedelta(hours=3))

    assert (message.status, message.send_after, message.next_attempt_at) == (
        "scheduled",
        NOW + dt.timedelta(hours=3),
        NOW + dt.timedelta(hours=3),
    )


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (NOW, "SEND_AFTER_PAST"),
        (NOW - dt.timedelta(minutes=1), "SEND_AFTER_PAST"),
        (NOW + dt.timedelta(days=366), "SEND_AFTER_TOO_FAR"),
        (dt.datetime(2025, 3, 2, 10, 0), "SEND_AFTER_INVALID"),  # noqa: DTZ001 - naive on purpose
    ],
)
def test_a_time_that_is_not_ahead_is_refused(at: dt.datetime, code: str) -> None:
    conversation = receive(make_channel("telegram"), make_customer()).conversation

    with pytest.raises(ValidationFailed) as refused:
        schedule(conversation, at)

    assert (refused.value.code, refused.value.field) == (code, "send_after")
    assert not Message.objects.filter(direction="out").exists()


def test_whatsapp_replies_must_go_before_the_customers_24_hours_end(frozen: Any) -> None:
    conversation = receive(make_channel("whatsapp"), make_customer(kind="whatsapp")).conversation
    frozen.shift(dt.timedelta(hours=20))

    with pytest.raises(Conflict) as refused:
        schedule(conversation, NOW + dt.timedelta(hours=25), connector=WhatsAppConnector)
    inside = schedule(conversation, NOW + dt.timedelta(hours=23), connector=WhatsAppConnector)

    assert refused.value.code == "SCHEDULE_AFTER_WINDOW"
    assert list(Message.objects.filter(direction="out")) == [inside]
    assert Conversation.objects.get(pk=conversation.pk).waiting_since is None


def test_instagram_replies_in_the_tagged_window_must_go_within_its_seven_days(frozen: Any) -> None:
    conversation = receive(make_channel("instagram"), make_customer(kind="instagram", value="1784")).conversation
    frozen.shift(dt.timedelta(days=2))

    with pytest.raises(Conflict):
        schedule(conversation, NOW + dt.timedelta(days=7, hours=1), connector=InstagramConnector)
    tagged = schedule(conversation, NOW + dt.timedelta(days=6), connector=InstagramConnector)

    assert tagged.meta == {"tag": "HUMAN_AGENT"}


def test_the_same_form_sent_again_after_the_time_returns_the_first_message(frozen: Any) -> None:
    conversation = receive(make_channel("telegram"), make_customer()).conversation
    first = schedule(conversation, NOW + dt.timedelta(minutes=5), idempotency_key="composer-1")
    frozen.shift(dt.timedelta(minutes=10))

    again = schedule(conversation, NOW + dt.timedelta(minutes=5), idempotency_key="composer-1")

    assert again.pk == first.pk


# --- cancelling ---------------------------------------------------------------------------------------


def test_cancelling_removes_the_reply_records_it_and_the_customer_waits_again() -> None:
    conversation = receive(make_channel("telegram"), make_customer()).conversation
    message = schedule(conversation, NOW + dt.timedelta(hours=3))
    operator = make_user(Role.OPERATOR)

    actions_scheduled.check_cancel_scheduled(actor=operator, message=message)

    assert not Message.objects.filter(pk=message.pk).exists()
    entry = list_audit().first()
    assert entry is not None
    assert (entry.action, entry.actor_id, entry.changes["text"]) == (
        "message.scheduled_cancelled",
        operator.pk,
        "Напоминаю о заказе",
    )
    assert Conversation.objects.get(pk=conversation.pk).waiting_since == NOW


def test_an_answered_customer_does_not_wait_again_when_a_later_reminder_is_cancelled(frozen: Any) -> None:
    conversation = receive(make_channel("telegram"), make_customer()).conversation
    actions_scheduled.conversations_actions.check_send_message(actor=None, conversation=conversation, text="Да")
    message = schedule(conversation, NOW + dt.timedelta(hours=3))

    actions_scheduled.check_cancel_scheduled(actor=make_user(Role.OPERATOR), message=message)

    assert Conversation.objects.get(pk=conversation.pk).waiting_since is None


def test_a_reply_the_sender_has_claimed_cannot_be_cancelled() -> None:
    conversation = receive(make_channel("telegram"), make_customer()).conversation
    message = schedule(conversation, NOW + dt.timedelta(hours=3))
    # The delivery task claims it (status scheduled → queued) after the operator's page loaded it.
    Message.objects.filter(pk=message.pk).update(status=Message.Status.QUEUED)

    with pytest.raises(Conflict) as refused:
        actions_scheduled.check_cancel_scheduled(actor=make_user(Role.OPERATOR), message=message)

    assert refused.value.code == "SCHEDULED_ALREADY_SENT"
    assert Message.objects.filter(pk=message.pk, status="queued").exists()


def test_only_scheduled_replies_can_be_cancelled_and_only_by_inbox_roles() -> None:
    conversation = receive(make_channel("telegram"), make_customer()).conversation
    inbound = Message.objects.get(direction="in")
    message = schedule(conversation, NOW + dt.timedelta(hours=3))

    with pytest.raises(ValidationFailed):
        actions_scheduled.check_cancel_scheduled(actor=make_user(Role.OPERATOR), message=inbound)
    with pytest.raises(PermissionDenied):
        actions_scheduled.check_cancel_scheduled(actor=make_user(Role.CLERK), message=message)

    assert Message.objects.count() == 2
