from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from omnia.core.errors import ValidationFailed
from omnia.inventory.errors import LocationNotFound, ReservationNotFound, SupplyNotFound, TransferNotFound
from omnia.inventory.models import (
    Location,
    Reservation,
    StockLevel,
    StockMove,
    StockSubscription,
    Supply,
    SupplyLine,
    Transfer,
    TransferLine,
)


def get_location_by_code(code: str) -> Location | None:
    return Location.objects.filter(code=code).first()


def list_locations(*, active_only: bool = True) -> QuerySet[Location]:
    qs = Location.objects.all()
    return qs.filter(is_active=True) if active_only else qs


def list_stock_drift() -> list[dict[str, int]]:
    """Stock levels that disagree with their ledger (on hand, reserved) or with the transfers on the
    way (in transit); there should be none. One dict per disagreeing (variant, location)."""
    ledger = {
        (row["variant_id"], row["location_id"]): (row["on_hand"] or 0, row["reserved"] or 0)
        for row in StockMove.objects.values("variant_id", "location_id").annotate(
            on_hand=Sum("quantity"), reserved=Sum("reserved_change")
        )
    }
    travelling = {
        (row["variant_id"], row["transfer__destination_id"]): row["total"] or 0
        for row in TransferLine.objects.filter(transfer__status=Transfer.Status.SHIPPED)
        .values("variant_id", "transfer__destination_id")
        .annotate(total=Sum("quantity"))
    }
    drift = []
    levels = StockLevel.objects.values("variant_id", "location_id", "on_hand", "reserved", "in_transit")
    for level in levels.iterator():
        key = (level["variant_id"], level["location_id"])
        on_hand, reserved = ledger.pop(key, (0, 0))
        in_transit = travelling.pop(key, 0)
        if (on_hand, reserved, in_transit) != (level["on_hand"], level["reserved"], level["in_transit"]):
            drift.append(
                {
                    "variant_id": key[0],
                    "location_id": key[1],
                    "on_hand": level["on_hand"],
                    "ledger": on_hand,
                    "reserved": level["reserved"],
                    "ledger_reserved": reserved,
                    "in_transit": level["in_transit"],
                    "transfers_in_transit": in_transit,
                }
            )
    for (variant_id, location_id), (on_hand, reserved) in ledger.items():
        if on_hand or reserved:
            drift.append(
                {"variant_id": variant_id, "location_id": location_id, "on_hand": 0, "ledger": on_hand,
                 "reserved": 0, "ledger_reserved": reserved, "in_transit": 0, "transfers_in_transit": 0}
            )  # fmt: skip
    return drift


def list_stores() -> QuerySet[Location]:
    return Location.objects.filter(kind=Location.Kind.STORE, is_active=True)


def stock_table(variant_ids: list[int]) -> dict[tuple[int, int], StockLevel]:
    """{(variant_id, location_id): StockLevel} for the given variants."""
    if not variant_ids:
        return {}
    return {
        (level.variant_id, level.location_id): level for level in StockLevel.objects.filter(variant_id__in=variant_ids)
    }


def location_summary() -> list[dict[str, object]]:
    """Per active location: how many SKUs are in stock and how many units are on hand."""
    rows = (
        StockLevel.objects.filter(location__is_active=True, on_hand__gt=0)
        .values("location_id")
        .annotate(skus=Count("id"), units=Sum("on_hand"), reserved=Sum("reserved"))
    )
    by_location = {row["location_id"]: row for row in rows}
    return [
        {
            "location": loc,
            "skus": by_location.get(loc.pk, {}).get("skus", 0),
            "units": by_location.get(loc.pk, {}).get("units", 0) or 0,
            "reserved": by_location.get(loc.pk, {}).get("reserved", 0) or 0,
        }
        for loc in list_locations()
    ]


# --- lookups and lists for the API and the console ------------------------------------------------------


def get_location(code: str, *, field: str = "location", active_only: bool = False) -> Location:
    """The location with this code; LOCATION_NOT_FOUND naming `field` otherwise (or when it is closed
    and `active_only`: stock is not moved in or out of a closed location)."""
    code = str(code or "").strip()
    location = Location.objects.filter(code=code).first()
    if location is None:
        raise LocationNotFound(f"No location has the code {code!r}.", field=field)
    if active_only and not location.is_active:
        raise ValidationFailed(f"The location {code!r} is closed.", field=field, code="LOCATION_INACTIVE")
    return location


def get_reservation(reservation_id: int, *, field: str = "reservation_id") -> Reservation:
    reservation = Reservation.objects.select_related("variant", "location", "actor").filter(pk=reservation_id).first()
    if reservation is None:
        raise ReservationNotFound(f"No reservation #{reservation_id}.", field=field)
    return reservation


def get_transfer(transfer_id: int, *, field: str = "transfer_id") -> Transfer:
    transfer = _transfers().filter(pk=transfer_id).first()
    if transfer is None:
        raise TransferNotFound(f"No transfer #{transfer_id}.", field=field)
    return transfer


def get_supply(supply_id: int, *, field: str = "supply_id") -> Supply:
    supply = _supplies().filter(pk=supply_id).first()
    if supply is None:
        raise SupplyNotFound(f"No supply #{supply_id}.", field=field)
    return supply


def list_moves(
    *, variant_id: int | None = None, location_id: int | None = None, kind: str = "", reference: str = ""
) -> QuerySet[StockMove]:
    """The ledger, filtered; newest first by id (the order rows were written)."""
    qs = StockMove.objects.select_related("variant", "location", "actor").order_by("-id")
    if variant_id is not None:
        qs = qs.filter(variant_id=variant_id)
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    if kind:
        qs = qs.filter(kind=kind)
    if reference:
        qs = qs.filter(reference=reference)
    return qs


def list_reservations(
    *,
    variant_id: int | None = None,
    location_id: int | None = None,
    status: str = "",
    owner_kind: str = "",
    owner_ref: str = "",
) -> QuerySet[Reservation]:
    qs = Reservation.objects.select_related("variant", "location").order_by("-id")
    if variant_id is not None:
        qs = qs.filter(variant_id=variant_id)
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    if status:
        qs = qs.filter(status=status)
    if owner_kind:
        qs = qs.filter(owner_kind=owner_kind)
    if owner_ref:
        qs = qs.filter(owner_ref=owner_ref)
    return qs


def _transfers() -> QuerySet[Transfer]:
    return Transfer.objects.select_related("source", "destination").prefetch_related(
        Prefetch("lines", queryset=TransferLine.objects.select_related("variant").order_by("id"))
    )


def list_transfers(*, location_id: int | None = None, status: str = "") -> QuerySet[Transfer]:
    """Transfers from or to `location_id`, in a status; newest first."""
    qs = _transfers().order_by("-id")
    if location_id is not None:
        qs = qs.filter(Q(source_id=location_id) | Q(destination_id=location_id))
    if status:
        qs = qs.filter(status=status)
    return qs


def _supplies() -> QuerySet[Supply]:
    return Supply.objects.select_related("location").prefetch_related(
        Prefetch("lines", queryset=SupplyLine.objects.select_related("variant").order_by("id"))
    )


def list_supplies(*, location_id: int | None = None, status: str = "") -> QuerySet[Supply]:
    qs = _supplies().order_by("-id")
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    if status:
        qs = qs.filter(status=status)
    return qs


def list_stock_requests(
    *, customer_id: int | None = None, variant_id: int | None = None
) -> QuerySet[StockSubscription]:
    qs = StockSubscription.objects.select_related("variant", "location").order_by("-id")
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if variant_id is not None:
        qs = qs.filter(variant_id=variant_id)
    return qs
