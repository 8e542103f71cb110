"""Channels react to conversations: a queued reply is handed to the delivery task after commit."""

from __future__ import annotations

from omnia.channels.tasks import deliver_message
from omnia.conversations.events import MessageQueued
from omnia.conversations.models import Message
from omnia.core.events import subscribe


def _on_message_queued(event: MessageQueued) -> None:
    message = Message.objects.filter(pk=event.message_id).only("send_after").first()
    if message is None:
        return
    if message.send_after is not None:
        deliver_message.using(run_after=message.send_after).enqueue(event.message_id)
    else:
        deliver_message.enqueue(event.message_id)


def register() -> None:
    subscribe(MessageQueued, _on_message_queued)
