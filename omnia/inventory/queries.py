from __future__ import annotations

from django.db.models import Count, QuerySet, Sum

from omnia.inventory.models import Location, StockLevel, StockMove


def get_location_by_code(code: str) -> Location | None:
    return Location.objects.filter(code=code).first()


def list_locations(*, active_only: bool = True) -> QuerySet[Location]:
    qs = Location.objects.all()
    return qs.filter(is_active=True) if active_only else qs


def list_stock_drift() -> list[dict[str, int]]:
    """Stock levels whose on-hand differs from the sum of their ledger rows (should be none)."""
    ledger = {
        (row["variant_id"], row["location_id"]): row["total"] or 0
        for row in StockMove.objects.values("variant_id", "location_id").annotate(total=Sum("quantity"))
    }
    drift = []
    for level in StockLevel.objects.values("variant_id", "location_id", "on_hand").iterator():
        key = (level["variant_id"], level["location_id"])
        expected = ledger.pop(key, 0)
        if expected != level["on_hand"]:
            drift.append({"variant_id": key[0], "location_id": key[1], "on_hand": level["on_hand"], "ledger": expected})
    for (variant_id, location_id), total in ledger.items():
        if total:
            drift.append({"variant_id": variant_id, "location_id": location_id, "on_hand": 0, "ledger": total})
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
