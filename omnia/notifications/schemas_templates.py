"""Shapes of the notification templates API."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from omnia.notifications.composing import Preview
from omnia.notifications.models import Event
from omnia.notifications.queries_templates import Effective


class TemplateOut(Schema):
    event: str
    event_label: str
    channel: str = Field(description='A channel kind (sms, whatsapp, email…), or "" for every channel')
    language: str = Field(description="ru, kk or en")
    is_custom: bool = Field(description="The shop wrote a text for exactly this event, channel and language")
    source: str = Field(
        description="Where the text in effect comes from: shop (this key's own), every_channel (the shop's text "
        "for every channel, used by a channel without its own) or built_in"
    )
    subject: str = Field(description="E-mail subject")
    body: str = Field(description="With {{variables}} from the event's allow-list")
    whatsapp_template_id: int | None = Field(description="The approved WhatsApp template used outside the 24 h window")
    whatsapp_template_name: str = ""
    whatsapp_values: list[str] = Field(description="The value of its {{1}}, {{2}}…, each may hold variables")
    is_active: bool
    variables: list[str] = Field(description="What this event's texts may use")
    updated_at: dt.datetime | None

    @staticmethod
    def of(e: Effective) -> TemplateOut:
        approved = e.whatsapp_template
        return TemplateOut(
            event=e.event,
            event_label=str(Event(e.event).label),
            channel=e.channel,
            language=e.language,
            is_custom=e.is_custom,
            source=e.source,
            subject=e.subject,
            body=e.body,
            whatsapp_template_id=approved.pk if approved else None,
            whatsapp_template_name=approved.name if approved else "",
            whatsapp_values=e.whatsapp_values,
            is_active=e.is_active,
            variables=list(e.variables),
            updated_at=e.updated_at,
        )


class TemplateIn(Schema):
    subject: str = ""
    body: str
    whatsapp_template_id: int | None = None
    whatsapp_values: list[str] = []
    is_active: bool = True


class PreviewIn(Schema):
    event: str
    language: str
    channel: str = ""
    body: str | None = Field(None, description="The text to try; none: the one in effect (the shop's or built-in)")
    subject: str | None = None
    whatsapp_template_id: int | None = None
    whatsapp_values: list[str] = []


class PreviewOut(Schema):
    text: str = Field(description="Filled in with sample data (customer Айгерим, order 1042…)")
    subject: str
    unknown: list[str] = Field(description="Variables the event does not allow: saving is refused while any is left")
    is_built_in: bool
    sms_encoding: str = Field(description="GSM-7 or UCS-2 when the channel is sms")
    sms_segments: int = Field(description="How many SMS the text takes when the channel is sms (at most 10)")
    whatsapp_text: str = Field(description="The approved template as the customer reads it")

    @staticmethod
    def of(p: Preview) -> PreviewOut:
        return PreviewOut(
            text=p.text,
            subject=p.subject,
            unknown=p.unknown,
            is_built_in=p.is_built_in,
            sms_encoding=p.sms_encoding,
            sms_segments=p.sms_segments,
            whatsapp_text=p.whatsapp_text,
        )


class VariableOut(Schema):
    name: str = Field(description="Written {{name}} in a text")
    label: str
    events: list[str] = Field(description="The events whose texts may use it")
