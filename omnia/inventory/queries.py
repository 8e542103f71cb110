from __future__ import annotations

from django.db.models import Count, QuerySet, Sum

from omnia.inventory.models import Location, StockLevel, StockMove, Transfer, TransferLine


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
