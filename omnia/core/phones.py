"""Phone numbers are stored as E.164, parsed with the shop's region (KZ by default)."""

from __future__ import annotations

import phonenumbers
from django.conf import settings

from omnia.core.errors import ValidationFailed


def normalize_phone(raw: str, *, region: str | None = None, field: str = "phone") -> str:
    """Return `raw` as E.164 ('+77011234567') or raise ValidationFailed naming `field`.

    Accepts '8 701 123 45 67', '+7 (701) 123-45-67', '77011234567' and WhatsApp-style digit ids.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationFailed(field=field, message="A phone number is required.", code="PHONE_REQUIRED")
    region = region or str(settings.OMNIA_REGION)
    digits = "".join(ch for ch in text if ch.isdigit())
    candidates = [text]
    if not text.startswith("+") and len(digits) > 10:
        # International digits without '+' (e.g. WhatsApp wa_id '77011234567').
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise ValidationFailed(field=field, message=f"{raw!r} is not a valid phone number.", code="PHONE_INVALID")


def format_phone(e164: str) -> str:
    """Human form for display: '+7 701 123 4567'."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
