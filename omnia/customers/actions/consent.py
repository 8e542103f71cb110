"""Consents: who may be written to, where and why; given and withdrawn with when, where and how."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from omnia.core import clock
from omnia.core.errors import ValidationFailed
from omnia.customers.actions.timeline import do_record_timeline
from omnia.customers.models import ChannelKind, Consent, Customer, TimelineEntry


def check_consent_target(channel: str, purpose: str) -> None:
    if channel != Consent.ANY_CHANNEL and channel not in ChannelKind.values:
        raise ValidationFailed(f"Unknown channel {channel!r}.", field="channel", code="CHANNEL_INVALID")
    if purpose not in Consent.Purpose.values:
        raise ValidationFailed("Use transactional or marketing.", field="purpose", code="PURPOSE_INVALID")


@transaction.atomic
def check_record_consent(
    *,
    customer: Customer,
    channel: str,
    purpose: str,
    granted: bool,
    source: str,
    method: str,
    actor: Any = None,
    at: dt.datetime | None = None,
    note: str = "",
) -> Consent:
    """Record a consent given or withdrawn (e.g. a STOP reply); the latest per channel and purpose is in force."""
    check_consent_target(channel, purpose)
    if not source.strip() or not method.strip():
        raise ValidationFailed(
            "Say where and how the customer said so.",
            field="source" if not source.strip() else "method",
            code="CONSENT_ORIGIN_REQUIRED",
        )
    at = at or clock.now()
    consent = Consent.objects.create(
        customer=customer,
        channel=channel,
        purpose=purpose,
        granted=granted,
        at=at,
        source=source.strip()[:100],
        method=method.strip()[:100],
        actor=getattr(actor, "audit_user", None),
        note=note[:300],
    )
    verb = "granted" if granted else "withdrawn"
    channel_label = "every channel" if channel == Consent.ANY_CHANNEL else ChannelKind(channel).label
    do_record_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.CONSENT,
        at=at,
        channel="" if channel == "any" else channel,
        summary=f"{Consent.Purpose(purpose).label} via {channel_label}: {verb} ({method})",
        ref=consent,
        actor=actor,
        data={"purpose": purpose, "channel": channel, "granted": granted, "method": consent.method},
    )
    return consent
