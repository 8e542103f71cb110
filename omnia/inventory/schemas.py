from __future__ import annotations

from ninja import Schema

from omnia.inventory.models import Location


class LocationOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    city: str
    address: str
    opening_hours: str
    sells: bool
    ships: bool
    offers_pickup: bool
    accepts_returns: bool

    @staticmethod
    def of(loc: Location) -> LocationOut:
        return LocationOut(
            id=loc.pk,
            code=loc.code,
            name=loc.name,
            kind=loc.kind,
            city=loc.city,
            address=loc.address,
            opening_hours=loc.opening_hours,
            sells=loc.sells,
            ships=loc.ships,
            offers_pickup=loc.offers_pickup,
            accepts_returns=loc.accepts_returns,
        )
