from __future__ import annotations

import threading
import time

from django.db.models import QuerySet

from omnia.channels.models import Channel

# Webhooks look their channel up on every delivery: each process keeps what it read for a second.
# A change made in this process is seen at once (Channel.save forgets); other server processes see
# a switched-off channel or new secret within CACHE_SECONDS.
CACHE_SECONDS = 1.0
_cache: dict[tuple[str, str], tuple[float, Channel | None]] = {}
_cache_lock = threading.Lock()


def get_active_channel(*, provider: str, key: str) -> Channel | None:
    now = time.monotonic()
    hit = _cache.get((provider, key))
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    channel = Channel.objects.filter(provider=provider, key=key, is_active=True).first()
    with _cache_lock:
        _cache[(provider, key)] = (now, channel)
    return channel


def forget_channels() -> None:
    """Drop the looked-up channels (a channel changed)."""
    with _cache_lock:
        _cache.clear()


def list_channels() -> QuerySet[Channel]:
    return Channel.objects.order_by("provider", "name")
