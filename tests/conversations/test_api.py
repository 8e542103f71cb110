"""The inbox API contract: shapes, filters, replies through the outbox (idempotent, reply window),
notes, triage, permissions and the error shape."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

from omnia.accounts.models import ApiToken
from omnia.channels.models import Channel
from omnia.conversations import actions
from omnia.conversations.models import Conversation, Message
from omnia.core.permissions import Role
from omnia.customers import actions as customers_actions
from omnia.customers.models import Customer
from tests.conversations import make_channel, make_customer, receive
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
CONVERSATION_KEYS = {
    "id", "customer_id", "channel", "channel_id", "channel_name", "status", "priority", "assignee", "team",
    "labels", "unread_count", "waiting_since", "first_response_due", "first_response_at", "last_message_at",
    "snoozed_until", "resolved_at", "created_at",
}  # fmt: skip
MESSAGE_KEYS = {
    "id", "conversation_id", "direction", "kind", "channel", "text", "attachments", "template", "status", "error",
    "author", "author_name", "created_at", "sent_at", "send_after", "channel_id", "subject", "tag", "automatic",
}  # fmt: skip


def call(client: Client, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return getattr(client, method)(f"/api/v1{path}", content_type="application/json", **headers, **kwargs)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field


@pytest.fixture(autouse=True)
def frozen() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def operator() -> Any:
    return make_user(Role.OPERATOR)


@pytest.fixture
def token(operator: Any) -> str:
    token = make_token(role=Role.OPERATOR, scopes=["inbox:write"], name="Inbox bot")
    # Replies and notes are authored by the token's creator.
    ApiToken.objects.filter(name="Inbox bot").update(created_by=operator)
    return token


@pytest.fixture
def telegram() -> Channel:
    return make_channel("telegram", team="support")


@pytest.fixture
def customer() -> Customer:
    return make_customer()


@pytest.fixture
def conversation(telegram: Channel, customer: Customer) -> Conversation:
    return receive(telegram, customer).conversation


# --- list ------------------------------------------------------------------------------------------


def test_list_shape(client: Client, token: str, conversation: Conversation, telegram: Channel) -> None:
    page = ok(call(client, "get", "/conversations", token))

    assert set(page) == {"items", "next"}
    assert page["next"] is None
    [item] = page["items"]
    assert set(item) == CONVERSATION_KEYS
    assert item["id"] == conversation.pk
    assert item["customer_id"] == conversation.customer_id
    assert (item["channel"], item["channel_id"], item["channel_name"]) == ("telegram", telegram.pk, telegram.name)
    assert (item["status"], item["priority"], item["assignee"], item["team"]) == ("open", "normal", None, "support")
    assert item["unread_count"] == 1
    assert item["waiting_since"] == item["last_message_at"] == "2025-03-01T09:00:00Z"
    assert item["first_response_due"] == "2025-03-01T09:01:00Z"


def test_list_leaves_resolved_out_unless_asked(client: Client, token: str, telegram: Channel) -> None:
    open_one = receive(telegram, make_customer()).conversation
    done = receive(telegram, make_customer()).conversation
    actions.check_set_status(actor=None, conversation=done, status="resolved")

    def ids(**query: Any) -> set[int]:
        return {c["id"] for c in ok(call(client, "get", "/conversations", token, data=query))["items"]}

    assert ids() == {open_one.pk}
    assert ids(status="resolved") == {done.pk}
    assert ids(status="all") == {open_one.pk, done.pk}
    assert ids(status="open") == {open_one.pk}


def test_an_unknown_status_filter_is_refused(client: Client, token: str) -> None:
    assert_error(call(client, "get", "/conversations", token, data={"status": "closed"}), 422, "VALIDATION_FAILED")


def test_list_filters(client: Client, token: str, telegram: Channel, operator: Any) -> None:
    webchat = make_channel("webchat")
    mine = receive(telegram, make_customer()).conversation
    theirs = receive(webchat, make_customer()).conversation
    nobodys = receive(webchat, make_customer()).conversation
    actions.check_assign(actor=None, conversation=mine, assignee=operator, team="sales")
    actions.check_assign(actor=None, conversation=theirs, assignee=make_user(Role.MANAGER), team="")
    actions.do_set_labels(actor=None, conversation=mine, labels=["VIP", "Доставка"])
    actions.do_set_labels(actor=None, conversation=nobodys, labels=["vipish"])

    def ids(**query: Any) -> set[int]:
        return {c["id"] for c in ok(call(client, "get", "/conversations", token, data=query))["items"]}

    assert ids(customer=mine.customer_id) == {mine.pk}
    assert ids(channel="webchat") == {theirs.pk, nobodys.pk}
    assert ids(channel_id=telegram.pk) == {mine.pk}
    assert ids(assignee=operator.pk) == {mine.pk}
    assert ids(unassigned="true") == {nobodys.pk}
    assert ids(team="sales") == {mine.pk}
    assert ids(label="vip") == {mine.pk}
    assert ids(channel="webchat", unassigned="true") == {nobodys.pk}


def test_the_label_filter_finds_cyrillic_labels(client: Client, token: str, conversation: Conversation) -> None:
    actions.do_set_labels(actor=None, conversation=conversation, labels=["Доставка"])

    page = ok(call(client, "get", "/conversations", token, data={"label": "Доставка"}))

    assert [c["id"] for c in page["items"]] == [conversation.pk]


def test_list_pages(client: Client, token: str, telegram: Channel) -> None:
    made = {receive(telegram, make_customer()).conversation.pk for _ in range(3)}

    first = ok(call(client, "get", "/conversations", token, data={"limit": 2}))
    second = ok(call(client, "get", "/conversations", token, data={"limit": 2, "cursor": first["next"]}))

    assert len(first["items"]) == 2
    assert second["next"] is None
    assert {c["id"] for c in first["items"] + second["items"]} == made


# --- one conversation and its messages ------------------------------------------------------------------


def test_detail_has_the_customer(client: Client, token: str, conversation: Conversation) -> None:
    body = ok(call(client, "get", f"/conversations/{conversation.pk}", token))

    assert set(body) == CONVERSATION_KEYS | {"customer"}
    assert body["customer"] == {"id": conversation.customer_id, "name": "Айгерим Сейткали"}


def test_messages_oldest_first(client: Client, token: str, conversation: Conversation, frozen: Any) -> None:
    frozen.shift(dt.timedelta(minutes=1))
    receive(conversation.channel, conversation.customer, text="Алло?")
    frozen.shift(dt.timedelta(minutes=1))
    actions.do_add_note(actor=None, conversation=conversation, text="Постоянная клиентка")

    first = ok(call(client, "get", f"/conversations/{conversation.pk}/messages", token, data={"limit": 2}))
    rest = ok(call(client, "get", f"/conversations/{conversation.pk}/messages", token, data={"cursor": first["next"]}))

    assert all(set(m) == MESSAGE_KEYS for m in first["items"] + rest["items"])
    assert [m["text"] for m in first["items"] + rest["items"]] == [
        "Здравствуйте, гирлянда есть?",
        "Алло?",
        "Постоянная клиентка",
    ]
    inbound = first["items"][0]
    assert (inbound["direction"], inbound["kind"], inbound["channel"], inbound["status"]) == (
        "in",
        "text",
        "telegram",
        "received",
    )
    assert inbound["sent_at"] == "2025-03-01T09:00:00Z"
    assert inbound["author"] is None
    assert rest["next"] is None
    assert rest["items"][0]["kind"] == "note"


# --- replies -------------------------------------------------------------------------------------------------


def test_reply_is_queued_in_the_outbox(client: Client, token: str, conversation: Conversation, operator: Any) -> None:
    message = ok(
        call(client, "post", f"/conversations/{conversation.pk}/messages", token, data={"text": " Есть, 4990 ₸ "}),
        201,
    )

    assert set(message) == MESSAGE_KEYS
    assert (message["direction"], message["kind"], message["status"], message["text"]) == (
        "out",
        "text",
        "queued",
        "Есть, 4990 ₸",
    )
    assert (message["author"], message["author_name"]) == (operator.pk, operator.display_name)
    stored = Conversation.objects.get(pk=conversation.pk)
    assert (stored.waiting_since, stored.unread_count, stored.first_response_at) == (None, 0, NOW)


def test_the_same_idempotency_key_sends_once(client: Client, token: str, conversation: Conversation) -> None:
    path = f"/conversations/{conversation.pk}/messages"
    headers = {"HTTP_IDEMPOTENCY_KEY": "reply-42"}

    first = ok(call(client, "post", path, token, data={"text": "Есть"}, **headers), 201)
    again = ok(call(client, "post", path, token, data={"text": "Есть"}, **headers), 201)

    assert again == first
    assert Message.objects.filter(direction="out").count() == 1


def test_an_idempotency_key_of_another_conversation_is_refused(
    client: Client, token: str, conversation: Conversation, telegram: Channel
) -> None:
    other = receive(telegram, make_customer()).conversation
    headers = {"HTTP_IDEMPOTENCY_KEY": "reply-42"}
    ok(call(client, "post", f"/conversations/{conversation.pk}/messages", token, data={"text": "Есть"}, **headers), 201)

    response = call(client, "post", f"/conversations/{other.pk}/messages", token, data={"text": "Нет"}, **headers)

    assert_error(response, 409, "IDEMPOTENCY_KEY_REUSED")
    assert Message.objects.filter(direction="out").count() == 1


def test_free_text_outside_the_reply_window_is_409(client: Client, token: str, frozen: Any) -> None:
    conversation = receive(make_channel("whatsapp"), make_customer(kind="whatsapp")).conversation
    frozen.shift(dt.timedelta(hours=25))
    path = f"/conversations/{conversation.pk}/messages"

    assert_error(call(client, "post", path, token, data={"text": "Ещё актуально?"}), 409, "REPLY_WINDOW_CLOSED", "text")
    assert not Message.objects.filter(direction="out").exists()

    template = {"name": "follow_up", "language": "ru", "components": []}
    sent = ok(call(client, "post", path, token, data={"template": template}), 201)
    assert sent["template"] == template


def test_free_text_within_the_reply_window(client: Client, token: str, frozen: Any) -> None:
    conversation = receive(make_channel("whatsapp"), make_customer(kind="whatsapp")).conversation
    frozen.shift(dt.timedelta(hours=23))

    ok(call(client, "post", f"/conversations/{conversation.pk}/messages", token, data={"text": "Да"}), 201)


def test_a_scheduled_reply(client: Client, token: str, conversation: Conversation) -> None:
    later = "2025-03-01T15:00:00+00:00"

    message = ok(
        call(
            client,
            "post",
            f"/conversations/{conversation.pk}/messages",
            token,
            data={"text": "Хорошо", "send_after": later},
        ),
        201,
    )

    assert (message["status"], message["send_after"]) == ("scheduled", "2025-03-01T15:00:00Z")


def test_an_empty_reply_is_refused(client: Client, token: str, conversation: Conversation) -> None:
    response = call(client, "post", f"/conversations/{conversation.pk}/messages", token, data={"text": "  "})

    assert_error(response, 422, "MESSAGE_EMPTY", "text")


def test_a_note_is_never_sent(client: Client, token: str, conversation: Conversation) -> None:
    note = ok(call(client, "post", f"/conversations/{conversation.pk}/notes", token, data={"text": "Перезвонить"}), 201)

    assert (note["kind"], note["text"]) == ("note", "Перезвонить")
    assert not Message.objects.filter(status__in=["queued", "scheduled"]).exists()


# --- triage --------------------------------------------------------------------------------------------------


def test_assign_and_keep_what_was_left_out(client: Client, token: str, conversation: Conversation) -> None:
    manager = make_user(Role.MANAGER)
    path = f"/conversations/{conversation.pk}/assign"

    body = ok(call(client, "post", path, token, data={"assignee_id": manager.pk, "team": "sales"}))
    assert (body["assignee"], body["team"]) == (manager.pk, "sales")

    body = ok(call(client, "post", path, token, data={"assignee_id": None}))
    assert (body["assignee"], body["team"]) == (None, "sales")


@pytest.mark.parametrize("who", ["clerk", "unknown"])
def test_assign_to_someone_who_cannot_take_it(client: Client, token: str, conversation: Conversation, who: str) -> None:
    assignee_id = make_user(Role.CLERK).pk if who == "clerk" else 999_999

    response = call(
        client, "post", f"/conversations/{conversation.pk}/assign", token, data={"assignee_id": assignee_id}
    )

    assert_error(response, 422, "ASSIGNEE_INVALID", "assignee_id")


def test_status(client: Client, token: str, conversation: Conversation) -> None:
    path = f"/conversations/{conversation.pk}/status"

    assert_error(call(client, "post", path, token, data={"status": "snoozed"}), 422, "SNOOZE_INVALID", "snoozed_until")
    snoozed = ok(call(client, "post", path, token, data={"status": "snoozed", "snoozed_until": "2025-03-02T09:00:00Z"}))
    assert (snoozed["status"], snoozed["snoozed_until"]) == ("snoozed", "2025-03-02T09:00:00Z")
    resolved = ok(call(client, "post", path, token, data={"status": "resolved"}))
    assert (resolved["status"], resolved["resolved_at"], resolved["snoozed_until"]) == (
        "resolved",
        "2025-03-01T09:00:00Z",
        None,
    )


def test_labels_and_priority(client: Client, token: str, conversation: Conversation) -> None:
    labelled = ok(
        call(client, "post", f"/conversations/{conversation.pk}/labels", token, data={"labels": [" VIP", "vip"]})
    )
    assert labelled["labels"] == ["vip"]

    urgent = ok(call(client, "post", f"/conversations/{conversation.pk}/priority", token, data={"priority": "urgent"}))
    assert urgent["priority"] == "urgent"
    assert_error(
        call(client, "post", f"/conversations/{conversation.pk}/priority", token, data={"priority": "asap"}),
        422,
        "VALIDATION_FAILED",
        "priority",
    )


def test_move_to_another_customer(client: Client, token: str, conversation: Conversation) -> None:
    other = make_customer(name="Ольга Ким")
    path = f"/conversations/{conversation.pk}/move"

    body = ok(call(client, "post", path, token, data={"customer_id": other.pk}))
    assert body["customer"] == {"id": other.pk, "name": "Ольга Ким"}

    assert_error(
        call(client, "post", path, token, data={"customer_id": 999_999}), 404, "CUSTOMER_NOT_FOUND", "customer_id"
    )


def test_merge(client: Client, token: str, conversation: Conversation, customer: Customer) -> None:
    other = receive(make_channel("webchat"), customer, text="С сайта").conversation
    path = f"/conversations/{conversation.pk}/merge"

    assert_error(
        call(client, "post", path, token, data={"other_id": 999_999}), 404, "CONVERSATION_NOT_FOUND", "other_id"
    )
    body = ok(call(client, "post", path, token, data={"other_id": other.pk}))

    assert body["unread_count"] == 2
    assert Conversation.objects.get(pk=other.pk).status == "resolved"
    stranger = receive(make_channel("webchat"), make_customer()).conversation
    assert_error(
        call(client, "post", path, token, data={"other_id": stranger.pk}), 422, "MERGE_OTHER_CUSTOMER", "other_id"
    )


# --- permissions and errors ---------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/conversations", None),
    ("get", "/conversations/{id}", None),
    ("get", "/conversations/{id}/messages", None),
    ("post", "/conversations/{id}/messages", {"text": "Здравствуйте"}),
    ("post", "/conversations/{id}/notes", {"text": "Заметка"}),
    ("post", "/conversations/{id}/assign", {"assignee_id": None}),
    ("post", "/conversations/{id}/status", {"status": "pending"}),
    ("post", "/conversations/{id}/labels", {"labels": ["vip"]}),
    ("post", "/conversations/{id}/priority", {"priority": "high"}),
    ("post", "/conversations/{id}/move", {"customer_id": 1}),
    ("post", "/conversations/{id}/merge", {"other_id": 1}),
]


@pytest.mark.parametrize(("method", "path", "data"), ENDPOINTS)
def test_a_clerk_may_not_use_the_inbox(
    client: Client, conversation: Conversation, method: str, path: str, data: Any
) -> None:
    # Tokens are never issued as clerks; one edited to act as a clerk (say, in the admin) is still refused.
    clerk = make_token(role=Role.OPERATOR, scopes=["*"], name="Till")
    ApiToken.objects.filter(name="Till").update(role=Role.CLERK)

    response = call(client, method, path.format(id=conversation.pk), clerk, data=data)

    assert_error(response, 403, "ROLE_FORBIDDEN")


@pytest.mark.parametrize(("method", "path", "data"), [e for e in ENDPOINTS if e[0] == "post"])
def test_writes_need_the_write_scope(
    client: Client, conversation: Conversation, method: str, path: str, data: Any
) -> None:
    reader = make_token(role=Role.OPERATOR, scopes=["inbox:read"])

    response = call(client, method, path.format(id=conversation.pk), reader, data=data)

    assert_error(response, 403, "SCOPE_MISSING")
    assert ok(call(client, "get", "/conversations", reader))["items"]


@pytest.mark.parametrize(("method", "path", "data"), [e for e in ENDPOINTS if "{id}" in e[1]])
def test_an_unknown_conversation_is_404(client: Client, token: str, method: str, path: str, data: Any) -> None:
    response = call(client, method, path.format(id=999_999), token, data=data)

    assert_error(response, 404, "CONVERSATION_NOT_FOUND")


def test_no_token_is_401(client: Client) -> None:
    assert_error(call(client, "get", "/conversations"), 401, "UNAUTHENTICATED")


# --- replying through another channel ---------------------------------------------------------------


def test_reply_channels_and_a_reply_through_another(
    client: Client, token: str, conversation: Conversation, customer: Customer
) -> None:
    whatsapp = make_channel("whatsapp")
    customers_actions.check_add_identity(customer=customer, kind="phone", value="8 701 555 12 34")

    options = ok(call(client, "get", f"/conversations/{conversation.pk}/reply-channels", token))
    path = f"/conversations/{conversation.pk}/messages"
    closed = call(client, "post", path, token, data={"text": "Готово", "channel_id": whatsapp.pk})
    sent = ok(
        call(client, "post", path, token, data={"template": {"name": "order_ready"}, "channel_id": whatsapp.pk}), 201
    )

    assert [(o["provider"], o["to"], o["allowed"], o["window_open"]) for o in options] == [
        ("telegram", conversation.external_thread_id, True, True),
        ("whatsapp", "+77015551234", True, False),
    ]
    assert_error(closed, 409, "REPLY_WINDOW_CLOSED", "text")
    assert (sent["channel"], sent["channel_id"]) == ("whatsapp", whatsapp.pk)
    assert Message.objects.get(pk=sent["id"]).reply_to == "+77015551234"


def test_a_reply_through_an_unknown_or_unreachable_channel_is_refused(
    client: Client, token: str, conversation: Conversation
) -> None:
    path = f"/conversations/{conversation.pk}/messages"
    instagram = make_channel("instagram")

    assert_error(call(client, "post", path, token, data={"text": "Да", "channel_id": 999999}), 404, "CHANNEL_NOT_FOUND")
    assert_error(
        call(client, "post", path, token, data={"text": "Да", "channel_id": instagram.pk}),
        422,
        "CHANNEL_UNREACHABLE",
        "channel",
    )
    assert not Message.objects.filter(direction="out").exists()
