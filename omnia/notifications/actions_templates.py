"""The shop's notification templates: saving one (owners and managers) — every {{variable}} checked against
the event's allow-list, an SMS's length in segments, the approved WhatsApp template and its values — and
deleting one (the built-in text applies again)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from omnia.channels.message_templates import MAX_PARAMETER, placeholders
from omnia.channels.models import MessageTemplate, Provider
from omnia.core import clock
from omnia.core.audit import do_record_audit
from omnia.core.errors import NotFound, ValidationFailed
from omnia.core.permissions import Section, require
from omnia.notifications import composing, variables
from omnia.notifications.models import Event, Template
from omnia.notifications.queries_templates import Key, clean_key

MAX_BODY = 4096
MAX_SUBJECT = 200
MAX_SMS_SEGMENTS = 10
EDITABLE = ("subject", "body", "whatsapp_template_id", "whatsapp_values", "is_active")


class MessageTemplateNotFound(NotFound):
    code = "MESSAGE_TEMPLATE_NOT_FOUND"


def _check_variables(event: str, text: str, *, field: str) -> None:
    unknown = variables.unknown_variables(event, text)
    if unknown:
        allowed = ", ".join(f"{{{{{name}}}}}" for name in variables.allowed(event))
        raise ValidationFailed(
            f"Unknown variable {{{{{unknown[0]}}}}} for “{Event(event).label}”: use one of {allowed}.",
            field=field,
            code="UNKNOWN_VARIABLE",
        )


def _message_template(value: MessageTemplate | int | None) -> MessageTemplate | None:
    if value is None or isinstance(value, MessageTemplate):
        return value
    found = MessageTemplate.objects.select_related("channel").filter(pk=value).first()
    if found is None:
        raise MessageTemplateNotFound(f"No approved template #{value}.", field="whatsapp_template")
    return found


def _check_whatsapp(
    key: Key, template: MessageTemplate | None, values: Sequence[Any]
) -> tuple[MessageTemplate | None, list[str]]:
    if template is None:
        if any(str(v).strip() for v in values):
            raise ValidationFailed(
                "Values are given for no approved template.", field="whatsapp_values", code="TEMPLATE_VALUES"
            )
        return None, []
    if key.channel not in ("", Provider.WHATSAPP):
        raise ValidationFailed(
            "Only a WhatsApp (or every-channel) text can name an approved WhatsApp template.",
            field="whatsapp_template",
            code="WHATSAPP_TEMPLATE_INVALID",
        )
    if template.channel.provider != Provider.WHATSAPP:
        raise ValidationFailed(
            f"{template.name} is not a WhatsApp template.", field="whatsapp_template", code="WHATSAPP_TEMPLATE_INVALID"
        )
    if not template.is_active:
        raise ValidationFailed(
            f"{template.name} is not in use.", field="whatsapp_template", code="WHATSAPP_TEMPLATE_INVALID"
        )
    if composing.base_language(template.language) != key.language:
        raise ValidationFailed(
            f"{template.name} is in {template.language}, not {key.language}.",
            field="whatsapp_template",
            code="WHATSAPP_TEMPLATE_LANGUAGE",
        )
    wanted = placeholders(template.body)
    cleaned = [" ".join(str(v).split()) for v in values]
    if len(cleaned) != wanted:
        raise ValidationFailed(
            f"{template.name} takes {wanted} values ({{{{1}}}}…), not {len(cleaned)}.",
            field="whatsapp_values",
            code="TEMPLATE_VALUES",
        )
    for index, value in enumerate(cleaned):
        field = f"whatsapp_values[{index}]"
        if not value:
            raise ValidationFailed(f"The value of {{{{{index + 1}}}}} is empty.", field=field, code="REQUIRED")
        if len(value) > MAX_PARAMETER:
            raise ValidationFailed(
                f"The value of {{{{{index + 1}}}}} is longer than {MAX_PARAMETER} characters.",
                field=field,
                code="TOO_LONG",
            )
        _check_variables(key.event, value, field=field)
    return template, cleaned


def _clean_texts(key: Key, subject: str, body: str) -> tuple[str, str]:
    body = str(body or "").strip()
    if not body:
        raise ValidationFailed("Write the text.", field="body", code="REQUIRED")
    if len(body) > MAX_BODY:
        raise ValidationFailed(f"The text has at most {MAX_BODY} characters.", field="body", code="TOO_LONG")
    _check_variables(key.event, body, field="body")
    subject = " ".join(str(subject or "").split())
    if len(subject) > MAX_SUBJECT:
        raise ValidationFailed(f"The subject has at most {MAX_SUBJECT} characters.", field="subject", code="TOO_LONG")
    _check_variables(key.event, subject, field="subject")
    if key.channel == Provider.SMS:
        shown = composing.preview(key.event, key.channel, key.language, body=body)
        if shown.sms_segments > MAX_SMS_SEGMENTS:
            raise ValidationFailed(
                f"As an SMS this text takes {shown.sms_segments} parts ({shown.sms_encoding}) with the sample "
                f"data; at most {MAX_SMS_SEGMENTS} are allowed.",
                field="body",
                code="TOO_LONG",
            )
    return subject, body


def _public(template: Template) -> dict[str, Any]:
    return {
        "subject": template.subject,
        "body": template.body,
        "whatsapp_template_id": template.whatsapp_template_id,
        "whatsapp_values": list(template.whatsapp_values or []),
        "is_active": template.is_active,
    }


def _check_may_edit(actor: Any) -> None:
    if actor is not None:  # None: the system itself (imports, fixtures)
        require(actor, Section.SETTINGS)


@transaction.atomic
def check_save_template(
    *,
    actor: Any,
    event: str,
    channel: str = "",
    language: str,
    subject: str = "",
    body: str,
    whatsapp_template: MessageTemplate | int | None = None,
    whatsapp_values: Sequence[Any] = (),
    is_active: bool = True,
) -> Template:
    """Create or replace the shop's text for (event, channel, language). Refused with the field named:
    UNKNOWN_VARIABLE (the variable in the message), TOO_LONG (over 4,096 characters, or an SMS over 10
    parts), REQUIRED, TEMPLATE_VALUES (not one value per placeholder), WHATSAPP_TEMPLATE_INVALID/_LANGUAGE."""
    _check_may_edit(actor)
    key = clean_key(event, channel, language)
    subject, body = _clean_texts(key, subject, body)
    approved, values = _check_whatsapp(key, _message_template(whatsapp_template), whatsapp_values)
    template = Template.objects.select_for_update().filter(**key.__dict__).first()
    created = template is None
    if template is None:
        template = Template(event=key.event, channel=key.channel, language=key.language)
    before = {} if created else _public(template)
    template.subject, template.body = subject, body
    template.whatsapp_template, template.whatsapp_values = approved, values
    template.is_active = bool(is_active)
    after = _public(template)
    changes = {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}
    if not created and not changes:
        return template
    template.updated_at = clock.now()
    template.updated_by = getattr(actor, "audit_user", None)
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:  # saved at the same moment by someone else: take theirs and write over it
        template.pk = Template.objects.get(**key.__dict__).pk
        template.save(force_update=True)
    do_record_audit(
        actor=actor,
        action="notification_template.created" if created else "notification_template.updated",
        target=template,
        changes=changes,
    )
    return template


@transaction.atomic
def do_delete_template(*, actor: Any, template: Template) -> None:
    """Delete the shop's text: the built-in one is used again (owners and managers)."""
    _check_may_edit(actor)
    do_record_audit(actor=actor, action="notification_template.deleted", target=template, changes=_public(template))
    template.delete()
