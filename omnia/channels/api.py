"""Connected channels over REST, for owners and managers (the Settings section).

Reads need the `settings:read` scope, writes `settings:write`. Credentials are write-only: answers
name the ones stored, never their values. Channels are never deleted (their events and conversations
point at them): DELETE deactivates.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from omnia.channels import actions, message_templates, queries
from omnia.channels.models import Channel, MessageTemplate
from omnia.channels.registry import connector_for
from omnia.channels.schemas import ChannelIn, ChannelOut, ChannelPatch, MessageTemplateIn, MessageTemplateOut
from omnia.conversations.queries import ReplyRules
from omnia.core.errors import NotFound, ValidationFailed
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
        max_length=capabilities.max_text_length,
    )


def template_for(channel: Channel, ref: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A registered, active template of `channel` filled with `ref["values"]`: what the provider is
    sent, and the text the customer reads (the conversations API reaches it through omnia.api)."""
    template_id = ref.get("id")
    template = (
        MessageTemplate.objects.filter(channel=channel, pk=template_id, is_active=True).first()
        if isinstance(template_id, int)
        else None
    )
    if template is None:
        raise NotFound(
            f"No template {template_id!r} in use on {channel}.", code="TEMPLATE_NOT_FOUND", field="template.id"
        )
    values = ref.get("values", [])
    if not isinstance(values, list) or not all(isinstance(v, str | int | float) for v in values):
        raise ValidationFailed("The values are a list of texts.", field="template.values")
    strings = [str(v) for v in values]
    return message_templates.payload(template, strings), message_templates.render(template, strings)


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


@router.get(
    "/channels/{channel_id}/templates",
    response=list[MessageTemplateOut],
    summary="The channel's approved message templates (WhatsApp)",
    description="What may be sent outside the 24-hour window: `POST /conversations/{id}/messages` with "
    '`"template": {"id", "values": [...]}`.',
)
def list_templates(request: HttpRequest, channel_id: int, active: bool | None = None) -> list[MessageTemplateOut]:
    authorize(actor_of(request), Section.SETTINGS)
    templates = _channel(channel_id).message_templates.all()
    if active is not None:
        templates = templates.filter(is_active=active)
    return [MessageTemplateOut.of(t) for t in templates]


@router.post(
    "/channels/{channel_id}/templates",
    response={201: MessageTemplateOut},
    summary="Register a template approved at Meta",
)
def create_template(request: HttpRequest, channel_id: int, payload: MessageTemplateIn) -> Status[MessageTemplateOut]:
    actor = actor_of(request)
    authorize(actor, Section.SETTINGS, write=True)
    template = actions.check_save_template(actor=actor, channel=_channel(channel_id), **payload.model_dump())
    return Status(201, MessageTemplateOut.of(template))


@router.delete(
    "/channels/{channel_id}/templates/{template_id}",
    response=MessageTemplateOut,
    summary="Stop offering a template (paused or rejected at Meta)",
)
def retire_template(request: HttpRequest, channel_id: int, template_id: int) -> MessageTemplateOut:
    actor = actor_of(request)
    authorize(actor, Section.SETTINGS, write=True)
    template = MessageTemplate.objects.filter(channel=_channel(channel_id), pk=template_id).first()
    if template is None:
        raise NotFound(f"No template #{template_id} on this channel.", code="TEMPLATE_NOT_FOUND", field="template_id")
    return MessageTemplateOut.of(actions.do_retire_template(actor=actor, template=template))
