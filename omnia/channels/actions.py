"""Connecting, changing and disconnecting channels. Every change is audited, never with a secret in it."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.db import transaction

from omnia.channels import message_templates
from omnia.channels.models import Channel, MessageTemplate, Provider
from omnia.channels.queries import forget_channels
from omnia.core import clock
from omnia.core.audit import do_record_audit
from omnia.core.errors import ValidationFailed

# What each provider's connector needs to verify webhooks and send; other providers accept anything.
REQUIRED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    Provider.TELEGRAM: ("bot_token", "secret_token"),
    Provider.WHATSAPP: ("access_token", "app_secret", "verify_token"),
    Provider.INSTAGRAM: ("access_token", "app_secret", "verify_token"),
    Provider.EMAIL: ("username", "password"),
    Provider.SMS: ("auth_token",),
}
REQUIRED_CONFIG: dict[str, tuple[str, ...]] = {
    Provider.WHATSAPP: ("phone_number_id",),
    Provider.EMAIL: ("address", "imap_host", "smtp_host"),
    Provider.SMS: ("account_sid", "phone_number"),
}
MAX_NAME_LENGTH = 100
MAX_TEAM_LENGTH = 60
EDITABLE_FIELDS = frozenset({"name", "config", "team", "reply_policy", "first_response_minutes", "is_active"})


def new_key() -> str:
    """A webhook key: unguessable, lower-case, URL- and slug-safe."""
    return secrets.token_urlsafe(16).lower()


def missing_credentials(provider: str, credentials: dict[str, Any]) -> list[str]:
    """The required credential fields of `provider` that are absent or blank."""
    return [name for name in REQUIRED_CREDENTIALS.get(provider, ()) if not _filled(credentials.get(name))]


def _filled(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def _check_provider(provider: str) -> None:
    if provider not in Provider.values:
        raise ValidationFailed(
            f"Unknown provider {provider!r}: one of {', '.join(Provider.values)}.",
            field="provider",
            code="PROVIDER_UNKNOWN",
        )


def _check_secrets(provider: str, credentials: dict[str, Any], config: dict[str, Any]) -> None:
    missing = missing_credentials(provider, credentials)
    if missing:
        raise ValidationFailed(
            f"{Provider(provider).label} needs the credential {missing[0]}.",
            field=f"credentials.{missing[0]}",
            code="CREDENTIALS_MISSING",
        )
    for name in REQUIRED_CONFIG.get(provider, ()):
        if not _filled(config.get(name)):
            raise ValidationFailed(
                f"{Provider(provider).label} needs the setting {name}.", field=f"config.{name}", code="CONFIG_MISSING"
            )


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise the plain (non-secret) fields present in `fields`."""
    cleaned = dict(fields)
    if "name" in cleaned:
        cleaned["name"] = str(cleaned["name"] or "").strip()
        if not cleaned["name"]:
            raise ValidationFailed("Name the channel.", field="name")
        if len(cleaned["name"]) > MAX_NAME_LENGTH:
            raise ValidationFailed(f"A name has at most {MAX_NAME_LENGTH} characters.", field="name")
    if "team" in cleaned:
        cleaned["team"] = str(cleaned["team"] or "").strip()
        if len(cleaned["team"]) > MAX_TEAM_LENGTH:
            raise ValidationFailed(f"A team has at most {MAX_TEAM_LENGTH} characters.", field="team")
    if "reply_policy" in cleaned and cleaned["reply_policy"] not in Channel.ReplyPolicy.values:
        raise ValidationFailed(f"reply_policy is one of {', '.join(Channel.ReplyPolicy.values)}.", field="reply_policy")
    if "first_response_minutes" in cleaned and not 1 <= int(cleaned["first_response_minutes"]) <= 60 * 24 * 30:
        raise ValidationFailed("The first response target is 1 minute to 30 days.", field="first_response_minutes")
    if "config" in cleaned:
        cleaned["config"] = dict(cleaned["config"] or {})
    return cleaned


def _public(channel: Channel) -> dict[str, Any]:
    """What the audit log may keep about a channel: everything but the secrets."""
    return {
        "provider": channel.provider,
        "name": channel.name,
        "config": channel.config,
        "team": channel.team,
        "reply_policy": channel.reply_policy,
        "first_response_minutes": channel.first_response_minutes,
        "is_active": channel.is_active,
    }


@transaction.atomic
def check_create_channel(
    *,
    actor: Any,
    provider: str,
    name: str,
    credentials: dict[str, Any],
    config: dict[str, Any] | None = None,
    team: str = "",
    reply_policy: str = Channel.ReplyPolicy.NEW_AFTER_RESOLVE,
    first_response_minutes: int = 1,
) -> Channel:
    """Connect an account; the provider's required credentials (and settings) must be present."""
    _check_provider(provider)
    fields = _clean(
        {
            "name": name,
            "config": config or {},
            "team": team,
            "reply_policy": reply_policy,
            "first_response_minutes": first_response_minutes,
        }
    )
    _check_secrets(provider, credentials, fields["config"])
    channel = Channel(provider=provider, key=new_key(), created_at=clock.now(), **fields)
    channel.credentials = dict(credentials)
    channel.save()
    do_record_audit(
        actor=actor,
        action="channel.created",
        target=channel,
        changes={**_public(channel), "credentials_set": sorted(credentials)},
    )
    return channel


