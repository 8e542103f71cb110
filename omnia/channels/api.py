"""Connected channels over REST, for owners and managers (the Settings section).

Reads need the `settings:read` scope, writes `settings:write`. Credentials are write-only: answers
name the ones stored, never their values. Channels are never deleted (their events and conversations
point at them): DELETE deactivates.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from omnia.channels import actions, queries
from omnia.channels.models import Channel
from omnia.channels.registry import connector_for
from omnia.channels.schemas import ChannelIn, ChannelOut, ChannelPatch
from omnia.conversations.queries import ReplyRules
from omnia.core.errors import NotFound
from omnia.core.pagination import Page, paginate
from omnia.core.permissions import Section, actor_of, authorize

router = Router(tags=["channels"])


def reply_window_for(provider: str) -> ReplyRules:
    """When the provider lets us write to a customer; no limits when no connector is registered for
    the provider (nothing can be sent through it yet either)."""
    try:
        capabilities = connector_for(provider).capabilities
    except LookupError:
        return ReplyRules()
    return ReplyRules(
        window=capabilities.reply_window,
        extended_window=capabilities.extended_window,
        extended_tag=capabilities.extended_window_tag,
    )


def _channel(channel_id: int) -> Channel:
    channel = queries.list_channels().filter(pk=channel_id).first()
    if channel is None:
        raise NotFound(f"No channel #{channel_id}.", code="CHANNEL_NOT_FOUND", field="channel_id")
    return channel


@router.get("/channels", response=Page[ChannelOut], summary="Connected channels, active or not")
def list_channels(request: HttpRequest, cursor: str | None = None, limit: int = 50) -> dict[str, object]:
    authorize(actor_of(request), Section.SETTINGS)
    return paginate(queries.list_channels(), cursor=cursor, limit=limit, serialize=ChannelOut.of, newest_first=False)


@router.post(
    "/channels",
    response={201: ChannelOut},
    summary="Connect a channel",
    description=(
        "The answer's `webhook_url` is where the provider must post (set it in the provider's console or, "
        "for Telegram, with setWebhook and the same secret_token)."
    ),
)
def create_channel(request: HttpRequest, payload: ChannelIn) -> Status[ChannelOut]:
    actor = actor_of(request)
    authorize(actor, Section.SETTINGS, write=True)
    channel = actions.check_create_channel(actor=actor, **payload.model_dump())
    return Status(201, ChannelOut.of(channel))


@router.get("/channels/{channel_id}", response=ChannelOut, summary="One channel")
def get_channel(request: HttpRequest, channel_id: int) -> ChannelOut:
    authorize(actor_of(request), Section.SETTINGS)
    return ChannelOut.of(_channel(channel_id))


@router.patch("/channels/{channel_id}", response=ChannelOut, summary="Change the fields sent")
def update_channel(request: HttpRequest, channel_id: int, payload: ChannelPatch) -> ChannelOut:
    actor = actor_of(request)
    authorize(actor, Section.SETTINGS, write=True)
    changes = payload.model_dump(exclude_unset=True)
    for field in ("name", "team", "reply_policy", "first_response_minutes", "is_active", "config"):
        if field in changes and changes[field] is None:
            del changes[field]  # null means "leave it"; only credentials take null (per key) as "remove"
    channel = actions.check_update_channel(actor=actor, channel=_channel(channel_id), **changes)
    return ChannelOut.of(channel)


@router.delete(
    "/channels/{channel_id}",
    response=ChannelOut,
    summary="Deactivate (channels are never deleted)",
    description="Webhooks for it are refused from now on; PATCH is_active=true reconnects it.",
)
def deactivate_channel(request: HttpRequest, channel_id: int) -> ChannelOut:
    actor = actor_of(request)
    authorize(actor, Section.SETTINGS, write=True)
    return ChannelOut.of(actions.do_deactivate_channel(actor=actor, channel=_channel(channel_id)))
