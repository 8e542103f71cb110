"""Customer imports: upload and preview → confirm → the batched, resumable run.

Reading and validating the file is `omnia.customers.imports` (pure). Here each valid row is
resolved to a person through identities only — external id first, then phones, then e-mails,
never by name:
- no card holds any of the row's handles → a new card (created_source "import");
- one card holds some → only its empty fields are filled, missing handles and tags added;
- two different cards hold them → a row error naming the other card; nothing of the row is written.
Re-importing a file therefore changes nothing: every row comes out "unchanged".

While a job awaits confirmation (PREVIEW) its created/updated/unchanged counts are the forecast;
confirming resets them, and the run counts what it actually did.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.text import get_valid_filename

from omnia.core import clock
from omnia.core.errors import DomainError
from omnia.customers.actions.identity import check_add_identity
from omnia.customers.actions.profile import check_create_customer, check_update_customer, do_set_tags
from omnia.customers.imports import (
    MAX_BYTES,
    ImportFileInvalid,
    ImportNotFound,
    ImportNotPending,
    ImportRow,
    ParsedFile,
    RowError,
    check_file_name,
    parse_file,
)
from omnia.customers.models import ChannelKind, Customer, Identity, ImportJob

BATCH_SIZE = 500
PREVIEW_ROWS = 20
PREVIEW_ERRORS = 200
MAX_STORED_ERRORS = 1000

Key = tuple[str, str]  # (identity kind, normalised value)
_FIELD_OF_KIND: dict[str, str] = {
    Identity.Kind.EXTERNAL.value: "external_id",
    Identity.Kind.PHONE.value: "phone",
    Identity.Kind.EMAIL.value: "email",
}


# --- resolving rows to cards -----------------------------------------------------------------------


@dataclass
class _Card:
    """What resolution needs to know of a card: its fields, tags and, once loaded, the row itself."""

    pk: int
    fields: dict[str, Any]
    tags: set[str]
    customer: Customer | None = None  # None for a card the preview only imagines


@dataclass
class _Plan:
    outcome: str  # "create" | "update" | "unchanged" | "error"
    customer_id: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    identities: list[Key] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    error: RowError | None = None


class _Cards:
    """Who holds each handle and what their cards contain, loaded per batch and kept current as rows land."""

    def __init__(self) -> None:
        self.owners: dict[Key, int] = {}
        self.cards: dict[int, _Card] = {}
        self._imagined = 0

    def load(self, rows: Iterable[ImportRow]) -> None:
        wanted: dict[str, set[str]] = {}
        for row in rows:
            for kind, value in row.identities():
                if (kind, value) not in self.owners:
                    wanted.setdefault(kind, set()).add(value)
        if not wanted:
            return
        condition = Q()
        for kind, values in wanted.items():
            condition |= Q(kind=kind, value__in=sorted(values))
        found = list(Identity.objects.filter(condition).values_list("kind", "value", "customer_id"))
        self._load_cards({customer_id for _, _, customer_id in found})
        for kind, value, customer_id in found:
            self.owners[(kind, value)] = self._survivor(customer_id)

    def _load_cards(self, ids: set[int]) -> None:
        while ids - set(self.cards):
            missing = ids - set(self.cards)
            ids = set()
            for customer in Customer.objects.filter(pk__in=missing).prefetch_related("tags"):
                self.cards[customer.pk] = _card_of(customer)
                if customer.merged_into_id is not None:
                    ids.add(customer.merged_into_id)

    def _survivor(self, customer_id: int) -> int:
        card = self.cards[customer_id]
        seen = {customer_id}
        while card.customer is not None and card.customer.merged_into_id is not None:
            if card.customer.merged_into_id in seen:  # pragma: no cover - a merge cycle is not possible
                break
            seen.add(card.customer.merged_into_id)
            card = self.cards[card.customer.merged_into_id]
        return card.pk

    def reload(self, customer_id: int) -> None:
        customer = Customer.objects.prefetch_related("tags").get(pk=customer_id)
        self.cards[customer_id] = _card_of(customer)

    def imagine(self, plan: _Plan) -> None:
        """Record a planned change as if done (the preview writes nothing, later rows must still see it)."""
        if plan.outcome == "create":
            self._imagined -= 1
            plan.customer_id = self._imagined
            self.cards[plan.customer_id] = _Card(pk=plan.customer_id, fields=dict(plan.fields), tags=set(plan.tags))
        self.landed(plan)

    def landed(self, plan: _Plan) -> None:
        customer_id = plan.customer_id
        if customer_id is None:  # pragma: no cover - create and update plans always name their card
            return
        card = self.cards[customer_id]
        card.fields.update(plan.fields)
        card.tags.update(plan.tags)
        for key in plan.identities:
            self.owners[key] = customer_id


def _card_of(customer: Customer) -> _Card:
    fields = {name: getattr(customer, name) for name in _FILLABLE}
    return _Card(pk=customer.pk, fields=fields, tags={t.name for t in customer.tags.all()}, customer=customer)


_FILLABLE = ("first_name", "last_name", "city", "birthday", "loyalty_card", "notes", "language")


def _plan(row: ImportRow, cards: _Cards) -> _Plan:
    """What importing `row` would do, given who holds which handle now."""
    handles = row.identities()
    owners = [(key, cards.owners.get(key)) for key in handles]
    matched = next((owner for _, owner in owners if owner is not None), None)
    for (kind, value), owner in owners:
        if owner is not None and owner != matched:
            matched_key = next(key for key, o in owners if o == matched)
            message = (
                f"{value} belongs to customer #{_shown(owner)}, while {matched_key[1]} belongs to customer "
                f"#{_shown(matched)}: nothing of this row was imported (merge the two cards first)."
            )
            return _Plan(outcome="error", error=RowError(row=row.row, field=_FIELD_OF_KIND[kind], message=message))
    if matched is None:
        return _Plan(outcome="create", fields=row.card_fields(), identities=handles, tags=list(row.tags))
    card = cards.cards[matched]
    fields = {name: value for name, value in row.card_fields().items() if card.fields.get(name) in ("", None)}
    missing = [key for key, owner in owners if owner is None]
    tags = [tag for tag in row.tags if tag not in card.tags]
    outcome = "update" if fields or missing or tags else "unchanged"
    return _Plan(outcome=outcome, customer_id=matched, fields=fields, identities=missing, tags=tags)


def _shown(customer_id: int | None) -> str:
    """A card number for a message: an imagined card (the preview's) is an earlier row's new card."""
    return "new" if customer_id is None or customer_id < 0 else str(customer_id)


def _apply(plan: _Plan, *, row: ImportRow, actor: Any, cards: _Cards) -> _Plan:
    """Write one row's plan in a savepoint; a refusal (a handle taken meanwhile…) becomes a row error."""
    if plan.outcome not in ("create", "update"):
        return plan
    try:
        with transaction.atomic():
            if plan.outcome == "create":
                customer = check_create_customer(
                    actor=actor, identities=plan.identities, tags=plan.tags, source=ChannelKind.IMPORT, **plan.fields
                )
                plan.customer_id = customer.pk
                cards.cards[customer.pk] = _Card(pk=customer.pk, fields={}, tags=set(), customer=customer)
            elif plan.customer_id is not None:
                card = cards.cards[plan.customer_id]
                customer = card.customer or Customer.objects.get(pk=plan.customer_id)
                for kind, value in plan.identities:
                    check_add_identity(
                        customer=customer,
                        kind=kind,
                        value=value,
                        channel=ChannelKind.IMPORT,
                        field=_FIELD_OF_KIND.get(kind, "value"),
                    )
                if plan.tags:
                    do_set_tags(customer=customer, names=sorted(card.tags | set(plan.tags)))
                if plan.fields:
                    check_update_customer(actor=actor, customer=customer, **plan.fields)
    except DomainError as exc:
        if plan.outcome == "update" and plan.customer_id is not None:
            cards.reload(plan.customer_id)  # the in-memory card may hold values that were rolled back
        error_field = exc.field or "row"
        if error_field.startswith("identities."):
            index = int(error_field.split(".", 1)[1])
            error_field = _FIELD_OF_KIND.get(plan.identities[index][0], "row")
        return _Plan(outcome="error", error=RowError(row=row.row, field=error_field, message=exc.message))
    cards.landed(plan)
    return plan


@dataclass
class _Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    def add_row(self, row: ImportRow, plan: _Plan | None) -> None:
        if plan is None:  # the row did not validate
            self.errors += row.errors
            self.error_count += len(row.errors)
        elif plan.error is not None:
            self.errors.append(plan.error)
            self.error_count += 1
        elif plan.outcome == "create":
            self.created += 1
        elif plan.outcome == "update":
            self.updated += 1
        else:
            self.unchanged += 1


def _batches(rows: list[ImportRow], size: int = BATCH_SIZE) -> Iterable[list[ImportRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


# --- the job's life ----------------------------------------------------------------------------------


def _user_of(actor: Any) -> Any:
    """The user behind a console user or an API token (its creator), for ImportJob.created_by."""
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


def check_start_import(*, actor: Any, upload: UploadedFile) -> ImportJob:
    """Store an uploaded CSV/XLSX and forecast it (status PREVIEW); ImportFileInvalid stores nothing."""
    name, data = _read_upload(upload)
    parsed = parse_file(name, data)
    tally = _Tally()
    cards = _Cards()
    for batch in _batches(parsed.rows):
        cards.load(r for r in batch if r.valid)
        for row in batch:
            plan = _plan(row, cards) if row.valid else None
            if plan is not None and plan.outcome in ("create", "update"):
                cards.imagine(plan)
            tally.add_row(row, plan)
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


_RESET = {
    "processed_rows": 0, "created_count": 0, "updated_count": 0, "unchanged_count": 0, "error_count": 0,
    "errors": [], "finished_at": None,
}  # fmt: skip


@transaction.atomic
def do_confirm_import(*, actor: Any, job: ImportJob) -> ImportJob:
    """Queue a previewed import (status QUEUED); the task starts after commit. ImportNotPending if not PREVIEW."""
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEW).update(
        status=ImportJob.Status.QUEUED, **_RESET
    )
    job.refresh_from_db()
    if not updated:
        raise ImportNotPending(f"Import #{job.pk} is {job.get_status_display()}, not awaiting confirmation.")
    job_id = job.pk

    def enqueue() -> None:
        from omnia.customers.tasks import import_customers

        import_customers.enqueue(job_id)

    transaction.on_commit(enqueue)
    return job


@transaction.atomic
def do_cancel_import(*, actor: Any, job: ImportJob) -> None:
    """Drop an import that awaits confirmation, and its stored file. ImportNotPending once confirmed."""
    locked = ImportJob.objects.select_for_update().filter(pk=job.pk, status=ImportJob.Status.PREVIEW).first()
    if locked is None:
        raise ImportNotPending(f"Import #{job.pk} was already confirmed: it cannot be cancelled.")
    name = locked.file.name
    storage = locked.file.storage
    locked.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))


