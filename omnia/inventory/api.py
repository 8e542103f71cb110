from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from omnia.core.permissions import Section, actor_of, authorize
from omnia.inventory import queries
from omnia.inventory.schemas import LocationOut

router = Router(tags=["stock"])


@router.get("/locations", response=list[LocationOut], summary="Stores, warehouses and pick-up points")
def list_locations(request: HttpRequest) -> list[LocationOut]:
    authorize(actor_of(request), Section.STOCK)
    return [LocationOut.of(loc) for loc in queries.list_locations()]
