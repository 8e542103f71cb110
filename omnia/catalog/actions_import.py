"""Catalog imports: upload and preview → confirm → the batched, resumable run; and the export.

Reading and checking the file is `omnia.catalog.imports` (pure). Here each valid row is matched to a
variant by its SKU:
- a known SKU → only the values that differ are written (product fields, translations, category,
  price and promotion, barcodes, attributes, weight and size); equal values write nothing, so
  importing a file again — or importing our own export — leaves every row "unchanged";
- a new SKU → a new variant, of the product with the row's external id (in the catalog or earlier in
  the file), else of the product with the same name (earlier in the file, or the only one in the
  catalog), else of a new product. A new SKU needs a price and, for a new product, a name;
- a row that fails anywhere is written not at all (one savepoint per row) and becomes a row error
  naming the row and the column.
Product values come from the first row of each product in a file: later rows of the same product
change only their variant. Only managers and the owner import (CATALOG_FORBIDDEN).

Columns another domain writes (the per-location stock) come in through a `RowExtension`, checked,
forecast and written with each row in the same savepoint (omnia.inventory.imports provides it).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils.text import get_valid_filename

from omnia.catalog import actions, queries
from omnia.catalog.imports import (
    ATTRIBUTE_COLUMN,
    CATEGORY_SEPARATOR,
    EXPORT_COLUMNS,
    MAX_BYTES,
    TRANSLATION_COLUMNS,
    ImportFileInvalid,
    ImportNotFound,
    ImportNotPending,
    ImportRow,
    Layout,
    ParsedFile,
    RowError,
    Table,
    check_file_name,
    parse_file,
)
from omnia.catalog.models import Barcode, Category, ImportJob, Product, Variant
from omnia.core import clock
from omnia.core.errors import DomainError

BATCH_SIZE = 200
PREVIEW_ROWS = 20
PREVIEW_ERRORS = 200
MAX_STORED_ERRORS = 1000
_ATTRIBUTE_COLUMNS = {"size": "Размер", "colour": "Цвет"}


class RowExtension(Protocol):
    """Columns another domain writes with each row (the per-location stock)."""

    def check_file(self, parsed: ParsedFile) -> None:
        """Refuse a file whose extra columns cannot be used (ImportFileInvalid naming the column)."""

    def preload(self, variant_ids: list[int]) -> None:
        """Read what the forecasts of these variants' rows need (a batch at a time)."""

    def forecast(self, row: ImportRow, variant_id: int | None) -> bool:
        """Whether writing the row's extra columns would change anything."""

    def apply(self, *, row: ImportRow, variant: Variant, actor: Any, job: ImportJob) -> bool:
        """Write the extra columns; True if something changed. A DomainError names its column as `field`."""


class NoExtension:
    def check_file(self, parsed: ParsedFile) -> None:
        return None

    def preload(self, variant_ids: list[int]) -> None:
        return None

    def forecast(self, row: ImportRow, variant_id: int | None) -> bool:
        return False

    def apply(self, *, row: ImportRow, variant: Variant, actor: Any, job: ImportJob) -> bool:
        return False


# --- what a row changes --------------------------------------------------------------------------------


