"""Canned responses: creating, changing and deleting them (owners and managers; operators only use them)."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction

from omnia.conversations.models import CannedResponse
from omnia.conversations.queries_canned import ALLOWED_FIELDS, unknown_variables
from omnia.core import clock
from omnia.core.audit import do_record_audit
from omnia.core.errors import Conflict, ValidationFailed
from omnia.core.permissions import Section, require

SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
PROVIDER = re.compile(r"^[a-z]{0,16}$")  # providers are named in omnia.channels, a layer above
MAX_TITLE_LENGTH = 120
MAX_TEXT_LENGTH = 4000
EDITABLE = ("shortcut", "title", "text", "channel", "language", "is_active")


def _allowed_list() -> str:
    return ", ".join(f"{source}.{field}" for source, fields in ALLOWED_FIELDS.items() for field in sorted(fields))


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    """Trimmed and checked; ValidationFailed names the field (and an unknown variable by name)."""
    cleaned = dict(fields)
    if "shortcut" in cleaned:
        cleaned["shortcut"] = str(cleaned["shortcut"]).strip().lstrip("/").lower()
        if not SHORTCUT.match(cleaned["shortcut"]):
            raise ValidationFailed(
                "A shortcut is up to 50 latin letters, digits, '-' or '_', e.g. 'delivery'.",
                field="shortcut",
                code="CANNED_SHORTCUT_INVALID",
            )
    if "title" in cleaned:
        cleaned["title"] = str(cleaned["title"]).strip()
        if not cleaned["title"] or len(cleaned["title"]) > MAX_TITLE_LENGTH:
            raise ValidationFailed(f"A title has 1 to {MAX_TITLE_LENGTH} characters.", field="title")
    if "text" in cleaned:
        cleaned["text"] = str(cleaned["text"]).strip()
        if not cleaned["text"] or len(cleaned["text"]) > MAX_TEXT_LENGTH:
            raise ValidationFailed(f"The text has 1 to {MAX_TEXT_LENGTH} characters.", field="text")
        unknown = unknown_variables(cleaned["text"])
        if unknown:
            raise ValidationFailed(
                f"Unknown variable {{{{{unknown[0]}}}}}: use one of {_allowed_list()}.",
                field="text",
                code="CANNED_VARIABLE_UNKNOWN",
            )
    if "channel" in cleaned:
        cleaned["channel"] = str(cleaned["channel"] or "").strip().lower()
        if not PROVIDER.match(cleaned["channel"]):
            raise ValidationFailed("Unknown channel.", field="channel", code="CHANNEL_INVALID")
    if "language" in cleaned:
        cleaned["language"] = str(cleaned["language"] or "").strip().lower()
        if cleaned["language"] not in CannedResponse.Language.values:
            raise ValidationFailed(
                "The language is ru, kk, en or empty (all).", field="language", code="LANGUAGE_INVALID"
            )
    if "is_active" in cleaned:
        cleaned["is_active"] = bool(cleaned["is_active"])
    return cleaned


def _check_may_edit(actor: Any) -> None:
    if actor is not None:  # None: the system itself (imports, fixtures)
        require(actor, Section.SETTINGS)


def _save(canned: CannedResponse) -> None:
    taken = CannedResponse.objects.filter(
        shortcut=canned.shortcut, channel=canned.channel, language=canned.language
    ).exclude(pk=canned.pk)
    error = Conflict(
        f"/{canned.shortcut} already exists for this channel and language.",
        field="shortcut",
        code="CANNED_SHORTCUT_TAKEN",
    )
    if taken.exists():
        raise error
    try:
        with transaction.atomic():
            canned.save()
    except IntegrityError as exc:  # stored at the same moment by someone else
        raise error from exc


def _public(canned: CannedResponse) -> dict[str, Any]:
    return {field: getattr(canned, field) for field in EDITABLE}


@transaction.atomic
def check_create_canned(
    *, actor: Any, shortcut: str, title: str, text: str, channel: str = "", language: str = ""
) -> CannedResponse:
    """Save a canned response; its variables must be on the allow-list (CANNED_VARIABLE_UNKNOWN)."""
    _check_may_edit(actor)
    fields = _clean({"shortcut": shortcut, "title": title, "text": text, "channel": channel, "language": language})
    canned = CannedResponse(**fields, created_by=getattr(actor, "audit_user", None), updated_at=clock.now())
    _save(canned)
    do_record_audit(actor=actor, action="canned_response.created", target=canned, changes=_public(canned))
    return canned


@transaction.atomic
def check_update_canned(*, actor: Any, canned: CannedResponse, **fields: Any) -> CannedResponse:
    """Change any of shortcut, title, text, channel, language, is_active; others are refused."""
    _check_may_edit(actor)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(f"{sorted(unknown)[0]} cannot be changed.", field=sorted(unknown)[0])
    cleaned = _clean(fields)
    before = _public(canned)
    for name, value in cleaned.items():
        setattr(canned, name, value)
    changes = {name: [before[name], value] for name, value in cleaned.items() if before[name] != value}
    if not changes:
        return canned
    canned.updated_at = clock.now()
    _save(canned)
    do_record_audit(actor=actor, action="canned_response.updated", target=canned, changes=changes)
    return canned


@transaction.atomic
def check_delete_canned(*, actor: Any, canned: CannedResponse) -> None:
    """Delete it for good (to hide it for a while, set is_active to false instead)."""
    _check_may_edit(actor)
    do_record_audit(actor=actor, action="canned_response.deleted", target=canned, changes=_public(canned))
    canned.delete()
