"""Reads for the notification templates: the text in effect for each event, channel and language (the
shop's own or the built-in one), for the console's grid and editor and the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation

from omnia.channels.models import MessageTemplate, Provider
from omnia.core.config import SUPPORTED_LANGUAGES
from omnia.core.errors import NotFound, ValidationFailed
from omnia.notifications import texts, variables
from omnia.notifications.models import Event, Template


class TemplateNotFound(NotFound):
    code = "TEMPLATE_NOT_FOUND"


@dataclass(frozen=True)
class Key:
    event: str
    channel: str
    language: str


def clean_key(event: str, channel: str, language: str) -> Key:
    """(event, channel, language) checked: EVENT_INVALID, CHANNEL_INVALID, LANGUAGE_INVALID."""
    event = str(event or "").strip().lower()
    if event not in Event.values:
        raise ValidationFailed(
            f"Unknown event {event!r}: use one of {', '.join(Event.values)}.", field="event", code="EVENT_INVALID"
        )
    channel = str(channel or "").strip().lower()
    if channel and channel not in Provider.values:
        raise ValidationFailed(
            f"Unknown channel {channel!r}: use one of {', '.join(Provider.values)}, or none for every channel.",
            field="channel",
            code="CHANNEL_INVALID",
        )
    language = str(language or "").strip().lower()
    if language not in SUPPORTED_LANGUAGES:
        raise ValidationFailed("The language is ru, kk or en.", field="language", code="LANGUAGE_INVALID")
    return Key(event, channel, language)


def find_template(key: Key) -> Template | None:
    return (
        Template.objects.select_related("whatsapp_template__channel", "updated_by")
        .filter(event=key.event, channel=key.channel, language=key.language)
        .first()
    )


def get_template(event: str, channel: str, language: str) -> Template:
    """The shop's own template for exactly this key; TEMPLATE_NOT_FOUND when there is none."""
    key = clean_key(event, channel, language)
    found = find_template(key)
    if found is None:
        raise TemplateNotFound(
            f"The shop has no own text for {key.event} ({key.channel or 'every channel'}, {key.language}): "
            "the built-in one is used.",
            field="event",
        )
    return found


@dataclass(frozen=True)
class Effective:
    """The text for one (event, channel, language): the shop's own for it (`template`), else — for one
    channel — the shop's text for every channel (`inherited`), else the built-in one."""

    event: str
    channel: str
    language: str
    subject: str
    body: str
    template: Template | None = None
    inherited: Template | None = None
    variables: tuple[str, ...] = field(default=())

    @property
    def is_custom(self) -> bool:
        """The shop wrote a text for exactly this key (DELETE removes it)."""
        return self.template is not None

    @property
    def source(self) -> str:
        """Where the text in effect comes from: 'shop', 'every_channel' or 'built_in'."""
        if self.template is not None:
            return "shop"
        return "every_channel" if self.inherited is not None else "built_in"

    @property
    def _used(self) -> Template | None:
        return self.template or self.inherited

    @property
    def whatsapp_template(self) -> MessageTemplate | None:
        return self._used.whatsapp_template if self._used else None

    @property
    def whatsapp_values(self) -> list[str]:
        return list(self._used.whatsapp_values or []) if self._used else []

    @property
    def is_active(self) -> bool:
        return self._used.is_active if self._used else True

    @property
    def updated_at(self) -> dt.datetime | None:
        return self.template.updated_at if self.template else None


def built_in_source(event: str, language: str) -> tuple[str, str]:
    """(body, subject) of the built-in text in `language`, with its variables, as the editor starts from."""
    with translation.override(language):
        return texts.source_of(event)


def _effective(key: Key, template: Template | None, inherited: Template | None = None) -> Effective:
    used = template or inherited
    if used is not None:
        body, subject = used.body, used.subject
    else:
        body, subject = built_in_source(key.event, key.language)
    return Effective(
        event=key.event,
        channel=key.channel,
        language=key.language,
        subject=subject,
        body=body,
        template=template,
        inherited=inherited if template is None else None,
        variables=variables.allowed(key.event),
    )


def effective(event: str, channel: str, language: str) -> Effective:
    """The text in effect for this key: the shop's for it, else (for one channel) its text for every
    channel, else the built-in text (as a template, with its variables)."""
    key = clean_key(event, channel, language)
    template = find_template(key)
    inherited = None
    if template is None and key.channel:
        inherited = find_template(Key(key.event, "", key.language))
    return _effective(key, template, inherited)


def effective_list(*, event: str = "", language: str = "") -> list[Effective]:
    """For every event and language: the text for every channel (the shop's or built-in), then the shop's
    texts for one channel. Optionally only one event or language."""
    customs = Template.objects.select_related("whatsapp_template__channel", "updated_by")
    if event:
        customs = customs.filter(event=event)
    if language:
        customs = customs.filter(language=language)
    by_key: dict[tuple[str, str, str], Template] = {(t.event, t.channel, t.language): t for t in customs}
    result: list[Effective] = []
    for ev in Event.values:
        if event and ev != event:
            continue
        for lang in SUPPORTED_LANGUAGES:
            if language and lang != language:
                continue
            result.append(_effective(Key(ev, "", lang), by_key.get((ev, "", lang))))
            for (e, channel, la), template in sorted(by_key.items()):
                if e == ev and la == lang and channel:
                    result.append(_effective(Key(ev, channel, lang), template))
    return result


def grid() -> list[dict[str, Any]]:
    """The console's overview: per event, per language, which channels have the shop's own text."""
    edited: dict[tuple[str, str], list[Template]] = {}
    for template in Template.objects.order_by("channel"):
        edited.setdefault((template.event, template.language), []).append(template)
    return [
        {
            "event": ev,
            "label": label,
            "cells": [{"language": lang, "templates": edited.get((ev, lang), [])} for lang in SUPPORTED_LANGUAGES],
        }
        for ev, label in Event.choices
    ]
