from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from tests.channels.sms.fake_twilio import fake_twilio

__all__ = ["fake_twilio"]


@pytest.fixture(autouse=True)
def _fresh_send_spacing() -> Iterator[None]:
    """delivery.py spaces sends per channel through the cache: start every test with none recorded."""
    cache.clear()
    yield
    cache.clear()
