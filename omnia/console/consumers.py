"""The console's one WebSocket: it reports liveness and relays updates for subscribed topics."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from omnia.core import permissions
from omnia.core.realtime import group_name

# Which section a topic belongs to: a user may subscribe only to topics of sections they may use.
TOPIC_SECTIONS = {
    "inbox": permissions.Section.INBOX,
    "customers": permissions.Section.CUSTOMERS,
    "orders": permissions.Section.ORDERS,
    "stock": permissions.Section.STOCK,
    "analytics": permissions.Section.ANALYTICS,
    "system": None,
}


class ConsoleConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.topics: set[str] = set()
        await self.accept()
        await self.send_json({"type": "hello", "user": user.email})

    async def disconnect(self, code: int) -> None:
        for topic in getattr(self, "topics", set()):
            await self.channel_layer.group_discard(group_name(topic), self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "subscribe":
            await self._subscribe([str(t) for t in content.get("topics", [])][:20])
        elif kind == "typing":
            await self._typing(content.get("conversation_id"))
        else:
            await self.send_json({"type": "error", "code": "UNKNOWN_MESSAGE"})

    async def _subscribe(self, topics: list[str]) -> None:
        user = self.scope["user"]
        accepted = []
        for topic in topics:
            section = TOPIC_SECTIONS.get(topic.split(":", 1)[0], "missing")
            if section == "missing" or (section is not None and not permissions.can(user, section)):
                continue
            try:
                name = group_name(topic)
            except ValueError:
                continue
            await self.channel_layer.group_add(name, self.channel_name)
            self.topics.add(topic)
            accepted.append(topic)
        await self.send_json({"type": "subscribed", "topics": accepted})

    async def _typing(self, conversation_id: Any) -> None:
        """Tell everyone watching the conversation that this operator is typing (no database involved)."""
        user = self.scope["user"]
        if not isinstance(conversation_id, int) or not permissions.can(user, permissions.Section.INBOX):
            await self.send_json({"type": "error", "code": "TYPING_INVALID"})
            return
        topic = f"inbox:conversation:{conversation_id}"
        await self.channel_layer.group_send(
            group_name(topic),
            {
                "type": "topic.event",
                "topic": topic,
                "kind": "typing",
                "data": {"conversation_id": conversation_id, "user": user.email, "name": user.display_name},
            },
        )

    async def topic_event(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "event", "topic": event["topic"], "kind": event["kind"], "data": event["data"]})
