"""Stock over REST: availability per location, the ledger, receipts, sales, returns, corrections,
reservations, transfers and supplies.

Locations are named by their `code`, variants by their SKU. Reads need the `stock:read` scope,
changes `stock:write`; corrections are for a manager or the owner (CORRECTION_FORBIDDEN otherwise).
Domain errors become the common error shape in omnia.api: SKU_NOT_FOUND / LOCATION_NOT_FOUND → 404,
OUT_OF_STOCK / WRONG_STATE → 409, QUANTITY_INVALID / REASON_REQUIRED → 422; nothing is changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from omnia.catalog import actions_import
from omnia.catalog import queries as catalog_queries
from omnia.catalog.models import ImportJob, Variant
from omnia.core.pagination import Page, paginate
from omnia.core.permissions import Section, actor_of, authorize
from omnia.inventory import actions, availability, imports, queries
from omnia.inventory.errors import InvalidQuantity, WrongState
from omnia.inventory.models import Reservation, StockMove, Supply, Transfer
from omnia.inventory.schemas import (
    AvailabilityBatchIn,
    AvailabilityBatchOut,
    AvailabilityOut,
    CancelIn,
    ConsumeIn,
    CorrectionIn,
    CorrectionOut,
    ImportErrorOut,
    ImportJobOut,
    ImportPreviewOut,
    ImportPreviewRowOut,
    LineIn,
    LocationOut,
    LocationStockOut,
    MoveOut,
    ReceiptIn,
    ReceiptOut,
    ReleaseIn,
    ReservationIn,
    ReservationOut,
    ReturnIn,
    SaleIn,
    SupplyIn,
    SupplyOut,
    SupplyReceiveIn,
    TransferIn,
    TransferOut,
    WhereElseOut,
)

router = Router(tags=["stock"])


def _lines(lines: Sequence[LineIn], *, field: str = "lines") -> list[actions.Line]:
    """Document lines with their variants; SKU_NOT_FOUND names the line (lines[2].sku)."""
    found = catalog_queries.find_variants_by_sku((line.sku for line in lines), related=False)
    resolved = []
    for index, line in enumerate(lines):
        variant = found.get(line.sku.strip()) or catalog_queries.get_variant_by_sku(
            line.sku, field=f"{field}[{index}].sku"
        )
        resolved.append(actions.Line(variant=variant, quantity=line.quantity))
    return resolved


def _move(move: StockMove) -> MoveOut:
    return MoveOut.of(queries.list_moves().get(pk=move.pk))


@router.get("/locations", response=list[LocationOut], summary="Stores, warehouses and pick-up points")
def list_locations(request: HttpRequest) -> list[LocationOut]:
    authorize(actor_of(request), Section.STOCK)
    return [LocationOut.of(loc) for loc in queries.list_locations()]


# --- availability ----------------------------------------------------------------------------------------


@router.get(
    "/availability",
    response=AvailabilityOut,
    summary="Where a variant is: per active location on hand, reserved, available, in transit, next arrival",
    description=(
        "`price` is what the customer pays now (the promotional price while the promotion runs); "
        "`regular_price` the price without it. With `city`, `ships` says whether the location delivers "
        "there and `pickup` whether it offers pick-up in that city. Locations with most available come first. "
        "An unknown SKU answers 404 SKU_NOT_FOUND."
    ),
)
def get_availability(request: HttpRequest, sku: str, city: str = "") -> AvailabilityOut:
    authorize(actor_of(request), Section.STOCK)
    variant = catalog_queries.get_variant_by_sku(sku)
    rows = availability.availability([variant.pk], city=city).get(variant.pk, [])
    return AvailabilityOut.of(variant, rows)


@router.post(
    "/availability",
    response=AvailabilityBatchOut,
    summary="Availability of up to 200 SKUs at once (items in the order asked)",
    description="The same answer as GET /availability for each SKU; an unknown one answers 404 naming skus[i].",
)
def batch_availability(request: HttpRequest, payload: AvailabilityBatchIn) -> AvailabilityBatchOut:
    authorize(actor_of(request), Section.STOCK)
    found = catalog_queries.find_variants_by_sku(payload.skus)
    variants: list[Variant] = [
        found.get(sku.strip()) or catalog_queries.get_variant_by_sku(sku, field=f"skus[{index}]")
        for index, sku in enumerate(payload.skus)
    ]
    table = availability.availability([v.pk for v in variants], city=payload.city)
    return AvailabilityBatchOut(items=[AvailabilityOut.of(v, table.get(v.pk, [])) for v in variants])


@router.get(
    "/stock/where-else",
    response=WhereElseOut,
    summary="The endless aisle: other locations with the variant available now",
    description="`exclude` is the asking location's code (left out of the answer); `city` as in /availability.",
)
def where_else(request: HttpRequest, sku: str, exclude: str = "", city: str = "") -> WhereElseOut:
    authorize(actor_of(request), Section.STOCK)
    variant = catalog_queries.get_variant_by_sku(sku)
    excluded = queries.get_location(exclude, field="exclude") if exclude.strip() else None
    rows = availability.where_else(variant.pk, exclude_location_id=excluded.pk if excluded else None, city=city)
    return WhereElseOut(sku=variant.sku, locations=[LocationStockOut.of(r) for r in rows])


# --- the ledger and the documents that write it -------------------------------------------------------------


@router.get(
    "/stock/ledger",
    response=Page[MoveOut],
    summary="Stock moves, newest first: every change of on-hand or reserved with who, why and which document",
)
def list_ledger(
    request: HttpRequest,
    sku: str = "",
    location: str = "",
    kind: StockMove.Kind | None = None,
    reference: str = "",
    cursor: str | None = None,
    limit: int = Query(50),
) -> dict[str, object]:
    authorize(actor_of(request), Section.STOCK)
    variant = catalog_queries.get_variant_by_sku(sku) if sku.strip() else None
    place = queries.get_location(location) if location.strip() else None
    moves = queries.list_moves(
        variant_id=variant.pk if variant else None, location_id=place.pk if place else None,
        kind=kind or "", reference=reference.strip(),
    )  # fmt: skip
    return paginate(moves, cursor=cursor, limit=limit, serialize=MoveOut.of)


@router.post(
    "/stock/receipts",
    response={201: ReceiptOut},
    summary="Goods arrived at a location outside a supply document (an opening balance, a found box)",
    description="One ledger row per line (lines of one SKU are added up). Expected deliveries: /stock/supplies.",
)
def receive(request: HttpRequest, payload: ReceiptIn) -> Status[ReceiptOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    location = queries.get_location(payload.location, active_only=True)
    moves = actions.do_receive(
        actor=actor, location=location, lines=_lines(payload.lines), reference=payload.reference,
        reason=payload.reason,
    )  # fmt: skip
    return Status(201, ReceiptOut(location=location.code, reference=payload.reference, moves=[_move(m) for m in moves]))


@router.post(
    "/stock/sales",
    response={201: MoveOut},
    summary="Units left with a customer without a reservation (a store sale): only what is available",
)
def sell(request: HttpRequest, payload: SaleIn) -> Status[MoveOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    variant = catalog_queries.get_variant_by_sku(payload.sku)
    location = queries.get_location(payload.location, active_only=True)
    move = actions.check_sell(
        actor=actor, variant=variant, location=location, quantity=payload.quantity, reference=payload.reference
    )
    return Status(201, _move(move))


@router.post("/stock/returns", response={201: MoveOut}, summary="A customer brought units back to a location")
def take_return(request: HttpRequest, payload: ReturnIn) -> Status[MoveOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    variant = catalog_queries.get_variant_by_sku(payload.sku)
    location = queries.get_location(payload.location, active_only=True)
    move = actions.do_return(
        actor=actor, variant=variant, location=location, quantity=payload.quantity, reference=payload.reference,
        reason=payload.reason,
    )  # fmt: skip
    return Status(201, _move(move))


@router.post(
    "/stock/corrections",
    response={201: CorrectionOut, 200: CorrectionOut},
    summary="Correct on-hand after a count (manager or owner; a reason is required)",
    description=(
        "Give `counted` (units on the shelf) or `delta` (units to add or remove). 201 with the ledger row; "
        "200 with `changed: false` when the count already matches. On-hand may not drop below what is reserved "
        "(409 OUT_OF_STOCK). No reason: 422 REASON_REQUIRED; another role: 403 CORRECTION_FORBIDDEN."
    ),
)
def correct(request: HttpRequest, payload: CorrectionIn) -> Status[CorrectionOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    variant = catalog_queries.get_variant_by_sku(payload.sku)
    location = queries.get_location(payload.location, active_only=True)
    move = actions.check_correct(
        actor=actor, variant=variant, location=location, counted=payload.counted, delta=payload.delta,
        reason=payload.reason,
    )  # fmt: skip
    if move is None:
        return Status(200, CorrectionOut(changed=False, move=None))
    return Status(201, CorrectionOut(changed=True, move=_move(move)))


# --- reservations -------------------------------------------------------------------------------------------


@router.post(
    "/stock/reservations",
    response={201: ReservationOut},
    summary="Set units aside at a location (a hold for a customer, a cart, an order line)",
    description="409 OUT_OF_STOCK (nothing reserved) when fewer are available. `expires_at` ends a hold on its own.",
)
def reserve(request: HttpRequest, payload: ReservationIn) -> Status[ReservationOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    variant = catalog_queries.get_variant_by_sku(payload.sku)
    location = queries.get_location(payload.location, active_only=True)
    reservation = actions.check_reserve(
        actor=actor, variant=variant, location=location, quantity=payload.quantity, owner_kind=payload.owner_kind,
        owner_ref=payload.owner_ref, expires_at=payload.expires_at, note=payload.note,
    )  # fmt: skip
    return Status(201, ReservationOut.of(queries.get_reservation(reservation.pk)))


@router.get("/stock/reservations", response=Page[ReservationOut], summary="Reservations, newest first")
def list_reservations(
    request: HttpRequest,
    sku: str = "",
    location: str = "",
    status: Reservation.Status | None = None,
    owner_kind: Reservation.Owner | None = None,
    owner_ref: str = "",
    cursor: str | None = None,
    limit: int = Query(50),
) -> dict[str, object]:
    authorize(actor_of(request), Section.STOCK)
    variant = catalog_queries.get_variant_by_sku(sku) if sku.strip() else None
    place = queries.get_location(location) if location.strip() else None
    reservations = queries.list_reservations(
        variant_id=variant.pk if variant else None, location_id=place.pk if place else None, status=status or "",
        owner_kind=owner_kind or "", owner_ref=owner_ref.strip(),
    )  # fmt: skip
    return paginate(reservations, cursor=cursor, limit=limit, serialize=ReservationOut.of)


@router.get("/stock/reservations/{reservation_id}", response=ReservationOut, summary="One reservation")
def get_reservation(request: HttpRequest, reservation_id: int) -> ReservationOut:
    authorize(actor_of(request), Section.STOCK)
    return ReservationOut.of(queries.get_reservation(reservation_id))


@router.post(
    "/stock/reservations/{reservation_id}/release",
    response=ReservationOut,
    summary="Give reserved units back to available (releasing twice releases once)",
    description="A reservation already sold or shipped answers 409 WRONG_STATE.",
)
def release(request: HttpRequest, reservation_id: int, payload: ReleaseIn) -> ReservationOut:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    reservation = queries.get_reservation(reservation_id)
    if reservation.status == Reservation.Status.CONSUMED:
        raise WrongState(f"The reservation is {reservation.get_status_display()}, not active.", field="reservation")
    actions.do_release(actor=actor, reservation=reservation, reason=payload.reason)
    return ReservationOut.of(queries.get_reservation(reservation_id))


@router.post(
    "/stock/reservations/{reservation_id}/consume",
    response=ReservationOut,
    summary="The reserved units leave (sold, handed over): on hand and reserved both drop",
    description="Only an active reservation: otherwise 409 WRONG_STATE.",
)
def consume(request: HttpRequest, reservation_id: int, payload: ConsumeIn) -> ReservationOut:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    reservation = queries.get_reservation(reservation_id)
    actions.check_consume(actor=actor, reservation=reservation, reference=payload.reference)
    return ReservationOut.of(queries.get_reservation(reservation_id))


# --- transfers ------------------------------------------------------------------------------------------------


@router.post(
    "/stock/transfers",
    response={201: TransferOut},
    summary="Ask for units to move between two locations; they are reserved at the source at once",
    description="409 OUT_OF_STOCK naming the line when the source has too few available; nothing is created.",
)
def request_transfer(request: HttpRequest, payload: TransferIn) -> Status[TransferOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    source = queries.get_location(payload.source, field="source", active_only=True)
    destination = queries.get_location(payload.destination, field="destination", active_only=True)
    transfer = actions.check_request_transfer(
        actor=actor, source=source, destination=destination, lines=_lines(payload.lines),
        expected_on=payload.expected_on, note=payload.note,
    )  # fmt: skip
    return Status(201, TransferOut.of(queries.get_transfer(transfer.pk)))


@router.get(
    "/stock/transfers",
    response=Page[TransferOut],
    summary="Transfers from or to a location, newest first",
)
def list_transfers(
    request: HttpRequest,
    location: str = "",
    status: Transfer.Status | None = None,
    cursor: str | None = None,
    limit: int = Query(50),
) -> dict[str, object]:
    authorize(actor_of(request), Section.STOCK)
    place = queries.get_location(location) if location.strip() else None
    transfers = queries.list_transfers(location_id=place.pk if place else None, status=status or "")
    return paginate(transfers, cursor=cursor, limit=limit, serialize=TransferOut.of)


@router.get("/stock/transfers/{transfer_id}", response=TransferOut, summary="One transfer with its lines")
def get_transfer(request: HttpRequest, transfer_id: int) -> TransferOut:
    authorize(actor_of(request), Section.STOCK)
    return TransferOut.of(queries.get_transfer(transfer_id))


@router.post(
    "/stock/transfers/{transfer_id}/ship",
    response=TransferOut,
    summary="The source hands the units over: they leave its stock and are in transit",
    description="Only a requested transfer: otherwise 409 WRONG_STATE.",
)
def ship_transfer(request: HttpRequest, transfer_id: int) -> TransferOut:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    actions.check_ship_transfer(actor=actor, transfer=queries.get_transfer(transfer_id))
    return TransferOut.of(queries.get_transfer(transfer_id))


@router.post(
    "/stock/transfers/{transfer_id}/receive",
    response=TransferOut,
    summary="The destination got the units: on hand there, no longer in transit",
    description="Only a shipped transfer: otherwise 409 WRONG_STATE.",
)
def receive_transfer(request: HttpRequest, transfer_id: int) -> TransferOut:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    actions.check_receive_transfer(actor=actor, transfer=queries.get_transfer(transfer_id))
    return TransferOut.of(queries.get_transfer(transfer_id))


@router.post(
    "/stock/transfers/{transfer_id}/cancel",
    response=TransferOut,
    summary="Cancel a transfer not shipped yet; its units are available at the source again",
    description="A shipped or received transfer answers 409 WRONG_STATE.",
)
def cancel_transfer(request: HttpRequest, transfer_id: int, payload: CancelIn) -> TransferOut:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    actions.check_cancel_transfer(actor=actor, transfer=queries.get_transfer(transfer_id), reason=payload.reason)
    return TransferOut.of(queries.get_transfer(transfer_id))


# --- supplies -------------------------------------------------------------------------------------------------


@router.post(
    "/stock/supplies",
    response={201: SupplyOut},
    summary="Record an expected delivery; its date is the next arrival people see",
)
def create_supply(request: HttpRequest, payload: SupplyIn) -> Status[SupplyOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    location = queries.get_location(payload.location, active_only=True)
    lines = _lines(payload.lines)
    supply = actions.check_create_supply(
        actor=actor, location=location, expected_on=payload.expected_on,  # type: ignore[arg-type]  # checked there
        lines=lines, supplier=payload.supplier, reference=payload.reference,
    )  # fmt: skip
    return Status(201, SupplyOut.of(queries.get_supply(supply.pk)))


@router.get("/stock/supplies", response=Page[SupplyOut], summary="Supplies, newest first")
def list_supplies(
    request: HttpRequest,
    location: str = "",
    status: Supply.Status | None = None,
    cursor: str | None = None,
    limit: int = Query(50),
) -> dict[str, object]:
    authorize(actor_of(request), Section.STOCK)
    place = queries.get_location(location) if location.strip() else None
    supplies = queries.list_supplies(location_id=place.pk if place else None, status=status or "")
    return paginate(supplies, cursor=cursor, limit=limit, serialize=SupplyOut.of)


@router.get("/stock/supplies/{supply_id}", response=SupplyOut, summary="One supply with its lines")
def get_supply(request: HttpRequest, supply_id: int) -> SupplyOut:
    authorize(actor_of(request), Section.STOCK)
    return SupplyOut.of(queries.get_supply(supply_id))


@router.post(
    "/stock/supplies/{supply_id}/receive",
    response=SupplyOut,
    summary="Post what arrived: every line as expected, or the quantities given per SKU (once per supply)",
)
def receive_supply(request: HttpRequest, supply_id: int, payload: SupplyReceiveIn | None = None) -> SupplyOut:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    supply = queries.get_supply(supply_id)
    received: dict[int, int] | None = None
    if payload is not None and payload.lines is not None:
        received = {}
        for index, line in enumerate(payload.lines):
            variant = catalog_queries.get_variant_by_sku(line.sku, field=f"lines[{index}].sku")
            if line.quantity < 0:
                raise InvalidQuantity("A received quantity is zero or more.", field=f"lines[{index}].quantity")
            received[variant.pk] = received.get(variant.pk, 0) + line.quantity
    actions.check_receive_supply(actor=actor, supply=supply, received=received)
    return SupplyOut.of(queries.get_supply(supply_id))


@router.post(
    "/stock/supplies/{supply_id}/cancel",
    response=SupplyOut,
    summary="Cancel an expected supply (it no longer shows as the next arrival)",
)
def cancel_supply(request: HttpRequest, supply_id: int) -> SupplyOut:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    actions.check_cancel_supply(actor=actor, supply=queries.get_supply(supply_id))
    return SupplyOut.of(queries.get_supply(supply_id))


# --- catalog import and export (with the per-location stock columns) -----------------------------------------

MAX_ERRORS_PAGE = 1000


def _import_job(job: ImportJob, *, errors_offset: int = 0, errors_limit: int = 200) -> ImportJobOut:
    previewing = job.status == ImportJob.Status.PREVIEW
    preview = None
    if previewing:
        parsed = actions_import.read_import_preview(job)
        rows = [
            ImportPreviewRowOut(row=r.row, values=r.display(), errors=[ImportErrorOut(**e.as_dict()) for e in r.errors])
            for r in (parsed.rows if parsed else [])
        ]
        preview = ImportPreviewOut(
            columns=parsed.columns if parsed else {}, ignored_columns=parsed.ignored if parsed else [],
            would_create=job.created_count, would_update=job.updated_count, would_leave_unchanged=job.unchanged_count,
            rows=rows,
        )  # fmt: skip
    errors = job.errors[errors_offset : errors_offset + errors_limit]
    return ImportJobOut(
        id=job.pk, status=job.status, filename=job.filename, created_at=job.created_at, finished_at=job.finished_at,
        total_rows=job.total_rows, processed_rows=job.processed_rows,
        created=0 if previewing else job.created_count, updated=0 if previewing else job.updated_count,
        unchanged=0 if previewing else job.unchanged_count, error_count=job.error_count,
        errors=[ImportErrorOut(**{"column": "", **e}) for e in errors], errors_offset=errors_offset, preview=preview,
    )  # fmt: skip


@router.post(
    "/catalog/imports",
    response={201: ImportJobOut},
    summary="Upload a CSV/XLSX catalog (1C, МойСклад or our export); answers the preview, nothing is imported yet",
    description=(
        "Columns in Russian or English: Артикул/SKU (required), Наименование, Модификация, Штрихкод, Цена, "
        "Цена со скидкой, Начало/Конец акции, Бренд, Категория/Группа (a path 'A / B'), Описание, "
        "Наименование (kk|en), Размер, Цвет, Характеристика: <name>, Вес (kg) or Вес, г, Длина/Ширина/Высота, мм, "
        "Внешний код, В продаже, and Остаток: <location code> (units counted there). Rows are matched by SKU: "
        "importing again updates, never duplicates. The preview forecasts created / updated / unchanged rows "
        "and lists per-row errors (row, column, message). Managers and the owner only."
    ),
)
def upload_catalog_import(request: HttpRequest, file: File[UploadedFile]) -> Status[ImportJobOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    job = imports.check_start_import(actor=actor, upload=file)
    return Status(201, _import_job(job))


@router.get("/catalog/imports", response=Page[ImportJobOut], summary="Catalog imports, newest first")
def list_catalog_imports(request: HttpRequest, cursor: str | None = None, limit: int = Query(20)) -> dict[str, object]:
    authorize(actor_of(request), Section.STOCK)
    return paginate(
        catalog_queries.list_import_jobs(), cursor=cursor, limit=limit,
        serialize=lambda job: _import_job(job, errors_limit=20),
    )  # fmt: skip


@router.post(
    "/catalog/imports/{job_id}/confirm",
    response={202: ImportJobOut},
    summary="Start a previewed import in the background; poll GET /catalog/imports/{id} for progress",
    description="Rows with errors are skipped whole; the rest are written. 409 IMPORT_NOT_PENDING if not in preview.",
)
def confirm_catalog_import(request: HttpRequest, job_id: int) -> Status[ImportJobOut]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    job = imports.do_confirm_import(actor=actor, job=catalog_queries.get_import_job(job_id))
    return Status(202, _import_job(job))


@router.get(
    "/catalog/imports/{job_id}",
    response=ImportJobOut,
    summary="An import's status, progress (processed_rows of total_rows), counts and per-row errors",
)
def get_catalog_import(
    request: HttpRequest, job_id: int, errors_offset: int = Query(0, ge=0),
    errors_limit: int = Query(200, ge=1, le=MAX_ERRORS_PAGE),
) -> ImportJobOut:  # fmt: skip
    authorize(actor_of(request), Section.STOCK)
    job = catalog_queries.get_import_job(job_id)
    return _import_job(job, errors_offset=errors_offset, errors_limit=errors_limit)


@router.delete(
    "/catalog/imports/{job_id}",
    response={204: None},
    summary="Drop an import still awaiting confirmation (and its stored file)",
)
def cancel_catalog_import(request: HttpRequest, job_id: int) -> Status[None]:
    actor = actor_of(request)
    authorize(actor, Section.STOCK, write=True)
    actions_import.do_cancel_import(actor=actor, job=catalog_queries.get_import_job(job_id))
    return Status(204, None)


@router.get(
    "/catalog/export",
    response={200: None},
    summary="Download the catalog as CSV or XLSX, in the columns the import reads (round trip: no changes)",
    description=(
        "`format`: csv (UTF-8 with BOM, `;`-separated, as Russian Excel opens it) or xlsx. `stock=true` adds "
        "'Остаток: <code>' (on hand) per active location; `active=true` leaves out what is off sale."
    ),
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file",
                "content": {content_type: {"schema": {"type": "string", "format": "binary"}}
                            for content_type in imports.CONTENT_TYPES.values()},
            }
        }
    },
)  # fmt: skip
def export_catalog(
    request: HttpRequest, format: Literal["csv", "xlsx"] = "csv", stock: bool = False, active: bool = False
) -> HttpResponse:
    authorize(actor_of(request), Section.STOCK)
    name, content_type, data = imports.export_file(file_format=format, with_stock=stock, active_only=active)
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
