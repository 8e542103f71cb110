"""The fake Kaspi Shop API, as a fixture for every test here."""

from tests.orders.kaspi.fake_kaspi import fake_kaspi  # noqa: F401  (the fixture)