@transaction.atomic
def check_update_channel(
    *, actor: Any, channel: Channel, credentials: dict[str, Any] | None = None, **fields: Any
) -> Channel:
    """Change the fields given. `credentials` are merged into the stored ones (a null value removes
    one); `config` replaces the settings. The provider never changes: connect a new channel instead."""
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"{name} cannot be changed.", field=name)
    cleaned = _clean(fields)
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    before = _public(channel)
    for field, value in cleaned.items():
        setattr(channel, field, value)
    changed_secrets: list[str] = []
    if credentials:
        try:
            merged = channel.credentials
        except ValueError:
            # Stored under another OMNIA_SECRET_KEY: unreadable, so the ones given now replace them all.
            merged = {}
            changed_secrets.append("(unreadable credentials replaced)")
        for key, value in credentials.items():
            if value is None:
                if key in merged:
                    del merged[key]
                    changed_secrets.append(key)
            elif merged.get(key) != value:
                merged[key] = value
                changed_secrets.append(key)
        _check_secrets(channel.provider, merged, channel.config)
        channel.credentials = merged
    else:
        try:
            stored = channel.credentials
        except ValueError:
            raise ValidationFailed(
                "The stored secrets were encrypted with another OMNIA_SECRET_KEY: enter them again.",
                field="credentials",
                code="CREDENTIALS_UNREADABLE",
            ) from None
        _check_secrets(channel.provider, stored, channel.config)
    channel.save()
    after = _public(channel)
    changes: dict[str, Any] = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changed_secrets:
        changes["credentials_changed"] = sorted(changed_secrets)
    if changes:
        do_record_audit(actor=actor, action="channel.updated", target=channel, changes=changes)
    return channel


@transaction.atomic
def do_deactivate_channel(*, actor: Any, channel: Channel) -> Channel:
    """Disconnect: webhooks for the channel are refused from now on. The row (with its events and
    conversations) stays; PATCH is_active=true connects it again."""
    updated = Channel.objects.filter(pk=channel.pk, is_active=True).update(is_active=False)
    channel.is_active = False
    forget_channels()
    transaction.on_commit(forget_channels)  # and again once others can read the change
    if updated:
        do_record_audit(actor=actor, action="channel.deactivated", target=channel, changes={"is_active": [True, False]})
    return channel


# --- approved message templates (WhatsApp) ---------------------------------------------------------

TEMPLATE_PROVIDERS = frozenset({Provider.WHATSAPP})
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")  # Meta's rule for template names
_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")  # Meta's codes: ru, kk, en_US, pt_BR
MAX_TEMPLATE_BODY = 1024


@transaction.atomic
def check_save_template(
    *,
    actor: Any,
    channel: Channel,
    name: str,
    language: str,
    body: str,
    category: str = MessageTemplate.Category.UTILITY,
    template: MessageTemplate | None = None,
) -> MessageTemplate:
    """Register (or correct) a template the provider approved, exactly as approved: its name, language
    and text with the numbered placeholders. The same name and language twice is TEMPLATE_EXISTS."""
    if channel.provider not in TEMPLATE_PROVIDERS:
        raise ValidationFailed(
            f"{channel.get_provider_display()} channels have no approved templates.",
            field="channel",
            code="TEMPLATES_NOT_SUPPORTED",
        )
    name, language, body = name.strip(), language.strip(), body.strip()
    if not _TEMPLATE_NAME.match(name):
        raise ValidationFailed(
            "The name is the template's name at Meta: lower-case letters, digits and underscores.",
            field="name",
            code="TEMPLATE_NAME_INVALID",
        )
    if not _LANGUAGE.match(language):
        raise ValidationFailed(
            f"{language!r} is not a language code such as ru, kk or en_US.", field="language", code="LANGUAGE_INVALID"
        )
    if category not in MessageTemplate.Category.values:
        raise ValidationFailed(f"Unknown category {category!r}.", field="category", code="CATEGORY_INVALID")
    if not body:
        raise ValidationFailed("The text is empty.", field="body", code="REQUIRED")
    if len(body) > MAX_TEMPLATE_BODY:
        raise ValidationFailed(
            f"The text is longer than {MAX_TEMPLATE_BODY} characters.", field="body", code="TOO_LONG"
        )
    message_templates.placeholders(body)
    clash = MessageTemplate.objects.filter(channel=channel, name=name, language=language)
    if template is not None:
        clash = clash.exclude(pk=template.pk)
    if clash.exists():
        raise ValidationFailed(f"{name} ({language}) is registered already.", field="name", code="TEMPLATE_EXISTS")
    created = template is None
    if template is None:
        template = MessageTemplate(channel=channel, created_at=clock.now())
    template.name, template.language, template.body, template.category = name, language, body, category
    template.is_active = True
    template.save()
    do_record_audit(
        actor=actor,
        action="channel.template_added" if created else "channel.template_changed",
        target=channel,
        changes={"template": f"{name} ({language})"},
    )
    return template


@transaction.atomic
def do_retire_template(*, actor: Any, template: MessageTemplate) -> MessageTemplate:
    """Stop offering a template (paused or rejected at Meta); what was sent with it stays as it was."""
    if MessageTemplate.objects.filter(pk=template.pk, is_active=True).update(is_active=False):
        do_record_audit(
            actor=actor,
            action="channel.template_retired",
            target=template.channel,
            changes={"template": str(template)},
        )
    template.is_active = False
    return template
