"""Delivery errors with their stable codes (the API maps them to 404 / 409 / 422 in omnia.api)."""

from __future__ import annotations

from omnia.core.errors import Conflict, NotFound


class CarrierNotFound(NotFound):
    code = "CARRIER_NOT_FOUND"


class ZoneNotFound(NotFound):
    code = "ZONE_NOT_FOUND"


class TariffNotFound(NotFound):
    code = "TARIFF_NOT_FOUND"


class CarrierInUse(Conflict):
    code = "CARRIER_IN_USE"


class OptionUnavailable(Conflict):
    """The option chosen is not (or no longer) among the order's delivery options."""

    code = "DELIVERY_OPTION_UNAVAILABLE"
