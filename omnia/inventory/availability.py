"""Where a variant is, in one place: the console, the API, orders and the widget all ask here.

For each active location: on hand, reserved, available, in transit, whether it ships to the customer's
city or offers pick-up there, and the next arrival (the earliest expected supply or transfer, with its
quantity). Two indexed queries whatever the number of variants: the active locations with these
variants' stock levels joined on, and the arrivals (supplies and transfers in one UNION ALL).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import F, FilteredRelation, Q, Sum

from omnia.inventory.models import Location, StockLevel, Supply, SupplyLine, Transfer, TransferLine


@dataclass(frozen=True)
class Arrival:
    date: dt.date
    quantity: int


@dataclass(frozen=True)
class LocationStock:
    location: Location
    on_hand: int
    reserved: int
    in_transit: int
    ships: bool  # ships orders to the asked city (or anywhere, when no city was asked)
    pickup: bool  # offers pick-up in the asked city (or at all)
    next_arrival: Arrival | None
    low: bool  # available under the level's low-stock threshold

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def _arrivals(variant_ids: list[int]) -> dict[tuple[int, int], Arrival]:
    """The earliest expected delivery per (variant, location): supplies and transfers on their way."""
    dated: defaultdict[tuple[int, int], dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    supplies = (
        SupplyLine.objects.filter(
            variant_id__in=variant_ids, supply__status=Supply.Status.EXPECTED, quantity__gt=F("received_quantity")
        )
        .values_list("variant_id", "supply__location_id", "supply__expected_on")
        .annotate(total=Sum(F("quantity") - F("received_quantity")))
        .order_by()
    )
    transfers = (
        TransferLine.objects.filter(
            variant_id__in=variant_ids,
            transfer__status__in=[Transfer.Status.REQUESTED, Transfer.Status.SHIPPED],
            transfer__expected_on__isnull=False,
        )
        .values_list("variant_id", "transfer__destination_id", "transfer__expected_on")
        .annotate(total=Sum("quantity"))
        .order_by()
    )
    for variant_id, location_id, expected_on, total in supplies.union(transfers, all=True):
        dated[(variant_id, location_id)][expected_on] += total
    return {key: Arrival(date=min(dates), quantity=dates[min(dates)]) for key, dates in dated.items()}


_LEVEL_FIELDS = ("variant_id", "on_hand", "reserved", "in_transit", "low_stock_threshold")


def _places_and_levels(ids: list[int]) -> tuple[list[Location], dict[tuple[int, int], dict[str, Any]]]:
    """The active locations, and these variants' stock levels there, in one query (a location joined
    to its levels of these variants: one row per level, or one without when it has none of them)."""
    rows = (
        Location.objects.filter(is_active=True)
        .annotate(level=FilteredRelation("stock_levels", condition=Q(stock_levels__variant_id__in=ids)))
        .annotate(**{f"level_{name}": F(f"level__{name}") for name in _LEVEL_FIELDS})
        .order_by("pk")
    )
    places: dict[int, Location] = {}
    levels: dict[tuple[int, int], dict[str, Any]] = {}
    for row in rows:
        places.setdefault(row.pk, row)
        variant_id = row.level_variant_id  # type: ignore[attr-defined]
        if variant_id is not None:
            levels[(variant_id, row.pk)] = {name: getattr(row, f"level_{name}") for name in _LEVEL_FIELDS}
    return list(places.values()), levels


def availability(
    variant_ids: Iterable[int], *, city: str = "", locations: list[Location] | None = None, arrivals: bool = True
) -> dict[int, list[LocationStock]]:
    """{variant_id: [LocationStock per active location, most available first]}. arrivals=False leaves
    next_arrival out (None) and saves its two queries: placing an order needs only what is there now."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    levels: dict[tuple[int, int], dict[str, Any]]
    if locations is None:
        places, levels = _places_and_levels(ids)
    else:
        places = locations
        levels = {
            (row["variant_id"], row["location_id"]): dict(row)
            for row in StockLevel.objects.filter(variant_id__in=ids, location__is_active=True).values(
                "variant_id", "location_id", "on_hand", "reserved", "in_transit", "low_stock_threshold"
            )
        }
    coming = _arrivals(ids) if arrivals else {}
    wanted = city.strip().casefold()
    result: dict[int, list[LocationStock]] = {}
    for variant_id in ids:
        rows = []
        for place in places:
            level = levels.get((variant_id, place.pk))
            on_hand = level["on_hand"] if level else 0
            reserved = level["reserved"] if level else 0
            threshold = level["low_stock_threshold"] if level else None
            rows.append(
                LocationStock(
                    location=place,
                    on_hand=on_hand,
                    reserved=reserved,
                    in_transit=level["in_transit"] if level else 0,
                    ships=place.ships_to_city(city) if wanted else place.ships,
                    pickup=place.offers_pickup and (not wanted or place.city.casefold() == wanted),
                    next_arrival=coming.get((variant_id, place.pk)),
                    low=threshold is not None and on_hand - reserved < threshold,
                )
            )
        rows.sort(key=lambda r: (-r.available, r.location.kind != Location.Kind.STORE, r.location.name))
        result[variant_id] = rows
    return result


def where_else(variant_id: int, *, exclude_location_id: int | None = None, city: str = "") -> list[LocationStock]:
    """The endless aisle: other locations that have this variant available now, most first."""
    rows = availability([variant_id], city=city).get(variant_id, [])
    return [r for r in rows if r.available > 0 and r.location.pk != exclude_location_id]
