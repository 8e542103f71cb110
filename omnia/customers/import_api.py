"""Customer import over the API: upload (→ preview) → confirm → poll the status."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from omnia.core.permissions import Section, actor_of, authorize
from omnia.customers.actions import imports as import_actions
from omnia.customers.imports import ImportRow
from omnia.customers.models import ImportJob

router = Router(tags=["customers"])

MAX_ERRORS_PAGE = 1000


class RowErrorOut(Schema):
    row: int | None
    field: str
    message: str


class PreviewRowOut(Schema):
    row: int
    first_name: str
    last_name: str
    phones: list[str]
    emails: list[str]
    external_id: str
    city: str
    birthday: dt.date | None
    loyalty_card: str
    tags: list[str]
    notes: str
    language: str
    errors: list[RowErrorOut]

    @staticmethod
    def of(r: ImportRow) -> PreviewRowOut:
        return PreviewRowOut(
            row=r.row, first_name=r.first_name, last_name=r.last_name, phones=list(r.phones), emails=list(r.emails),
            external_id=r.external_id, city=r.city, birthday=r.birthday, loyalty_card=r.loyalty_card,
            tags=list(r.tags), notes=r.notes, language=r.language,
            errors=[RowErrorOut(**e.as_dict()) for e in r.errors],
        )  # fmt: skip


class PreviewOut(Schema):
    columns: dict[str, str]
    ignored_columns: list[str]
    would_create: int
    would_update: int
    would_leave_unchanged: int
    rows: list[PreviewRowOut]


class ImportJobOut(Schema):
    id: int
    status: str
    filename: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    total_rows: int
    processed_rows: int
    created: int
    updated: int
    unchanged: int
    error_count: int
    errors: list[RowErrorOut]
    errors_offset: int
    preview: PreviewOut | None

    @staticmethod
    def of(job: ImportJob, *, errors_offset: int = 0, errors_limit: int = 200) -> ImportJobOut:
        previewing = job.status == ImportJob.Status.PREVIEW
        preview = None
        if previewing:
            parsed = import_actions.read_import_preview(job)
            preview = PreviewOut(
                columns=parsed.columns, ignored_columns=parsed.ignored, would_create=job.created_count,
                would_update=job.updated_count, would_leave_unchanged=job.unchanged_count,
                rows=[PreviewRowOut.of(r) for r in parsed.rows],
            )  # fmt: skip
        errors = job.errors[errors_offset : errors_offset + errors_limit]
        return ImportJobOut(
            id=job.pk, status=job.status, filename=job.filename, created_at=job.created_at,
            finished_at=job.finished_at, total_rows=job.total_rows, processed_rows=job.processed_rows,
            created=0 if previewing else job.created_count, updated=0 if previewing else job.updated_count,
            unchanged=0 if previewing else job.unchanged_count, error_count=job.error_count,
            errors=[RowErrorOut(**e) for e in errors], errors_offset=errors_offset, preview=preview,
        )  # fmt: skip


@router.post(
    "/customers/imports",
    response={201: ImportJobOut},
    summary="Upload a CSV/XLSX of customers; answers the preview (status `preview`), nothing is imported yet",
)
def upload_import(request: HttpRequest, file: File[UploadedFile]) -> Status[ImportJobOut]:
    actor = actor_of(request)
    authorize(actor, Section.IMPORTS, write=True)
    job = import_actions.check_start_import(actor=actor, upload=file)
    return Status(201, ImportJobOut.of(job))


@router.post(
    "/customers/imports/{job_id}/confirm",
    response={202: ImportJobOut},
    summary="Start a previewed import in the background; poll GET /customers/imports/{id} for progress",
)
def confirm_import(request: HttpRequest, job_id: int) -> Status[ImportJobOut]:
    actor = actor_of(request)
    authorize(actor, Section.IMPORTS, write=True)
    job = import_actions.do_confirm_import(actor=actor, job=import_actions.get_import_job(job_id))
    return Status(202, ImportJobOut.of(job))


@router.get(
    "/customers/imports/{job_id}",
    response=ImportJobOut,
    summary="An import's status, counts, progress (processed_rows of total_rows) and per-row errors",
)
def get_import(
    request: HttpRequest, job_id: int, errors_offset: int = Query(0, ge=0),
    errors_limit: int = Query(200, ge=1, le=MAX_ERRORS_PAGE),
) -> ImportJobOut:  # fmt: skip
    authorize(actor_of(request), Section.IMPORTS)
    job = import_actions.get_import_job(job_id)
    return ImportJobOut.of(job, errors_offset=errors_offset, errors_limit=errors_limit)
