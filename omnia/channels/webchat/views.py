"""Web chat's edge: what the visitor socket and the widget's HTTP calls do with the database.

Inbound visitor messages take the same road as every channel's webhook (channels.ingest): stored once
as an InboundEvent (deduplicated on "<visitor>:<client id>"), then customers → conversations.
Mounted with `path("webchat/", include("omnia.channels.webchat.views"))`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.http import FileResponse, HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import path
from django.views.decorators.http import require_GET

from omnia.channels import ingest, queries
from omnia.channels.base import InboundMessage
from omnia.channels.models import Channel, InboundEvent
from omnia.channels.webchat.connector import normalize_visitor, thread_id
from omnia.conversations.models import Message
from omnia.core import clock
from omnia.core.errors import ValidationFailed
from omnia.customers import actions as customers_actions
from omnia.customers.errors import IdentityTaken

HISTORY_LIMIT = 50
MAX_TEXT = 4000
STATIC_DIR = Path(__file__).resolve().parent / "static" / "webchat"


def active_channel(key: str) -> Channel | None:
    return queries.get_active_channel(provider="webchat", key=key)


@dataclass(frozen=True)
class Received:
    stored: bool  # False: this client id was received before
    message_id: int | None = None
    at: str = ""


def receive_visitor_message(*, channel: Channel, visitor: str, client_id: str, text: str) -> Received:
    """One message typed in the widget → customer (webchat identity) → conversation, like ingest does."""
    now = clock.now()
    inbound = InboundMessage(
        event_id=f"{visitor}:{client_id}",
        external_message_id=f"{visitor}:{client_id}",
        external_chat_id=thread_id(channel.key, visitor),
        sender_kind="webchat",
        sender_id=visitor,
        sent_at=now,
        text=text[:MAX_TEXT],
        raw={"visitor": visitor, "client_id": client_id, "text": text[:MAX_TEXT]},
    )
    with transaction.atomic():
        if not ingest.ingest_events(channel=channel, events=[inbound]).stored:
            return Received(stored=False)
        event = InboundEvent.objects.get(channel=channel, event_id=inbound.event_id)
    stored = (
        Message.objects.filter(channel=channel, provider_message_id=inbound.external_message_id)
        .values_list("pk", flat=True)
        .first()
    )
    return Received(stored=event.status != InboundEvent.Status.FAILED, message_id=stored, at=now.isoformat())


@dataclass(frozen=True)
class Identified:
    added: list[str]
    notes: list[str]
    errors: dict[str, str]


@transaction.atomic
def identify_visitor(*, channel: Channel, visitor: str, name: str = "", phone: str = "", email: str = "") -> Identified:
    """The visitor left a phone and/or e-mail: add them to the visitor's card when no other card has them.

    A handle another card already owns is not moved: merging two cards is an operator's decision.
    """
    resolution = customers_actions.do_resolve_identity(
        kind="webchat", value=visitor, channel="webchat", display_name=name.strip()[:200], at=clock.now()
    )
    added: list[str] = []
    notes: list[str] = []
    errors: dict[str, str] = {}
    for kind, value in (("phone", phone), ("email", email)):
        if not value.strip():
            continue
        try:
            with transaction.atomic():
                customers_actions.check_add_identity(
                    customer=resolution.customer, kind=kind, value=value, channel="webchat", field=kind
                )
            added.append(kind)
        except IdentityTaken:
            notes.append(f"{kind} belongs to another card: operators may merge them")
        except ValidationFailed as exc:
            errors[kind] = exc.message
    return Identified(added=added, notes=notes, errors=errors)


def visitor_history(*, channel: Channel, visitor: str, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The visitor's last messages in this channel, oldest first: what they wrote and what we answered."""
    rows = (
        Message.objects.filter(
            channel=channel,
            conversation__external_thread_id=thread_id(channel.key, visitor),
            kind__in=[Message.Kind.TEXT, Message.Kind.UNSUPPORTED],
        )
        .exclude(direction=Message.Direction.OUT, status=Message.Status.FAILED)
        .order_by("-created_at", "-id")
        .values("id", "direction", "text", "created_at", "provider_message_id")[:limit]
    )
    return [
        {
            "id": row["id"],
            "direction": row["direction"],
            "text": row["text"],
            "at": _iso(row["created_at"]),
            "client_id": row["provider_message_id"].split(":", 1)[1]
            if row["direction"] == Message.Direction.IN and ":" in row["provider_message_id"]
            else "",
        }
        for row in reversed(list(rows))
    ]


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() if value else ""


def _cors(response: HttpResponseBase) -> HttpResponseBase:
    response["Access-Control-Allow-Origin"] = "*"  # the widget runs on the shop's own site
    return response


@require_GET
def widget_js(request: HttpRequest) -> HttpResponseBase:
    return _cors(FileResponse((STATIC_DIR / "widget.js").open("rb"), content_type="text/javascript; charset=utf-8"))


@require_GET
def widget_css(request: HttpRequest) -> HttpResponseBase:
    return _cors(FileResponse((STATIC_DIR / "widget.css").open("rb"), content_type="text/css; charset=utf-8"))


@require_GET
def history(request: HttpRequest, key: str) -> HttpResponseBase:
    channel = active_channel(key)
    if channel is None:
        return _cors(JsonResponse({"error": {"code": "CHANNEL_NOT_FOUND", "message": "No such web chat."}}, status=404))
    visitor = normalize_visitor(request.GET.get("visitor", ""))
    if visitor is None:
        return _cors(JsonResponse({"error": {"code": "VISITOR_INVALID", "message": "Bad visitor id."}}, status=400))
    config = channel.config or {}
    return _cors(
        JsonResponse(
            {
                "greeting": str(config.get("greeting", "")),
                "messages": visitor_history(channel=channel, visitor=visitor),
            }
        )
    )


urlpatterns = [
    path("widget.js", widget_js, name="webchat-widget-js"),
    path("widget.css", widget_css, name="webchat-widget-css"),
    path("<slug:key>/history", history, name="webchat-history"),
]
