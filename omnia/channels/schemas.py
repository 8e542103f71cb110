"""Input and output shapes of the channels API. Credentials go in; only their names come out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from omnia.channels import actions, message_templates
from omnia.channels.models import Channel, MessageTemplate, Provider


class ChannelOut(Schema):
    id: int
    provider: str
    name: str
    key: str
    webhook_url: str = Field(description="The path providers post to; prefix it with the site's public address")
    credentials_set: list[str] = Field(description="Names of the credentials stored (never their values)")
    credentials_missing: list[str] = Field(description="Required credentials not stored yet")
    credentials_readable: bool = Field(
        description="False when the credentials were encrypted with another OMNIA_SECRET_KEY: enter them again"
    )
    config: dict[str, Any]
    team: str
    reply_policy: str = Field(description="continue, or new (a new conversation after one was resolved)")
    first_response_minutes: int
    is_active: bool
    created_at: dt.datetime
    last_polled_at: dt.datetime | None = Field(
        None, description="Mailboxes (e-mail): when the mailbox was last checked for new mail"
    )
    last_error: str = Field(
        "",
        description="Mailboxes (e-mail): why the last check failed (cannot connect, login refused…); empty if fine",
    )

    @staticmethod
    def of(c: Channel) -> ChannelOut:
        try:
            stored = c.credentials
            readable = True
        except ValueError:
            stored, readable = {}, False
        return ChannelOut(
            id=c.pk,
            provider=c.provider,
            name=c.name,
            key=c.key,
            webhook_url=f"/hooks/{c.provider}/{c.key}",
            credentials_set=sorted(k for k, v in stored.items() if v not in (None, "")),
            credentials_missing=actions.missing_credentials(c.provider, stored),
            credentials_readable=readable,
            config=dict(c.config),
            team=c.team,
            reply_policy=c.reply_policy,
            first_response_minutes=c.first_response_minutes,
            is_active=c.is_active,
            created_at=c.created_at,
            **_mailbox_status(c),
        )


def _mailbox_status(c: Channel) -> dict[str, Any]:
    """How the last IMAP poll of an e-mail channel went (nothing for other providers or before the first)."""
    state = getattr(c, "mailbox_state", None) if c.provider == Provider.EMAIL else None
    if state is None:
        return {}
    return {"last_polled_at": state.last_polled_at, "last_error": state.last_error}


class ChannelIn(Schema):
    provider: Provider
    name: str
    credentials: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Secrets, stored encrypted. telegram: bot_token, secret_token; whatsapp and instagram: "
            "access_token, app_secret, verify_token; email: username, password"
        ),
    )
    config: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Non-secret settings; whatsapp needs phone_number_id; email needs address, imap_host and smtp_host "
            "(optional: imap_port, smtp_port, imap_tls and smtp_tls as ssl, starttls or none, folder, from_name, "
            "history_days)"
        ),
    )
    team: str = ""
    reply_policy: Channel.ReplyPolicy = Channel.ReplyPolicy.NEW_AFTER_RESOLVE
    first_response_minutes: int = 1


class ChannelPatch(Schema):
    name: str | None = None
    credentials: dict[str, Any] | None = Field(
        None, description="Merged into the stored credentials; a null value removes one"
    )
    config: dict[str, Any] | None = Field(None, description="Replaces the settings")
    team: str | None = None
    reply_policy: Channel.ReplyPolicy | None = None
    first_response_minutes: int | None = None
    is_active: bool | None = None


class MessageTemplateOut(Schema):
    id: int
    channel_id: int
    name: str = Field(description="The template's name at the provider (Meta)")
    language: str = Field(description="Meta's language code: ru, kk, en_US…")
    category: str
    body: str = Field(description="The approved text, with {{1}}, {{2}}… where the values go")
    values: int = Field(description="How many values a send must give")
    is_active: bool
    created_at: dt.datetime

    @staticmethod
    def of(template: MessageTemplate) -> MessageTemplateOut:
        return MessageTemplateOut(
            id=template.pk,
            channel_id=template.channel_id,
            name=template.name,
            language=template.language,
            category=template.category,
            body=template.body,
            values=message_templates.placeholders(template.body),
            is_active=template.is_active,
            created_at=template.created_at,
        )


class MessageTemplateIn(Schema):
    name: str = Field(description="Exactly as approved at Meta: lower-case letters, digits, underscores")
    language: str = Field(description="ru, kk, en_US…")
    body: str = Field(description="The approved text with {{1}}, {{2}}… placeholders")
    category: str = MessageTemplate.Category.UTILITY
