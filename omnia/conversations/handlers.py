"""Conversations react to their own events after commit: SLA records and routing of new conversations.

Each reaction runs in its own transaction, so a failure in one (logged by the event bus) neither
undoes the message that triggered it nor stops the others.
"""

from __future__ import annotations

from omnia.conversations import routing
from omnia.conversations.events import ConversationStatusChanged, MessageQueued, MessageReceived
from omnia.conversations.models import Conversation
from omnia.core.events import subscribe


def _record_opened(event: MessageReceived) -> None:
    if event.opened:  # a message joining a conversation opens nothing: no queries
        routing.do_record_opened(message_id=event.message_id)


def _route_new_conversation(event: MessageReceived) -> None:
    """A conversation's first message gives it to the next free operator (if nobody has it yet)."""
    if not event.opened:
        return
    conversation = Conversation.objects.filter(pk=event.conversation_id).first()
    if conversation is None or conversation.assignee_id is not None:
        return
    if conversation.messages.count() != 1:
        return  # not new: an existing or reopened conversation keeps its place in the queue
    routing.assign_next(conversation=conversation)


def _record_first_response(event: MessageQueued) -> None:
    routing.do_record_first_response(message_id=event.message_id)


def _record_status_change(event: ConversationStatusChanged) -> None:
    routing.do_record_status_change(
        conversation_id=event.conversation_id, old=event.old, new=event.new, actor_id=event.actor_id
    )


def register() -> None:
    subscribe(MessageReceived, _record_opened)
    subscribe(MessageReceived, _route_new_conversation)
    subscribe(MessageQueued, _record_first_response)
    subscribe(ConversationStatusChanged, _record_status_change)
