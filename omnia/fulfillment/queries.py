"""Reads for delivery: carriers with their zones and tariffs, the shop-wide settings, an order's choice."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from omnia.core.money import default_currency
from omnia.fulfillment.errors import CarrierNotFound, TariffNotFound, ZoneNotFound
from omnia.fulfillment.models import Carrier, DeliveryChoice, DeliverySettings, Tariff, Zone


def list_carriers() -> QuerySet[Carrier]:
    """Every carrier (active first in their position), with zones and tariffs prefetched."""
    return Carrier.objects.prefetch_related(
        Prefetch("zones", queryset=Zone.objects.select_related("origin").prefetch_related("tariffs"))
    ).order_by("-is_active", "position", "name", "id")


def get_carrier(carrier_id: int, *, field: str | None = None) -> Carrier:
    carrier = list_carriers().filter(pk=carrier_id).first()
    if carrier is None:
        raise CarrierNotFound(f"No carrier {carrier_id}.", field=field)
    return carrier


def get_zone(zone_id: int, *, field: str | None = None) -> Zone:
    zone = Zone.objects.select_related("carrier", "origin").prefetch_related("tariffs").filter(pk=zone_id).first()
    if zone is None:
        raise ZoneNotFound(f"No delivery zone {zone_id}.", field=field)
    return zone


def get_tariff(tariff_id: int, *, field: str | None = None) -> Tariff:
    tariff = Tariff.objects.select_related("zone", "zone__carrier").filter(pk=tariff_id).first()
    if tariff is None:
        raise TariffNotFound(f"No tariff {tariff_id}.", field=field)
    return tariff


def delivery_settings() -> DeliverySettings:
    """The shop's delivery settings; before anyone saved them, the defaults (unsaved) in the shop currency."""
    found = DeliverySettings.objects.order_by("pk").first()
    if found is not None:
        return found
    return DeliverySettings(currency=default_currency())


@dataclass(frozen=True)
class ZoneArea:
    """Where an active zone of an active carrier delivers: read as plain values, so that a quote builds
    full zones (with carrier and tariffs) only for the few that serve its city."""

    pk: int
    cities: list[str]
    origin: tuple[float, float] | None  # the origin location's coordinates, for a distance zone
    max_distance_km: float | None


def zone_areas() -> list[ZoneArea]:
    """Every active zone of an active carrier, its cities and distance: one query of plain values."""
    rows = Zone.objects.filter(is_active=True, carrier__is_active=True).values_list(
        "pk", "cities", "origin__latitude", "origin__longitude", "max_distance_km"
    )
    return [
        ZoneArea(
            pk=pk,
            cities=list(cities or []),
            origin=(float(lat), float(lon)) if lat is not None and lon is not None else None,
            max_distance_km=float(distance) if distance is not None else None,
        )
        for pk, cities, lat, lon, distance in rows
    ]


def zones_with_tariffs(ids: list[int]) -> list[Zone]:
    """These zones with their carrier, origin and tariffs, in the carriers' order: two queries (none
    without ids)."""
    if not ids:
        return []
    return list(
        Zone.objects.filter(pk__in=ids)
        .select_related("carrier", "origin")
        .prefetch_related("tariffs")
        .order_by("carrier__position", "carrier__name", "carrier_id", "position", "name", "id")
    )


def get_choice(order_id: int) -> DeliveryChoice | None:
    """The delivery option the order goes with, if one was chosen."""
    return (
        DeliveryChoice.objects.select_related("carrier", "zone", "location", "chosen_by")
        .filter(order_id=order_id)
        .first()
    )
