"""Where orders are picked up and shipped from, for the placing tests."""

from __future__ import annotations

import pytest

from omnia.inventory.models import Location
from tests.factories import make_location


@pytest.fixture
def store() -> Location:
    return make_location(code="mega", city="Алматы", offers_pickup=True)


@pytest.fixture
def warehouse() -> Location:
    return make_location(code="wh", kind=Location.Kind.WAREHOUSE, city="Астана", ships=True, sells=False)
