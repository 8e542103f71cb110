from __future__ import annotations

from django.db.models import QuerySet

from omnia.channels.models import Channel


def get_active_channel(*, provider: str, key: str) -> Channel | None:
    return Channel.objects.filter(provider=provider, key=key, is_active=True).first()


def list_channels() -> QuerySet[Channel]:
    return Channel.objects.order_by("provider", "name")
