"""Login throttling (django-axes) counts failures per e-mail address, whatever its case."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def login_name(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The e-mail being tried, lower-cased: 'Op@Shop.kz' and 'op@shop.kz' share one counter."""
    raw = (credentials or {}).get("username") or request.POST.get("username")
    return str(raw).strip().lower() if raw else None
