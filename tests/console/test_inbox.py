"""The inbox as operators use it: the waiting list with its filters, one customer's thread across
channels, replying (and being refused outside the reply window), private notes, triage, access."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

from omnia.accounts.models import User
from omnia.channels import registry
from omnia.channels.base import ChannelCapabilities
from omnia.channels.models import Channel
from omnia.conversations import actions as conversations_actions
from omnia.conversations import routing
from omnia.conversations.models import Conversation, Message, OperatorStatus
from omnia.core import clock, realtime
from omnia.core.permissions import Role
from omnia.customers import actions as customers_actions
from omnia.customers.models import Customer
from tests.factories import make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}
WINDOW_CLOSED = "The customer last wrote more than 24 hours ago: choose an approved template"
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def login(user: User) -> Client:
    """A console user reading English (the texts asserted here are the English sources)."""
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def operator() -> User:
    return make_user(Role.OPERATOR)


@pytest.fixture
def client(operator: User) -> Client:
    return login(operator)


def make_channel(provider: str = "telegram", **extra: Any) -> Channel:
    n = next(_seq)
    return Channel.objects.create(provider=provider, name=f"Bot {n}", key=f"bot-{n}", created_at=clock.now(), **extra)


def make_customer(name: str) -> Customer:
    first, _, last = name.partition(" ")
    return customers_actions.check_create_customer(actor=None, first_name=first, last_name=last)


def receive(customer: Customer, channel: Channel, text: str) -> Message:
    n = next(_seq)
    message = conversations_actions.do_receive_message(
        customer=customer,
        channel=channel,
        text=text,
        sent_at=clock.now(),
        provider_message_id=f"m-{n}",
        external_chat_id=f"chat-{customer.pk}",
    )
    assert message is not None
    return message


def html(response: Any) -> str:
    return str(response.content.decode())


def listed_names(page: str) -> list[str]:
    return re.findall(r'<span class="conversation-name">([^<]*)</span>', page)


@pytest.fixture
def telegram() -> Channel:
    return make_channel("telegram")


@pytest.fixture
def windowed() -> Iterator[str]:
    """A provider with a 24-hour reply window (a test double in the registry, removed afterwards)."""

    class WindowedConnector:
        provider = "whatsapp"
        capabilities = ChannelCapabilities(reply_window=dt.timedelta(hours=24), needs_template_outside_window=True)

    previous = registry.CONNECTORS.get("whatsapp")
    registry.CONNECTORS["whatsapp"] = WindowedConnector()  # type: ignore[assignment]
    yield "whatsapp"
    if previous is None:
        registry.CONNECTORS.pop("whatsapp", None)
    else:
        registry.CONNECTORS["whatsapp"] = previous


# --- the list --------------------------------------------------------------------------------------


def test_the_list_shows_the_longest_waiting_first_with_waiting_time_and_unread_counts(
    client: Client, telegram: Channel, frozen: Any
) -> None:
    # Given: Aigerim wrote 25 minutes ago (twice), Dmitry 5 minutes ago, Yerzhan was answered.
    aigerim, dmitry, yerzhan = make_customer("Aigerim S"), make_customer("Dmitry K"), make_customer("Yerzhan A")
    receive(yerzhan, telegram, "Hello")
    frozen.shift(dt.timedelta(minutes=5))
    receive(aigerim, telegram, "Is the garland in stock?")
    receive(aigerim, telegram, "Hello?")
    conversations_actions.check_send_message(
        actor=make_user(Role.OPERATOR), conversation=yerzhan.conversations.get(), text="Yes"
    )
    frozen.shift(dt.timedelta(minutes=20))
    receive(dmitry, telegram, "Where is my order?")
    frozen.shift(dt.timedelta(minutes=5))

    page = html(client.get(reverse("console:inbox")))

    assert listed_names(page) == ["Aigerim S", "Dmitry K", "Yerzhan A"]
    rows = page.split('data-testid="conversation"')[1:]
    assert "25 min" in rows[0]
    assert "5 min" in rows[1]
    assert re.search(r'data-testid="unread"[^>]*>2<', rows[0])
    assert re.search(r'data-testid="unread"[^>]*>1<', rows[1])
    assert 'data-testid="waiting"' not in rows[2]
    assert 'data-testid="unread"' not in rows[2]
    assert "Hello?" in rows[0]  # the last message is previewed
    # The first answer was due after a minute: both waiting conversations are overdue.
    assert "sla-overdue" in rows[0]


def test_a_conversation_within_its_first_response_target_is_not_overdue(client: Client) -> None:
    channel = make_channel(first_response_minutes=30)
    receive(make_customer("Aigerim S"), channel, "Hi")

    page = html(client.get(reverse("console:inbox")))

    assert "sla-waiting" in page
    assert "sla-overdue" not in page


def test_filters_narrow_the_list(client: Client, operator: User, telegram: Channel) -> None:
    email = make_channel("email", team="Sales")
    mine = receive(make_customer("Mine Customer"), telegram, "1").conversation
    receive(make_customer("Nobody Customer"), telegram, "2")
    by_mail = receive(make_customer("Mail Customer"), email, "3").conversation
    pending = receive(make_customer("Pending Customer"), telegram, "4").conversation
    conversations_actions.check_assign(actor=None, conversation=mine, assignee=operator, team=None)
    conversations_actions.do_set_labels(actor=None, conversation=by_mail, labels=["Refund"])
    conversations_actions.check_set_status(actor=None, conversation=pending, status="pending")

    def names(**params: str) -> list[str]:
        return sorted(listed_names(html(client.get(reverse("console:inbox_list"), params, **HTMX))))

    assert names() == ["Mail Customer", "Mine Customer", "Nobody Customer"]
    assert names(status="pending") == ["Pending Customer"]
    assert names(who="mine") == ["Mine Customer"]
    assert names(who="unassigned") == ["Mail Customer", "Nobody Customer"]
    assert names(channel=str(email.pk)) == ["Mail Customer"]
    assert names(team="Sales") == ["Mail Customer"]
    assert names(label="refund") == ["Mail Customer"]
    assert names(status="nonsense", who="nonsense") == names()  # junk falls back to the defaults


def test_the_list_refreshes_itself_on_inbox_events(client: Client) -> None:
    page = html(client.get(reverse("console:inbox")))

    assert re.search(r'data-topics="inbox"', page)
    assert "omnia:inbox[detail.topic==&#x27;inbox&#x27;]" in page or "omnia:inbox[detail.topic=='inbox']" in page


# --- the thread ------------------------------------------------------------------------------------


def test_the_thread_shows_every_channel_of_the_customer_in_order_and_marks_it_read(
    client: Client, telegram: Channel, frozen: Any
) -> None:
    email = make_channel("email")
    aigerim = make_customer("Aigerim S")
    first = receive(aigerim, telegram, "Telegram first").conversation
    frozen.shift(dt.timedelta(minutes=1))
    receive(aigerim, email, "Then an e-mail")
    frozen.shift(dt.timedelta(minutes=1))
    receive(aigerim, telegram, "Telegram again")
    receive(make_customer("Someone Else"), telegram, "Not hers")

    response = client.get(reverse("console:inbox_conversation", args=[first.pk]))

    page = html(response)
    thread = page[page.index('id="thread-messages"') : page.index("</ol>", page.index('id="thread-messages"'))]
    assert [t for t in ("Telegram first", "Then an e-mail", "Telegram again") if t in thread] == [
        "Telegram first",
        "Then an e-mail",
        "Telegram again",
    ]
    assert thread.index("Telegram first") < thread.index("Then an e-mail") < thread.index("Telegram again")
    assert "Not hers" not in thread
    assert "chip-email" in thread
    assert "chip-telegram" in thread
    assert f"inbox inbox:conversation:{first.pk}" in page  # subscribed to this conversation's events
    assert 'data-testid="customer-card"' in page
    assert "Aigerim S" in page
    assert Conversation.objects.get(pk=first.pk).unread_count == 0


def test_delivery_ticks_errors_and_attachments_are_shown(client: Client, telegram: Channel) -> None:
    aigerim = make_customer("Aigerim S")
    conversations_actions.do_receive_message(
        customer=aigerim,
        channel=telegram,
        text="See the photo",
        sent_at=clock.now(),
        provider_message_id="photo-1",
        external_chat_id="chat",
        attachments=[{"kind": "image", "file_name": "garland.jpg", "mime_type": "image/jpeg"}],
    )
    conversation = aigerim.conversations.get()
    actor = make_user(Role.OPERATOR)
    read, failed = (
        conversations_actions.check_send_message(actor=actor, conversation=conversation, text=text)
        for text in ("Read reply", "Failed reply")
    )
    conversations_actions.do_record_send_result(message=read, provider_message_id="p-1")
    conversations_actions.do_update_delivery_status(channel=telegram, provider_message_id="p-1", status="read")
    conversations_actions.do_record_send_result(message=failed, error="Forbidden: bot was blocked by the user")

    page = html(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))

    assert "garland.jpg" in page
    assert "image" in page
    assert re.search(rf'data-message="{read.pk}"[^>]*data-status="read"', page)
    assert "tick-read" in page
    assert "tick-failed" in page
    assert "Forbidden: bot was blocked by the user" in page


def test_sending_queues_an_outbound_message_and_delivery_is_handed_on_after_commit(
    client: Client, operator: User, telegram: Channel, django_capture_on_commit_callbacks: Any
) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("console:inbox_send", args=[conversation.pk]), {"text": "Yes, we have it"}, **HTMX
        )

    assert response.status_code == 200
    sent = Message.objects.get(direction="out")
    assert (sent.text, sent.status, sent.kind, sent.author_id) == ("Yes, we have it", "queued", "text", operator.pk)
    assert callbacks  # the delivery task is enqueued only after commit (not run here: no connector)
    assert "Yes, we have it" in html(response)
    assert "tick-queued" in html(response)
    stored = Conversation.objects.get(pk=conversation.pk)
    assert stored.waiting_since is None
    assert stored.assignee_id == operator.pk


def test_the_same_form_sent_twice_queues_one_message(client: Client, telegram: Channel) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation
    form = {"text": "Once", "idempotency_key": "composer-abc"}

    for _ in range(2):
        client.post(reverse("console:inbox_send", args=[conversation.pk]), form, **HTMX)

    assert Message.objects.filter(direction="out").count() == 1


def test_a_private_note_is_stored_as_a_note_and_shown_apart(client: Client, telegram: Channel) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation

    response = client.post(
        reverse("console:inbox_send", args=[conversation.pk]), {"text": "VIP, be kind", "note": "1"}, **HTMX
    )

    note = Message.objects.get(direction="out")
    assert (note.kind, note.text) == ("note", "VIP, be kind")
    assert re.search(r'class="msg msg-note[^"]*"[^>]*data-kind="note"', html(response))
    assert "Private note" in html(response)


def test_an_empty_reply_is_refused(client: Client, telegram: Channel) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation

    response = client.post(reverse("console:inbox_send", args=[conversation.pk]), {"text": "  "}, **HTMX)

    assert "Write a message first." in html(response)
    assert not Message.objects.filter(direction="out").exists()


def test_free_text_outside_the_reply_window_is_refused_with_the_reason(
    client: Client, windowed: str, frozen: Any, django_capture_on_commit_callbacks: Any
) -> None:
    conversation = receive(make_customer("Aigerim S"), make_channel(windowed), "Hi").conversation
    frozen.shift(dt.timedelta(hours=25))
    url = reverse("console:inbox_send", args=[conversation.pk])

    shown = html(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        refused = client.post(url, {"text": "Still there?"}, **HTMX)
        plain = client.post(url, {"text": "Still there?"})

    assert WINDOW_CLOSED in shown  # said before the operator even types
    assert WINDOW_CLOSED in html(refused)
    assert plain.status_code == 422
    assert WINDOW_CLOSED in html(plain)
    assert "Still there?" in html(refused)  # the draft is kept
    assert not Message.objects.filter(direction="out").exists()
    assert not callbacks


def test_within_the_reply_window_free_text_is_queued(client: Client, windowed: str, frozen: Any) -> None:
    conversation = receive(make_customer("Aigerim S"), make_channel(windowed), "Hi").conversation
    frozen.shift(dt.timedelta(hours=23))

    client.post(reverse("console:inbox_send", args=[conversation.pk]), {"text": "Yes"}, **HTMX)

    assert Message.objects.get(direction="out").status == "queued"


# --- two operators, one conversation -------------------------------------------------------------


def test_a_conversation_someone_else_took_is_flagged_and_a_reply_needs_confirmation(
    client: Client, telegram: Channel
) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation
    page = html(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))
    colleague = make_user(Role.OPERATOR)
    # The colleague takes it after this operator opened the page.
    conversations_actions.check_assign(actor=None, conversation=conversation, assignee=colleague, team=None)
    url = reverse("console:inbox_send", args=[conversation.pk])
    seen = re.search(r'name="assignee_seen" value="([^"]*)"', page)
    assert seen is not None
    assert seen.group(1) == ""

    refused = client.post(url, {"text": "Hello", "assignee_seen": ""}, **HTMX)

    assert f"{colleague.display_name} is assigned — reply anyway?" in html(refused)
    assert not Message.objects.filter(direction="out").exists()
    again = re.search(r'name="assignee_seen" value="([^"]*)"', html(refused))
    assert again is not None
    assert again.group(1) == str(colleague.pk)

    client.post(url, {"text": "Hello", "assignee_seen": again.group(1)}, **HTMX)

    assert Message.objects.filter(direction="out", text="Hello").count() == 1
    header = html(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))
    assert f"Assigned to {colleague.display_name}" in header
    assert "reply anyway?" in header  # the composer asks before sending (hx-confirm)


def test_assign_to_me_status_priority_and_labels(client: Client, operator: User, telegram: Channel) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation
    args = [conversation.pk]

    client.post(reverse("console:inbox_assign", args=args), {"assignee": "me", "team": ""}, **HTMX)
    client.post(reverse("console:inbox_labels", args=args), {"labels": "Delivery, refund"}, **HTMX)
    client.post(reverse("console:inbox_priority", args=args), {"priority": "3"}, **HTMX)
    head = client.post(reverse("console:inbox_status", args=args), {"status": "pending"}, **HTMX)

    stored = Conversation.objects.get(pk=conversation.pk)
    assert (stored.assignee_id, stored.labels, stored.priority, stored.status) == (
        operator.pk,
        ["delivery", "refund"],
        3,
        "pending",
    )
    assert 'id="thread-head"' in html(head)
    assert "Assigned to you" in html(head)


def test_snoozing_needs_a_future_time(client: Client, telegram: Channel) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation
    url = reverse("console:inbox_status", args=[conversation.pk])

    past = client.post(url, {"status": "snoozed", "snoozed_until": "2020-01-01T10:00"}, **HTMX)
    client.post(url, {"status": "snoozed", "snoozed_until": "2025-03-02T10:00"}, **HTMX)

    assert "Snooze until a time in the future." in html(past)
    stored = Conversation.objects.get(pk=conversation.pk)
    assert stored.status == "snoozed"
    assert stored.snoozed_until is not None
    assert stored.snoozed_until > NOW


def test_the_thread_refresh_returns_the_timeline_and_the_header(client: Client, telegram: Channel) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation
    receive(conversation.customer, telegram, "Anyone?")

    response = client.get(reverse("console:inbox_messages", args=[conversation.pk]), **HTMX)

    assert 'id="thread-messages"' in html(response)
    assert "Anyone?" in html(response)
    assert 'id="thread-head" class="thread-head" hx-swap-oob="true"' in html(response)
    assert Conversation.objects.get(pk=conversation.pk).unread_count == 0


# --- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER, Role.OPERATOR])
def test_inbox_roles_open_it(role: str) -> None:
    assert login(make_user(role)).get(reverse("console:inbox")).status_code == 200


def test_a_clerk_gets_403_everywhere_in_the_inbox(telegram: Channel) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation
    clerk = login(make_user(Role.CLERK))

    assert clerk.get(reverse("console:inbox")).status_code == 403
    assert clerk.get(reverse("console:inbox_conversation", args=[conversation.pk])).status_code == 403
    assert clerk.post(reverse("console:inbox_send", args=[conversation.pk]), {"text": "x"}).status_code == 403
    assert not Message.objects.filter(direction="out").exists()


def test_an_unknown_conversation_is_404(client: Client) -> None:
    assert client.get(reverse("console:inbox_conversation", args=[999999])).status_code == 404


# --- presence ---------------------------------------------------------------------------------------


def test_the_operator_sets_their_presence_from_the_inbox_and_sees_it(client: Client, operator: User) -> None:
    page = html(client.get(reverse("console:inbox")))
    assert 'data-presence="offline"' in page  # never set: routing treats them as offline
    assert "No new conversations come to you" in page

    response = client.post(reverse("console:inbox_presence"), {"status": "online"}, **HTMX)

    assert 'data-presence="online"' in html(response)
    assert re.search(r'value="online" checked', html(response))
    assert "New conversations come to you, up to 5 open at once" in html(response)
    assert 'data-presence="online"' in html(client.get(reverse("console:inbox")))  # and on every inbox page
    client.post(reverse("console:inbox_presence"), {"status": "away"}, **HTMX)
    assert OperatorStatus.objects.get(user=operator).status == "away"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"status": "busy"}, "Choose online, away or offline."),
        ({"max_concurrent": "many"}, "Give a number of conversations from 0 to 100."),
        ({"max_concurrent": "500"}, "Give a number of conversations from 0 to 100."),
    ],
)
def test_bad_presence_input_is_refused_and_changes_nothing(
    client: Client, operator: User, form: dict[str, str], error: str
) -> None:
    routing.do_set_presence(user=operator, status="online")

    response = client.post(reverse("console:inbox_presence"), form, **HTMX)

    assert error in html(response)
    stored = OperatorStatus.objects.get(user=operator)
    assert (stored.status, stored.max_concurrent) == ("online", 5)


def test_capacity_is_set_from_the_inbox(client: Client, operator: User) -> None:
    response = client.post(reverse("console:inbox_presence"), {"max_concurrent": "2"}, **HTMX)

    assert OperatorStatus.objects.get(user=operator).max_concurrent == 2
    assert 'value="2"' in html(response)


def test_without_javascript_the_presence_form_returns_to_the_inbox_page(client: Client, operator: User) -> None:
    response = client.post(reverse("console:inbox_presence"), {"status": "online", "next": "https://evil.test/"})

    assert response.status_code == 302
    assert response["Location"] == reverse("console:inbox")


def test_only_an_online_operator_gets_new_conversations(
    client: Client, operator: User, telegram: Channel, django_capture_on_commit_callbacks: Any
) -> None:
    client.post(reverse("console:inbox_presence"), {"status": "away"}, **HTMX)
    with django_capture_on_commit_callbacks(execute=True):
        while_away = receive(make_customer("Aigerim S"), telegram, "Hi").conversation

    client.post(reverse("console:inbox_presence"), {"status": "online"}, **HTMX)
    with django_capture_on_commit_callbacks(execute=True):
        while_online = receive(make_customer("Dmitry K"), telegram, "Hi").conversation

    assert Conversation.objects.get(pk=while_away.pk).assignee_id is None
    assert Conversation.objects.get(pk=while_online.pk).assignee_id == operator.pk


def test_colleagues_presence_is_shown_next_to_their_names(client: Client, telegram: Channel) -> None:
    colleague = make_user(Role.OPERATOR)
    routing.do_set_presence(user=colleague, status="away")
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation
    conversations_actions.check_assign(actor=None, conversation=conversation, assignee=colleague, team=None)

    page = html(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))

    assert f"Assigned to {colleague.display_name} (away right now)." in page
    assert f"{colleague.display_name} (away)</option>" in page
    row = page.split('data-testid="conversation"')[1]
    assert 'data-presence="away"' in row


# --- the first-response clock --------------------------------------------------------------------------


def sla_clock(page: str) -> str:
    found = re.findall(r'<span class="sla-clock[^"]*" data-testid="sla"[^>]*>([^<]*)</span>', page)
    return found[0] if found else ""


def test_an_unanswered_conversation_counts_down_to_its_first_response_target(client: Client, frozen: Any) -> None:
    channel = make_channel(first_response_minutes=30)
    conversation = receive(make_customer("Aigerim S"), channel, "Hi").conversation
    frozen.shift(dt.timedelta(minutes=12))

    page = html(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))

    head = page[page.index('id="thread-head"') :]
    listed = page[page.index('data-testid="conversation"') : page.index('id="thread-head"')]
    assert sla_clock(listed) == "18 min left"
    assert sla_clock(head) == "18 min left"
    due = NOW + dt.timedelta(minutes=30)
    assert f'data-due-ms="{int(due.timestamp() * 1000)}"' in head  # console.js ticks from here
    assert f'data-now-ms="{int((NOW + dt.timedelta(minutes=12)).timestamp() * 1000)}"' in head


def test_a_breached_target_reads_overdue_and_an_answered_conversation_shows_no_clock(
    client: Client, frozen: Any
) -> None:
    channel = make_channel(first_response_minutes=30)
    late = receive(make_customer("Aigerim S"), channel, "Hi").conversation
    answered = receive(make_customer("Dmitry K"), channel, "Hi").conversation
    conversations_actions.check_send_message(actor=make_user(Role.OPERATOR), conversation=answered, text="Hello")
    frozen.shift(dt.timedelta(hours=2, minutes=5))

    late_page = html(client.get(reverse("console:inbox_conversation", args=[late.pk])))
    answered_page = html(client.get(reverse("console:inbox_conversation", args=[answered.pk])))

    assert sla_clock(late_page) == "overdue by 1 h 35 min"
    assert "sla-clock-overdue" in late_page
    head = answered_page[answered_page.index('id="thread-head"') :]
    assert 'data-testid="sla"' not in head


def test_the_clock_is_only_for_open_conversations(client: Client, telegram: Channel) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation
    conversations_actions.check_set_status(actor=None, conversation=conversation, status="pending")

    page = html(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))

    assert 'data-testid="sla"' not in page


# --- status changes made elsewhere ---------------------------------------------------------------------


def test_a_status_change_elsewhere_is_pushed_and_the_refresh_shows_it(
    client: Client,
    telegram: Channel,
    frozen: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation
    page = html(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))
    pushed: list[tuple[str, str, dict[str, Any]]] = []
    monkeypatch.setattr(realtime, "broadcast", lambda topic, kind, data: pushed.append((topic, kind, data)))

    # A colleague snoozes it; later the scheduler wakes it up.
    with django_capture_on_commit_callbacks(execute=True):
        conversations_actions.check_set_status(
            actor=None, conversation=conversation, status="snoozed", snoozed_until=NOW + dt.timedelta(hours=1)
        )
    snoozed = html(client.get(reverse("console:inbox_messages", args=[conversation.pk]), **HTMX))
    frozen.shift(dt.timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        conversations_actions.do_wake_snoozed(now=clock.now())
    woken = html(client.get(reverse("console:inbox_messages", args=[conversation.pk]), **HTMX))

    # The open page listens for inbox events about this customer and re-fetches the thread + head.
    assert f"detail.data.customer_id=={conversation.customer_id}" in page
    statuses = [(kind, data["status"]) for topic, kind, data in pushed if topic == "inbox"]
    assert statuses == [("conversation.status", "snoozed"), ("conversation.status", "open")]
    assert all(data["customer_id"] == conversation.customer_id for _, _, data in pushed)
    assert 'data-status="snoozed"' in snoozed
    assert 'id="thread-head" class="thread-head" hx-swap-oob="true"' in snoozed
    assert 'data-status="open"' in woken


# --- send later ------------------------------------------------------------------------------------------


def schedule(client: Client, conversation: Conversation, when: str, text: str = "Your order is ready") -> Any:
    return client.post(
        reverse("console:inbox_send", args=[conversation.pk]),
        {"text": text, "schedule": "1", "send_after": when},
        **HTMX,
    )


def test_a_reply_scheduled_in_local_time_waits_in_the_thread_until_then(
    client: Client, telegram: Channel, django_capture_on_commit_callbacks: Any
) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation

    # 09:00 UTC is 14:00 in Almaty; the operator picks 18:30 there.
    with django_capture_on_commit_callbacks(execute=False):
        response = schedule(client, conversation, "2025-03-01T18:30")

    message = Message.objects.get(direction="out")
    assert (message.status, message.text) == ("scheduled", "Your order is ready")
    assert message.send_after == dt.datetime(2025, 3, 1, 13, 30, tzinfo=dt.UTC)
    assert re.search(rf'data-message="{message.pk}"[^>]*data-status="scheduled"', html(response))
    assert "Scheduled for 03/01/2025 6:30 p.m." in html(response)
    assert 'data-testid="cancel-scheduled"' in html(response)
    assert 'data-testid="composer-error"' not in html(response)


@pytest.mark.parametrize(
    ("when", "error"),
    [
        ("2025-03-01T13:59", "Choose a time in the future."),
        ("", "Choose the date and time to send it."),
        ("tomorrow", "Choose the date and time to send it."),
        ("2026-03-02T10:00", "Schedule it at most a year ahead."),
    ],
)
def test_a_schedule_time_that_is_not_ahead_is_refused(client: Client, telegram: Channel, when: str, error: str) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation

    response = schedule(client, conversation, when)

    assert error in html(response)
    assert "Your order is ready" in html(response)  # the draft is kept
    assert not Message.objects.filter(direction="out").exists()
    assert Conversation.objects.get(pk=conversation.pk).waiting_since is not None


def test_a_private_note_cannot_be_scheduled(client: Client, telegram: Channel) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation

    response = client.post(
        reverse("console:inbox_send", args=[conversation.pk]),
        {"text": "Call back", "note": "1", "schedule": "1", "send_after": "2025-03-01T18:00"},
        **HTMX,
    )

    assert "A private note cannot be scheduled." in html(response)
    assert not Message.objects.filter(direction="out").exists()


def test_a_whatsapp_reply_cannot_be_scheduled_past_the_customers_24_hours(client: Client, frozen: Any) -> None:
    conversation = receive(make_customer("Aigerim S"), make_channel("whatsapp"), "Hi").conversation
    frozen.shift(dt.timedelta(hours=20))  # 05:00 UTC next day = 10:00 in Almaty; the window ends at 14:00

    late = schedule(client, conversation, "2025-03-02T15:00")
    within = schedule(client, conversation, "2025-03-02T13:00", text="Within the window")

    assert "reply window closes before that time: schedule it earlier or send it now." in html(late)
    assert list(Message.objects.filter(direction="out").values_list("text", flat=True)) == ["Within the window"]
    assert within.status_code == 200


def test_a_scheduled_reply_can_be_cancelled_before_it_goes(client: Client, telegram: Channel) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation
    schedule(client, conversation, "2025-03-01T18:30")
    message = Message.objects.get(direction="out")
    assert Conversation.objects.get(pk=conversation.pk).waiting_since is None

    response = client.post(reverse("console:inbox_cancel_scheduled", args=[conversation.pk, message.pk]), **HTMX)

    assert not Message.objects.filter(pk=message.pk).exists()
    assert "Your order is ready" not in html(response)
    assert 'id="thread-messages"' in html(response)
    assert Conversation.objects.get(pk=conversation.pk).waiting_since == NOW  # the customer waits again


def test_a_reply_already_picked_up_for_sending_cannot_be_cancelled(
    client: Client, telegram: Channel, frozen: Any
) -> None:
    conversation = receive(make_customer("Aigerim S"), telegram, "Hi").conversation
    schedule(client, conversation, "2025-03-01T18:30")
    message = Message.objects.get(direction="out")
    page = html(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))
    # The sender claims it (what channels.delivery does at the time) while the page is still open.
    Message.objects.filter(pk=message.pk, status="scheduled").update(status="queued")

    response = client.post(reverse("console:inbox_cancel_scheduled", args=[conversation.pk, message.pk]), **HTMX)

    assert 'data-testid="cancel-scheduled"' in page
    assert "It has already gone out: too late to cancel." in html(response)
    assert Message.objects.filter(pk=message.pk, status="queued").exists()


def test_only_replies_in_this_customers_thread_can_be_cancelled(client: Client, telegram: Channel) -> None:
    mine = receive(make_customer("Aigerim S"), telegram, "Hi").conversation
    other = receive(make_customer("Dmitry K"), telegram, "Hi").conversation
    scheduled = conversations_actions.check_send_message(
        actor=None, conversation=other, text="Later", send_after=NOW + dt.timedelta(hours=1)
    )

    response = client.post(reverse("console:inbox_cancel_scheduled", args=[mine.pk, scheduled.pk]), **HTMX)

    assert response.status_code == 404
    assert Message.objects.filter(pk=scheduled.pk).exists()


# --- replying through another channel ------------------------------------------------------------------


@pytest.fixture
def instagram_customer() -> tuple[Channel, Channel, Conversation]:
    """Aigerim wrote on Instagram; her card also has a Telegram handle."""
    instagram, other_telegram = make_channel("instagram"), make_channel("telegram")
    customer = customers_actions.check_create_customer(
        actor=None, first_name="Aigerim", last_name="S", identities=[("instagram", "1784100"), ("telegram", "5550001")]
    )
    return instagram, other_telegram, receive(customer, instagram, "Do you have size M?").conversation


def reply_via_options(page: str) -> list[str]:
    select = page[page.index('name="via"') : page.index("</select>", page.index('name="via"'))]
    return re.findall(r"<option [^>]*>([^<]*)</option>", select)


def test_the_composer_offers_the_customers_other_channels_and_says_why_one_is_unavailable(
    client: Client, instagram_customer: tuple[Channel, Channel, Conversation]
) -> None:
    instagram, telegram, conversation = instagram_customer
    whatsapp = make_channel("whatsapp")
    customers_actions.check_add_identity(customer=conversation.customer, kind="whatsapp", value="+77015551234")
    customers_actions.check_record_consent(
        customer=conversation.customer,
        channel="whatsapp",
        purpose="transactional",
        granted=False,
        source="WhatsApp",
        method="STOP reply",
    )

    page = html(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))

    options = reply_via_options(page)
    assert options[0] == f"Instagram · {instagram.name} — this conversation"
    assert f"Telegram · {telegram.name}" in options
    assert f"WhatsApp · {whatsapp.name} — unavailable: the customer withdrew consent" in options
    assert re.search(rf'<option value="{whatsapp.pk}"[^>]* disabled>', page)
    assert re.search(rf'<option value="{instagram.pk}"[^>]* selected', page)


def test_a_reply_through_another_channel_goes_there_and_the_thread_says_so(
    client: Client, instagram_customer: tuple[Channel, Channel, Conversation]
) -> None:
    _, telegram, conversation = instagram_customer

    response = client.post(
        reverse("console:inbox_send", args=[conversation.pk]), {"text": "Yes, M is here", "via": telegram.pk}, **HTMX
    )

    sent = Message.objects.get(direction="out")
    assert (sent.channel_id, sent.reply_to, sent.meta) == (telegram.pk, "5550001", {"switched_from": "instagram"})
    assert "via Telegram (instead of Instagram)" in html(response)
    assert re.search(rf'<option value="{telegram.pk}"[^>]* selected', html(response))  # the next reply too


def test_no_reply_through_a_channel_the_customer_withdrew_consent_for(
    client: Client, instagram_customer: tuple[Channel, Channel, Conversation]
) -> None:
    _, telegram, conversation = instagram_customer
    customers_actions.check_record_consent(
        customer=conversation.customer,
        channel="telegram",
        purpose="transactional",
        granted=False,
        source="Telegram",
        method="asked the operator",
    )

    response = client.post(
        reverse("console:inbox_send", args=[conversation.pk]), {"text": "Hello", "via": telegram.pk}, **HTMX
    )

    assert "The customer withdrew consent to messages through that channel." in html(response)
    assert not Message.objects.filter(direction="out").exists()


def test_no_reply_through_a_channel_that_cannot_reach_the_customer(
    client: Client, instagram_customer: tuple[Channel, Channel, Conversation]
) -> None:
    _, _, conversation = instagram_customer
    email = make_channel("email")

    unreachable = client.post(
        reverse("console:inbox_send", args=[conversation.pk]), {"text": "Hello", "via": email.pk}, **HTMX
    )
    unknown = client.post(
        reverse("console:inbox_send", args=[conversation.pk]), {"text": "Hello", "via": "999999"}, **HTMX
    )

    assert "That channel cannot reach the customer" in html(unreachable)
    assert "There is no such channel." in html(unknown)
    assert not Message.objects.filter(direction="out").exists()


def test_the_window_of_the_chosen_channel_applies(client: Client, frozen: Any) -> None:
    # She wrote on Telegram (no window) and has a WhatsApp number she never wrote from.
    telegram, whatsapp = make_channel("telegram"), make_channel("whatsapp")
    customer = customers_actions.check_create_customer(
        actor=None, first_name="Aigerim", identities=[("whatsapp", "+77015551234")]
    )
    conversation = receive(customer, telegram, "Hi").conversation

    page = html(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))
    refused = client.post(
        reverse("console:inbox_send", args=[conversation.pk]), {"text": "Hello", "via": whatsapp.pk}, **HTMX
    )

    closed = "The customer has not written through WhatsApp within 24 hours: only a template can go there"
    assert re.search(rf'<option value="{whatsapp.pk}"[^>]*data-window="closed" data-note="{closed}"', page)
    assert re.search(r'id="composer-window"[^>]*hidden', page)  # Telegram, chosen first, has no window
    assert closed in html(refused)
    assert not Message.objects.filter(direction="out").exists()


def test_instagram_after_a_day_says_the_reply_goes_tagged_and_sends_it_so(
    client: Client, instagram_customer: tuple[Channel, Channel, Conversation], frozen: Any
) -> None:
    _, _, conversation = instagram_customer
    frozen.shift(dt.timedelta(days=3))

    page = html(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))
    response = client.post(reverse("console:inbox_send", args=[conversation.pk]), {"text": "Found it"}, **HTMX)

    assert "the reply goes with the Human Agent tag (allowed up to 7 days after their last message)" in page
    assert Message.objects.get(direction="out").meta == {"tag": "HUMAN_AGENT"}
    assert "sent with the Human Agent tag" in html(response)


def test_the_thread_shows_e_mail_subjects_and_automatic_replies(client: Client) -> None:
    email = make_channel("email")
    customer = make_customer("Aigerim S")
    first = conversations_actions.do_receive_message(
        customer=customer,
        channel=email,
        text="Where is my parcel?",
        sent_at=clock.now(),
        provider_message_id="<a@mail>",
        external_chat_id="a@example.kz",
        threaded=True,
        meta={"subject": "Order 1042"},
    )
    assert first is not None
    conversations_actions.do_receive_message(
        customer=customer,
        channel=email,
        text="I am on holiday until Monday",
        sent_at=clock.now(),
        provider_message_id="<ooo@mail>",
        external_chat_id="a@example.kz",
        threaded=True,
        references=["<a@mail>"],
        automatic=True,
    )

    page = html(client.get(reverse("console:inbox_conversation", args=[first.conversation_id])))

    assert re.search(r'data-testid="subject">Subject: <strong>Order 1042</strong>', page)
    assert re.search(r'class="msg msg-in msg-automatic"', page)
    assert 'data-testid="automatic">Automatic reply<' in page