def _fail(job_id: int, message: str) -> ImportJob:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        job.status = ImportJob.Status.FAILED
        job.finished_at = clock.now()
        if len(job.errors) < MAX_STORED_ERRORS:
            job.errors = [*job.errors, {"row": None, "field": "file", "message": message}]
        job.error_count += 1
        job.save(update_fields=["status", "finished_at", "errors", "error_count"])
    return job


def do_run_import(*, job_id: int) -> ImportJob:
    """Import a confirmed job's rows in batches of BATCH_SIZE, each batch one transaction with its progress.

    Idempotent: a DONE, FAILED or unconfirmed job is left as it is; a RUNNING job (a worker died)
    continues after `processed_rows`. A file that cannot be read any more fails the job.
    """
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
    except (ImportFileInvalid, OSError) as exc:
        return _fail(job_id, f"The stored file cannot be read: {getattr(exc, 'message', exc)}")
    actor = job.created_by
    try:
        while True:
            with transaction.atomic():
                job = ImportJob.objects.select_for_update().get(pk=job_id)
                if job.status != ImportJob.Status.RUNNING:  # finished by another worker meanwhile
                    return job
                batch = parsed.rows[job.processed_rows : job.processed_rows + BATCH_SIZE]
                if not batch:
                    job.status = ImportJob.Status.DONE
                    job.finished_at = clock.now()
                    job.total_rows = parsed.total_rows
                    job.save(update_fields=["status", "finished_at", "total_rows"])
                    return job
                tally = _import_batch(batch, actor=actor)
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


