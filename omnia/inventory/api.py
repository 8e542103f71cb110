from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from omnia.core.permissions import Section, authorize
from omnia.inventory import queries
from omnia.inventory.schemas import LocationOut

router = Router(tags=["stock"])


@router.get("/locations", response=list[LocationOut], summary="Stores, warehouses and pick-up points")
def list_locations(request: HttpRequest) -> list[LocationOut]:
    authorize(request.auth, Section.STOCK)  # type: ignore[attr-defined]
    return [LocationOut.of(loc) for loc in queries.list_locations()]
