"""The visitor's WebSocket (/ws/webchat/<key>/?visitor=<id>): public, one group per visitor.

Client → server: {"type": "message", "text", "client_id"}, {"type": "identify", "name", "phone", "email"},
{"type": "ping"}. Server → client: {"type": "history", "messages", "greeting"} on connect,
{"type": "ack", "client_id", "duplicate"}, {"type": "message", "direction": "out", "text", "at"} for
operators' replies, {"type": "identified", …}, {"type": "error", "code", "message"}.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from omnia.channels.models import Channel
from omnia.channels.webchat import views
from omnia.channels.webchat.connector import normalize_visitor, topic
from omnia.core.realtime import group_name

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CLOSE_CHANNEL_NOT_FOUND = 4404
CLOSE_VISITOR_INVALID = 4400


class WebchatConsumer(AsyncJsonWebsocketConsumer):
    channel: Channel
    visitor: str
    group: str = ""

    async def connect(self) -> None:
        key = str(self.scope["url_route"]["kwargs"].get("key", ""))
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        visitor = normalize_visitor((query.get("visitor") or [""])[0])
        channel = await database_sync_to_async(views.active_channel)(key)
        if channel is None:
            await self.close(code=CLOSE_CHANNEL_NOT_FOUND)
            return
        if visitor is None:
            await self.close(code=CLOSE_VISITOR_INVALID)
            return
        try:
            self.group = group_name(topic(channel.key, visitor))
        except ValueError:
            await self.close(code=CLOSE_VISITOR_INVALID)
            return
        self.channel, self.visitor = channel, visitor
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        messages = await database_sync_to_async(views.visitor_history)(channel=channel, visitor=visitor)
        greeting = str((channel.config or {}).get("greeting", ""))
        await self.send_json({"type": "history", "greeting": greeting, "messages": messages})

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "message":
            await self._message(content)
        elif kind == "identify":
            await self._identify(content)
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self._error("UNKNOWN_MESSAGE", "Unknown message type.")

    async def _message(self, content: dict[str, Any]) -> None:
        text = str(content.get("text") or "").strip()
        client_id = str(content.get("client_id") or "")
        if not CLIENT_ID_RE.match(client_id):
            await self._error("CLIENT_ID_INVALID", "client_id: 1–64 letters, digits, '-' or '_'.")
            return
        if not text:
            await self._error("EMPTY_MESSAGE", "Write a message.")
            return
        if len(text) > views.MAX_TEXT:
            await self._error("MESSAGE_TOO_LONG", f"At most {views.MAX_TEXT} characters.")
            return
        received = await database_sync_to_async(views.receive_visitor_message)(
            channel=self.channel, visitor=self.visitor, client_id=client_id, text=text
        )
        await self.send_json(
            {"type": "ack", "client_id": client_id, "duplicate": not received.stored, "at": received.at}
        )

    async def _identify(self, content: dict[str, Any]) -> None:
        fields = {name: str(content.get(name) or "")[:200] for name in ("name", "phone", "email")}
        if not fields["phone"].strip() and not fields["email"].strip():
            await self._error("CONTACT_REQUIRED", "Leave a phone number or an e-mail.")
            return
        result = await database_sync_to_async(views.identify_visitor)(
            channel=self.channel, visitor=self.visitor, **fields
        )
        await self.send_json(
            {"type": "identified", "added": result.added, "notes": result.notes, "errors": result.errors}
        )

    async def _error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})

    async def topic_event(self, event: dict[str, Any]) -> None:
        """An operator's reply, broadcast by WebchatConnector.send."""
        if event.get("kind") != "message":
            return
        data = event.get("data") or {}
        await self.send_json(
            {
                "type": "message",
                "direction": "out",
                "id": data.get("id", ""),
                "text": data.get("text", ""),
                "at": data.get("at", ""),
            }
        )