class RowRefused(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


def _refuse(row: ImportRow, layout: Layout, name: str, message: str) -> RowRefused:
    title = layout.title(name)
    return RowRefused(RowError(row=row.row, field=name, column=title, message=f"{title}: {message}"))


_PRODUCT_FIELD_COLUMN = {
    "name": "name", "description": "description", "brand": "brand", "external_id": "external_id",
    "category_id": "category", "category": "category",
}  # fmt: skip
_VARIANT_FIELD_COLUMN = {
    "name": "variant_name", "sku": "sku", "barcodes": "barcodes", "price": "price", "promo_price": "promo_price",
    "promo_starts_at": "promo_starts_at", "promo_ends_at": "promo_ends_at", "weight_grams": "weight_grams",
    "is_active": "is_active",
}  # fmt: skip


def _column_of(error_field: str | None, *, product: bool, layout: Layout) -> str:
    """The import column a DomainError's field came from (translations.kk.name → name_kk…)."""
    name = (error_field or "").split("[")[0]
    if name.startswith("translations."):
        parts = name.split(".")
        return f"{parts[2] if len(parts) > 2 else 'name'}_{parts[1]}"
    if name.startswith("stock:"):
        return name
    if name.startswith("attributes."):
        key = name.split(".", 1)[1]
        return next((f for f, k in (("size", "size"), ("colour", "colour")) if k == key), f"attribute:{key}")
    if name == "weight_grams" and "weight_grams" not in layout.columns and "weight_kg" in layout.columns:
        return "weight_kg"
    table = _PRODUCT_FIELD_COLUMN if product else _VARIANT_FIELD_COLUMN
    return table.get(name, name or "row")


def _as_row_error(row: ImportRow, layout: Layout, exc: DomainError, *, product: bool) -> RowError:
    name = _column_of(exc.field, product=product, layout=layout)
    title = layout.title(name)
    return RowError(row=row.row, field=name, column=title, message=f"{title}: {exc.message}")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a.replace(microsecond=0) == b.replace(microsecond=0)
    return bool(a == b)


def _merged_translations(current: dict[str, Any], given: dict[str, dict[str, str]]) -> dict[str, Any]:
    merged = {lang: dict(entry) for lang, entry in (current or {}).items() if isinstance(entry, dict)}
    for lang, parts in given.items():
        entry = merged.setdefault(lang, {})
        for part, value in parts.items():
            if value:
                entry[part] = value
            else:
                entry.pop(part, None)
    return merged


def _merged_attributes(current: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    merged = {str(k): str(v) for k, v in (current or {}).items()}
    for key, value in given.items():
        if value:
            merged[key] = value
        else:
            merged.pop(key, None)
    return merged


@dataclass
class Plan:
    """What writing a row would do."""

    outcome: str  # "create" | "update" | "unchanged"
    variant: Variant | None = None  # the existing variant (None: a new one)
    product: Product | None = None  # the product to update, or the existing product a new variant joins
    product_key: str = ""  # a new product's identity in this file (external id or name)
    product_changes: dict[str, Any] = field(default_factory=dict)
    category: tuple[str, ...] | None = None  # a category path to set (None: leave)
    variant_changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What earlier rows of this file did (or, in the preview, would do)."""

    layout: Layout
    skus: dict[str, int] = field(default_factory=dict)  # folded SKU → row
    products_done: set[int] = field(default_factory=set)  # products whose fields a row already set
    new_products: dict[str, Product | None] = field(default_factory=dict)  # key → product (None: imagined)
    barcodes: dict[str, str] = field(default_factory=dict)  # barcode → SKU claimed earlier in the file
    paths: dict[int, list[str]] = field(default_factory=dict)  # category id → path
    categories: dict[tuple[str, ...], Category | None] = field(default_factory=dict)  # path → category
    catalog_products: dict[str, Product | None] = field(default_factory=dict)  # product key → catalog product
    barcode_owners: dict[str, tuple[int, str]] = field(default_factory=dict)  # barcode → (variant id, SKU)

    def product_key(self, row: ImportRow) -> str:
        external_id = row.product.get("external_id") or ""
        return f"id:{external_id}" if external_id else f"name:{row.product.get('name') or ''}"

    def preload(self, rows: list[ImportRow], variants: dict[str, Variant]) -> None:
        """Read what a batch's rows will be compared with in a few queries, not a few per row."""
        keys = {self.product_key(r) for r in rows if r.valid and r.sku.casefold() not in variants}
        keys -= set(self.new_products) | set(self.catalog_products)
        external_ids = [k[3:] for k in keys if k.startswith("id:")]
        names = [k[5:] for k in keys if k.startswith("name:") and k != "name:"]
        for key in keys:
            self.catalog_products[key] = None
        for product in Product.objects.filter(external_id__in=external_ids).order_by("-id"):
            self.catalog_products[f"id:{product.external_id}"] = product  # the oldest wins
        named: dict[str, list[Product]] = {}
        for product in Product.objects.filter(name__in=names):
            named.setdefault(product.name, []).append(product)
        for name, products in named.items():
            self.catalog_products[f"name:{name}"] = products[0] if len(products) == 1 else None
        codes = {code for r in rows for code in (r.variant.get("barcodes") or [])}
        self.barcode_owners = {
            code: (variant_id, sku)
            for code, variant_id, sku in Barcode.objects.filter(code__in=codes).values_list(
                "code", "variant_id", "variant__sku"
            )
        }


def _product_changes(
    row: ImportRow, product: Product | None, ctx: Context
) -> tuple[dict[str, Any], tuple[str, ...] | None]:
    """(changed product fields, category path or None) for an existing product; everything given for a new one."""
    layout = ctx.layout
    changes: dict[str, Any] = {}
    for name, value in row.product.items():
        if product is None or not _same(getattr(product, name), value):
            changes[name] = value
    if row.translations:
        current = product.translations if product is not None else {}
        merged = _merged_translations(current, row.translations)
        try:
            cleaned = actions.clean_translations(merged)
        except DomainError as exc:
            raise RowRefused(_as_row_error(row, layout, exc, product=True)) from exc
        if cleaned != (current or {}):
            changes["translations"] = cleaned
    category = None
    if row.category is not None:
        current_path = ctx.paths.get(product.category_id, []) if product is not None and product.category_id else []
        if list(row.category) != current_path:
            category = row.category
    return changes, category


def _variant_changes(row: ImportRow, variant: Variant | None, ctx: Context) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, value in row.variant.items():
        if variant is None:
            changes[name] = value
        elif name == "barcodes":
            if value != queries.barcodes_of(variant):
                changes[name] = value
        elif not _same(getattr(variant, name), value):
            changes[name] = value
    if row.attributes:
        current = variant.attributes if variant is not None else {}
        merged = _merged_attributes(current, row.attributes)
        if merged != (current or {}):
            changes["attributes"] = merged

    # The promotion as it would stand after the change; without a promotional price its dates go too.
    def after(name: str) -> Any:
        return changes[name] if name in changes else getattr(variant, name, None)

    if "promo_price" in row.variant and after("promo_price") is None:
        for name in ("promo_starts_at", "promo_ends_at"):
            changes.pop(name, None)
            if getattr(variant, name, None) is not None:
                changes[name] = None

    if after("price") is not None:
        try:
            actions.check_promotion(
                price=after("price"), promo_price=after("promo_price"), starts=after("promo_starts_at"),
                ends=after("promo_ends_at"),
            )  # fmt: skip
        except DomainError as exc:
            raise RowRefused(_as_row_error(row, ctx.layout, exc, product=False)) from exc
    return changes


def plan_row(row: ImportRow, variant: Variant | None, ctx: Context) -> Plan:
    """What importing `row` would do given the catalog (`variant`: the one with its SKU) and earlier rows."""
    layout = ctx.layout
    folded = row.sku.casefold()
    if folded in ctx.skus:
        raise _refuse(row, layout, "sku", f"the SKU {row.sku} is already in row {ctx.skus[folded]} of this file.")
    ctx.skus[folded] = row.row
    for code in row.variant.get("barcodes") or []:
        owner = ctx.barcodes.get(code)
        if owner is not None and owner.casefold() != folded:
            raise _refuse(row, layout, "barcodes", f"the barcode {code} is already given to {owner} in this file.")
    product_changes: dict[str, Any]
    category: tuple[str, ...] | None
    if variant is not None:
        known = variant.product
        if known.pk in ctx.products_done:
            product_changes, category = {}, None
        else:
            product_changes, category = _product_changes(row, known, ctx)
        variant_changes = _variant_changes(row, variant, ctx)
        changed = bool(product_changes or category is not None or variant_changes)
        return Plan(
            outcome="update" if changed else "unchanged", variant=variant, product=known,
            product_changes=product_changes, category=category, variant_changes=variant_changes,
        )  # fmt: skip
    if "price" not in row.variant:
        raise _refuse(row, layout, "price", "a price is required for a new SKU.")
    key = ctx.product_key(row)
    product = _existing_product(row, ctx)
    if product is not None:  # the new SKU joins a product of the catalog (or one made earlier in this file)
        joined = product.pk in ctx.products_done
        product_changes, category = ({}, None) if joined else _product_changes(row, product, ctx)
    elif key in ctx.new_products:  # the preview: a product an earlier row would make
        product_changes, category = {}, None
    elif not row.product.get("name"):
        raise _refuse(row, layout, "name", "the name is required for a new product.")
    else:
        product_changes, category = _product_changes(row, None, ctx)
    return Plan(
        outcome="create", product=product, product_key=key, product_changes=product_changes, category=category,
        variant_changes=_variant_changes(row, None, ctx),
    )  # fmt: skip


def _existing_product(row: ImportRow, ctx: Context) -> Product | None:
    """The product a new SKU joins: one made earlier in this file, else the catalog's with the row's external
    id, else the catalog's only product with the row's name (Context.preload read them)."""
    key = ctx.product_key(row)
    if key in ctx.new_products:
        return ctx.new_products[key]
    if key not in ctx.catalog_products:
        ctx.preload([row], {})
    return ctx.catalog_products.get(key)


def _landed(row: ImportRow, plan: Plan, ctx: Context, *, product_id: int | None) -> None:
    """Earlier rows' effects later rows must see: the barcodes they claimed, the products they set."""
    for code in row.variant.get("barcodes") or []:
        ctx.barcodes.setdefault(code, row.sku)
    if product_id is not None:
        ctx.products_done.add(product_id)
    elif plan.product_key not in ctx.new_products:
        ctx.new_products[plan.product_key] = None  # the preview imagines it: later rows of it join


def _variants_for(rows: Iterable[ImportRow]) -> dict[str, Variant]:
    """{folded SKU: variant} for the rows' SKUs (exact match first, then ignoring case)."""
    found = queries.find_variants_by_sku(r.sku for r in rows if r.valid)
    return {sku.casefold(): variant for sku, variant in found.items()}


# --- writing one row ----------------------------------------------------------------------------------------


def _write(plan: Plan, *, row: ImportRow, actor: Any, ctx: Context) -> Variant:
    """Write a planned row (inside the caller's savepoint). DomainErrors become RowRefused naming the column."""
    layout = ctx.layout
    product = plan.product
    try:
        category = _category(plan.category, actor=actor, ctx=ctx) if plan.category is not None else None
        product_changes = dict(plan.product_changes)
        if plan.category is not None:
            product_changes["category"] = category
        if product is None:
            product = actions.check_create_product(actor=actor, **product_changes)
            ctx.new_products[plan.product_key] = product
        elif product_changes:
            actions.check_update_product(actor=actor, product=product, **product_changes)
    except DomainError as exc:
        raise RowRefused(_as_row_error(row, layout, exc, product=True)) from exc
    try:
        if plan.variant is None:
            changes = dict(plan.variant_changes)
            price = changes.pop("price")
            return actions.check_create_variant(actor=actor, product=product, sku=row.sku, price=price, **changes)
        if plan.variant_changes:
            actions.check_update_variant(actor=actor, variant=plan.variant, **plan.variant_changes)
        return plan.variant
    except DomainError as exc:
        raise RowRefused(_as_row_error(row, layout, exc, product=False)) from exc


def _category(path: tuple[str, ...], *, actor: Any, ctx: Context) -> Category | None:
    if path not in ctx.categories:
        category = actions.check_category_path(actor=actor, path=path)
        ctx.categories[path] = category
        if category is not None and category.pk not in ctx.paths:
            ctx.paths = queries.category_paths()
    return ctx.categories[path]


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def fail(self, errors: Iterable[RowError]) -> None:
        errors = list(errors)
        self.errors += errors
        self.error_count += len(errors)


_OUTCOME = {"create": "created", "update": "updated", "unchanged": "unchanged"}


def import_rows(rows: list[ImportRow], *, actor: Any, ctx: Context, extension: RowExtension, job: ImportJob) -> Tally:
    """Write rows, each in its own savepoint; a refused row writes nothing and becomes its errors."""
    tally = Tally()
    variants = _variants_for(rows)
    ctx.preload(rows, variants)
    ctx.paths = queries.category_paths()
    for row in rows:
        if not row.valid:
            tally.fail(row.errors)
            continue
        known_products, known_paths = set(ctx.new_products), set(ctx.categories)
        try:
            with transaction.atomic():
                plan = plan_row(row, variants.get(row.sku.casefold()), ctx)
                variant = _write(plan, row=row, actor=actor, ctx=ctx)
                try:
                    extra = extension.apply(row=row, variant=variant, actor=actor, job=job)
                except DomainError as exc:
                    raise RowRefused(_as_row_error(row, ctx.layout, exc, product=False)) from exc
        except RowRefused as refused:
            for key in set(ctx.new_products) - known_products:  # rolled back with the row
                del ctx.new_products[key]
            for path in set(ctx.categories) - known_paths:
                del ctx.categories[path]
            tally.fail([refused.error])
            continue
        _landed(row, plan, ctx, product_id=variant.product_id)
        tally.add(_OUTCOME["update" if plan.outcome == "unchanged" and extra else plan.outcome])
    return tally


def forecast_rows(rows: list[ImportRow], *, ctx: Context, extension: RowExtension) -> Tally:
    """What import_rows would do, writing nothing (the preview)."""
    tally = Tally()
    ctx.paths = queries.category_paths()
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        variants = _variants_for(batch)
        ctx.preload(batch, variants)
        extension.preload([v.pk for v in variants.values()])
        for row in batch:
            if not row.valid:
                tally.fail(row.errors)
                continue
            variant = variants.get(row.sku.casefold())
            try:
                plan = plan_row(row, variant, ctx)
                _check_free(row, plan, ctx)
            except RowRefused as refused:
                tally.fail([refused.error])
                continue
            _landed(row, plan, ctx, product_id=plan.product.pk if plan.product is not None else None)
            extra = extension.forecast(row, variant.pk if variant else None)
            tally.add(_OUTCOME["update" if plan.outcome == "unchanged" and extra else plan.outcome])
    return tally


def _check_free(row: ImportRow, plan: Plan, ctx: Context) -> None:
    """The preview's view of unique barcodes (the run's actions check them for real)."""
    for code in plan.variant_changes.get("barcodes") or []:
        owner = ctx.barcode_owners.get(code)
        if owner is not None and (plan.variant is None or owner[0] != plan.variant.pk):
            raise _refuse(row, ctx.layout, "barcodes", f"the barcode {code} belongs to {owner[1]}.")


# --- the job's life -------------------------------------------------------------------------------------------


def _user_of(actor: Any) -> Any:
    user_model = get_user_model()
    if isinstance(actor, user_model):
        return actor
    user = getattr(actor, "audit_user", None)
    return user if isinstance(user, user_model) else None


def _read_upload(upload: UploadedFile) -> tuple[str, bytes]:
    name = os.path.basename(upload.name or "")
    check_file_name(name)
    if (upload.size or 0) > MAX_BYTES:
        raise ImportFileInvalid(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", code="IMPORT_TOO_BIG")
    data = upload.read(MAX_BYTES + 1)
    if not data:
        raise ImportFileInvalid("The file is empty.", code="IMPORT_EMPTY")
    return name, data


def check_start_import(*, actor: Any, upload: UploadedFile, extension: RowExtension | None = None) -> ImportJob:
    """Store an uploaded CSV/XLSX and forecast it (status PREVIEW); a file that cannot be imported stores nothing."""
    actions.require_catalog_editor(actor)
    extension = extension or NoExtension()
    name, data = _read_upload(upload)
    parsed = parse_file(name, data)
    extension.check_file(parsed)
    tally = forecast_rows(parsed.rows, ctx=Context(layout=parsed.layout), extension=extension)
    job = ImportJob(
        created_by=_user_of(actor), created_at=clock.now(), filename=name[:255], status=ImportJob.Status.PREVIEW,
        total_rows=parsed.total_rows, created_count=tally.created, updated_count=tally.updated,
        unchanged_count=tally.unchanged, error_count=tally.error_count,
        errors=[e.as_dict() for e in tally.errors[:PREVIEW_ERRORS]],
    )  # fmt: skip
    with transaction.atomic():
        job.file.save(get_valid_filename(name), ContentFile(data), save=False)
        job.save()
    return job


_RESET: dict[str, Any] = {
    "processed_rows": 0, "created_count": 0, "updated_count": 0, "unchanged_count": 0, "error_count": 0,
    "errors": [], "finished_at": None,
}  # fmt: skip


@transaction.atomic
def do_confirm_import(*, actor: Any, job: ImportJob, enqueue: Callable[[int], Any]) -> ImportJob:
    """Queue a previewed import (QUEUED); `enqueue(job_id)` runs after commit. IMPORT_NOT_PENDING if not PREVIEW."""
    actions.require_catalog_editor(actor)
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEW).update(
        status=ImportJob.Status.QUEUED, **_RESET
    )
    job.refresh_from_db()
    if not updated:
        raise ImportNotPending(f"Import #{job.pk} is {job.get_status_display()}, not awaiting confirmation.")
    job_id = job.pk
    transaction.on_commit(lambda: enqueue(job_id))
    return job


@transaction.atomic
def do_cancel_import(*, actor: Any, job: ImportJob) -> None:
    """Drop an import awaiting confirmation, and its stored file. IMPORT_NOT_PENDING once confirmed."""
    actions.require_catalog_editor(actor)
    locked = ImportJob.objects.select_for_update().filter(pk=job.pk, status=ImportJob.Status.PREVIEW).first()
    if locked is None:
        raise ImportNotPending(f"Import #{job.pk} was already confirmed: it cannot be cancelled.")
    name, storage = locked.file.name, locked.file.storage
    locked.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def _fail(job_id: int, message: str) -> ImportJob:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        job.status = ImportJob.Status.FAILED
        job.finished_at = clock.now()
        if len(job.errors) < MAX_STORED_ERRORS:
            job.errors = [*job.errors, {"row": None, "field": "file", "column": "", "message": message}]
        job.error_count += 1
        job.save(update_fields=["status", "finished_at", "errors", "error_count"])
    return job


def _parse_stored(job: ImportJob) -> ParsedFile:
    with job.file.open("rb") as handle:
        data = handle.read()
    return parse_file(job.filename, data)


def do_run_import(*, job_id: int, extension: RowExtension | None = None) -> ImportJob:
    """Import a confirmed job's rows in batches, each batch one transaction with its progress.

    Idempotent: a DONE, FAILED or unconfirmed job is left as it is; a RUNNING job (a worker died)
    continues after `processed_rows`. A file that cannot be read any more fails the job.
    """
    extension = extension or NoExtension()
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            raise ImportNotFound(f"No import #{job_id}.", field="job_id")
        if job.status == ImportJob.Status.QUEUED:
            for name, value in _RESET.items():
                setattr(job, name, value)
            job.status = ImportJob.Status.RUNNING
            job.save(update_fields=["status", *_RESET])
        elif job.status != ImportJob.Status.RUNNING:
            return job
    try:
        parsed = _parse_stored(job)
        extension.check_file(parsed)
    except (ImportFileInvalid, OSError) as exc:
        return _fail(job_id, f"The stored file cannot be imported: {getattr(exc, 'message', exc)}")
    actor = job.created_by
    ctx = Context(layout=parsed.layout)
    for row in parsed.rows[: job.processed_rows]:  # a resumed run: rows already written still claim their SKU
        ctx.skus.setdefault(row.sku.casefold(), row.row)
    try:
        while True:
            with transaction.atomic():
                job = ImportJob.objects.select_for_update().get(pk=job_id)
                if job.status != ImportJob.Status.RUNNING:
                    return job
                batch = parsed.rows[job.processed_rows : job.processed_rows + BATCH_SIZE]
                if not batch:
                    job.status = ImportJob.Status.DONE
                    job.finished_at = clock.now()
                    job.total_rows = parsed.total_rows
                    job.save(update_fields=["status", "finished_at", "total_rows"])
                    return job
                tally = import_rows(batch, actor=actor, ctx=ctx, extension=extension, job=job)
                room = max(MAX_STORED_ERRORS - len(job.errors), 0)
                job.errors = [*job.errors, *(e.as_dict() for e in tally.errors[:room])]
                job.processed_rows += len(batch)
                job.total_rows = parsed.total_rows
                job.created_count += tally.created
                job.updated_count += tally.updated
                job.unchanged_count += tally.unchanged
                job.error_count += tally.error_count
                job.save(update_fields=[
                    "errors", "processed_rows", "total_rows", "created_count", "updated_count", "unchanged_count",
                    "error_count",
                ])  # fmt: skip
    except Exception as exc:
        _fail(job_id, f"The import stopped unexpectedly: {exc}")
        raise


def read_import_preview(job: ImportJob, *, limit: int = PREVIEW_ROWS) -> ParsedFile | None:
    """The stored file's columns and first `limit` rows, for display; None if it cannot be read."""
    try:
        with job.file.open("rb") as handle:
            data = handle.read()
        return parse_file(job.filename, data, limit=limit)
    except (ImportFileInvalid, OSError):
        return None


# --- the export ------------------------------------------------------------------------------------------------


def export_variants(*, active_only: bool = False) -> QuerySet[Variant]:
    qs = Variant.objects.select_related("product", "product__category").prefetch_related(
        Prefetch("barcodes", queryset=Barcode.objects.order_by("id"))
    )
    if active_only:
        qs = qs.filter(is_active=True, product__is_active=True)
    return qs.order_by("product_id", "sku", "id")


def export_table(variants: Iterable[Variant]) -> Table:
    """The catalog as EXPORT_COLUMNS (plus ru texts and free attributes when any variant has them)."""
    variants = list(variants)
    paths = queries.category_paths()
    has_ru = any("ru" in (v.product.translations or {}) for v in variants)
    extra_keys = sorted({k for v in variants for k in (v.attributes or {})} - set(_ATTRIBUTE_COLUMNS))
    header = [title for _, title in EXPORT_COLUMNS]
    if has_ru:
        header += list(TRANSLATION_COLUMNS["ru"])
    header += [ATTRIBUTE_COLUMN.format(key) for key in extra_keys]
    rows = []
    for v in variants:
        p = v.product
        texts = p.translations or {}
        values: dict[str, Any] = {
            "sku": v.sku, "name": p.name, "variant_name": v.name, "barcodes": ", ".join(queries.barcodes_of(v)),
            "price": v.price, "promo_price": v.promo_price, "promo_starts_at": v.promo_starts_at,
            "promo_ends_at": v.promo_ends_at, "brand": p.brand,
            "category": CATEGORY_SEPARATOR.join(paths.get(p.category_id, [])) if p.category_id else "",
            "description": p.description, "size": (v.attributes or {}).get("size", ""),
            "colour": (v.attributes or {}).get("colour", ""), "weight_grams": v.weight_grams,
            "length_mm": v.length_mm, "width_mm": v.width_mm, "height_mm": v.height_mm,
            "external_id": p.external_id, "is_active": v.is_active,
        }  # fmt: skip
        for lang in ("kk", "en"):
            values[f"name_{lang}"] = texts.get(lang, {}).get("name", "")
            values[f"description_{lang}"] = texts.get(lang, {}).get("description", "")
        row = [values[name] for name, _ in EXPORT_COLUMNS]
        if has_ru:
            row += [texts.get("ru", {}).get("name", ""), texts.get("ru", {}).get("description", "")]
        row += [(v.attributes or {}).get(key, "") for key in extra_keys]
        rows.append(row)
    return Table(header=header, rows=rows, variant_ids=[v.pk for v in variants])
