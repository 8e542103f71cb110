"""The operator has read a conversation. (Belongs in actions.py; kept apart while that file is being edited.)"""

from __future__ import annotations

from django.db import transaction

from omnia.conversations.models import Conversation
from omnia.core.events import RealtimeUpdate, publish_on_commit


@transaction.atomic
def do_mark_read(*, conversation: Conversation) -> None:
    """Reset the unread count; other inbox pages are told only when there was something unread."""
    updated = Conversation.objects.filter(pk=conversation.pk, unread_count__gt=0).update(unread_count=0)
    conversation.unread_count = 0
    if updated:
        data = {"conversation_id": conversation.pk, "customer_id": conversation.customer_id}
        publish_on_commit(RealtimeUpdate(topic="inbox", kind="conversation.read", data=data))
