"""The fake Satu.kz API, as a fixture for every test here."""

from tests.orders.satu.fake_satu import fake_satu  # noqa: F401  (the fixture)