def _parse_stored(job: ImportJob) -> ParsedFile:
    with job.file.open("rb") as handle:
        data = handle.read()
    return parse_file(job.filename, data)


def _import_batch(rows: list[ImportRow], *, actor: Any) -> _Tally:
    tally = _Tally()
    cards = _Cards()
    cards.load(r for r in rows if r.valid)
    for row in rows:
        plan = _apply(_plan(row, cards), row=row, actor=actor, cards=cards) if row.valid else None
        tally.add_row(row, plan)
    return tally


# --- reads for the console and the API (candidates for customers.queries) ---------------------------


def get_import_job(job_id: int) -> ImportJob:
    job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None:
        raise ImportNotFound(f"No import #{job_id}.", field="job_id")
    return job


def list_import_jobs() -> QuerySet[ImportJob]:
    return ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")


def read_import_preview(job: ImportJob, *, limit: int = PREVIEW_ROWS) -> ParsedFile:
    """The stored file's columns (recognised and ignored) and its first `limit` rows, for display."""
    try:
        with job.file.open("rb") as handle:
            data = handle.read()
        return parse_file(job.filename, data, limit=limit)
    except (ImportFileInvalid, OSError):
        return ParsedFile(columns={}, ignored=[], rows=[], total_rows=job.total_rows)
