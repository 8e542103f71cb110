"""Approved message templates: their placeholders, how a filled one reads, and what goes to the provider."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from omnia.channels.models import MessageTemplate
from omnia.core.errors import ValidationFailed

PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
MAX_PARAMETER = 1024  # characters of one value


def placeholders(body: str) -> int:
    """How many values the body takes; ValidationFailed unless they are {{1}}…{{n}} with none missing."""
    numbers = {int(n) for n in PLACEHOLDER.findall(body)}
    if numbers and numbers != set(range(1, max(numbers) + 1)):
        missing = sorted(set(range(1, max(numbers) + 1)) - numbers)
        raise ValidationFailed(
            f"The placeholders must be numbered from {{{{1}}}} without gaps: {{{{{missing[0]}}}}} is missing.",
            field="body",
            code="TEMPLATE_PLACEHOLDERS",
        )
    return len(numbers)


def _clean_values(template: MessageTemplate, values: Sequence[str]) -> list[str]:
    wanted = placeholders(template.body)
    cleaned = [" ".join(str(v).split()) for v in values]
    if len(cleaned) != wanted:
        raise ValidationFailed(
            f"The template {template.name} takes {wanted} values, not {len(cleaned)}.",
            field="values",
            code="TEMPLATE_VALUES",
        )
    for index, value in enumerate(cleaned):
        if not value:
            raise ValidationFailed(f"Value {{{{{index + 1}}}}} is empty.", field=f"values[{index}]", code="REQUIRED")
        if len(value) > MAX_PARAMETER:
            raise ValidationFailed(
                f"Value {{{{{index + 1}}}}} is longer than {MAX_PARAMETER} characters.",
                field=f"values[{index}]",
                code="TOO_LONG",
            )
    return cleaned


def render(template: MessageTemplate, values: Sequence[str]) -> str:
    """The text the customer reads: the body with the values in place (kept in the thread)."""
    cleaned = _clean_values(template, values)
    return PLACEHOLDER.sub(lambda m: cleaned[int(m.group(1)) - 1], template.body)


def payload(template: MessageTemplate, values: Sequence[str]) -> dict[str, Any]:
    """What the send path hands the provider: {"name", "language": {"code"}, "components"?}."""
    cleaned = _clean_values(template, values)
    result: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if cleaned:
        result["components"] = [{"type": "body", "parameters": [{"type": "text", "text": v} for v in cleaned]}]
    return result
