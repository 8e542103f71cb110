"""The catalog spreadsheet with stock: import (upload → preview → confirm → background run) and export.

The catalog import (omnia.catalog.actions_import) matches rows by SKU and writes products and
variants; this module adds the optional per-location stock columns ("Остаток: <location>"), which
is why the whole import runs from here: inventory may use the catalog, not the other way round.

A stock cell is the number of units counted at that location. Importing it is a stock correction to
that count (a ledger row with the reason "import #N", by a manager or the owner); a count equal to
on hand writes nothing, so a file imported twice changes stock once. A count below what is reserved
refuses the row (nothing of it is written). A column naming no location refuses the file.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django_tasks import task

from omnia.catalog import actions_import
from omnia.catalog.imports import (
    STOCK_COLUMN,
    ImportFileInvalid,
    ImportRow,
    ParsedFile,
    Table,
    write_csv,
    write_xlsx,
)
from omnia.catalog.models import ImportJob, Variant
from omnia.core import clock
from omnia.core.errors import DomainError
from omnia.core.text import search_key
from omnia.inventory import actions
from omnia.inventory.models import Location, StockLevel

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class StockColumns:
    """The "Остаток: <location>" columns: each a location by code (or name), each cell a count."""

    def __init__(self) -> None:
        self.locations: dict[str, Location] = {}
        self.on_hand: dict[tuple[int, int], int] = {}  # (variant, location) → on hand, for the preview

    def check_file(self, parsed: ParsedFile) -> None:
        places = list(Location.objects.all())
        by_code = {p.code.casefold(): p for p in places}
        by_name: dict[str, list[Location]] = {}
        for each in places:
            by_name.setdefault(search_key(each.name), []).append(each)
        for label in parsed.stock_labels:
            title = parsed.layout.title(f"stock:{label}")
            named = by_name.get(search_key(label), [])
            place: Location | None = by_code.get(label.casefold()) or (named[0] if len(named) == 1 else None)
            if place is None:
                raise ImportFileInvalid(
                    f"{title}: no location has the code or name {label!r}.", code="IMPORT_UNKNOWN_LOCATION"
                )
            if not place.is_active:
                raise ImportFileInvalid(
                    f"{title}: the location {place.code} is closed.", code="IMPORT_UNKNOWN_LOCATION"
                )
            self.locations[label] = place

    def preload(self, variant_ids: list[int]) -> None:
        levels = StockLevel.objects.filter(variant_id__in=variant_ids, location__in=list(self.locations.values()))
        self.on_hand = {(v, loc): n for v, loc, n in levels.values_list("variant_id", "location_id", "on_hand")}

    def forecast(self, row: ImportRow, variant_id: int | None) -> bool:
        if variant_id is None:
            return any(counted for _, counted in row.stock)
        return any(
            self.on_hand.get((variant_id, self.locations[label].pk), 0) != counted for label, counted in row.stock
        )

    def apply(self, *, row: ImportRow, variant: Variant, actor: Any, job: ImportJob) -> bool:
        changed = False
        for label, counted in row.stock:
            try:
                move = actions.check_correct(
                    actor=actor, variant=variant, location=self.locations[label], counted=counted,
                    reason=f"import #{job.pk} ({job.filename})",
                )  # fmt: skip
            except DomainError as exc:
                exc.field = f"stock:{label}"
                raise
            changed = changed or move is not None
        return changed


def check_start_import(*, actor: Any, upload: UploadedFile) -> ImportJob:
    """Store and preview a catalog file (with its stock columns); nothing is imported yet."""
    return actions_import.check_start_import(actor=actor, upload=upload, extension=StockColumns())


def do_confirm_import(*, actor: Any, job: ImportJob) -> ImportJob:
    """Start a previewed import in the background (after commit)."""
    return actions_import.do_confirm_import(actor=actor, job=job, enqueue=import_catalog.enqueue)


def do_run_import(*, job_id: int) -> ImportJob:
    return actions_import.do_run_import(job_id=job_id, extension=StockColumns())


@task()
def import_catalog(job_id: int) -> dict[str, int | str]:
    """Run a confirmed catalog import to the end (or continue one a stopped worker left running)."""
    job = do_run_import(job_id=job_id)
    return {
        "status": job.status,
        "processed": job.processed_rows,
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "errors": job.error_count,
    }


def export_table(*, with_stock: bool = False, active_only: bool = False) -> Table:
    """The catalog as the import reads it; with `with_stock`, on hand per active location ("Остаток: code")."""
    variants = list(actions_import.export_variants(active_only=active_only))
    table = actions_import.export_table(variants)
    if with_stock:
        levels: dict[tuple[int, int], int] = {
            (variant_id, location_id): on_hand
            for variant_id, location_id, on_hand in StockLevel.objects.filter(
                variant_id__in=table.variant_ids
            ).values_list("variant_id", "location_id", "on_hand")
        }
        for place in Location.objects.filter(is_active=True).order_by("code"):
            table.add_column(
                STOCK_COLUMN.format(place.code),
                {variant_id: levels.get((variant_id, place.pk), 0) for variant_id in table.variant_ids},
            )
    return table


def export_file(*, file_format: str, with_stock: bool = False, active_only: bool = False) -> tuple[str, str, bytes]:
    """(file name, content type, bytes) of the catalog export as CSV or XLSX."""
    table = export_table(with_stock=with_stock, active_only=active_only)
    data = write_xlsx(table) if file_format == "xlsx" else write_csv(table)
    name = f"catalog-{clock.local_now():%Y%m%d-%H%M}.{file_format}"
    return name, CONTENT_TYPES[file_format], data
