"""Console pages for importing customers: upload → preview → confirm → progress (htmx polling)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from omnia.console.views import section_required
from omnia.core.errors import DomainError, NotFound
from omnia.core.permissions import Section
from omnia.customers.actions import imports as import_actions
from omnia.customers.imports import MAX_BYTES, MAX_ROWS
from omnia.customers.models import ImportJob

View = Callable[..., HttpResponse]
RECENT_IMPORTS = 20
SHOWN_ERRORS = 200


def importer_required(view: View) -> View:
    """Imports are their own section: owners and managers (see core.permissions); others get the 403 page."""
    return section_required(Section.IMPORTS)(view)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
        help_text=_("CSV (UTF-8 or Windows-1251, separated by commas or semicolons) or XLSX."),
    )


def _job_or_404(job_id: int) -> ImportJob:
    try:
        return import_actions.get_import_job(job_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@require_http_methods(["GET", "POST"])
@importer_required
def customer_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = import_actions.check_start_import(actor=request.user, upload=form.cleaned_data["file"])
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("console:customer_import_detail", job_id=job.pk)
    return render(
        request,
        "console/customer_import.html",
        {
            "form": form,
            "jobs": import_actions.list_import_jobs()[:RECENT_IMPORTS],
            "max_mb": MAX_BYTES // (1024 * 1024),
            "max_rows": MAX_ROWS,
        },
        status=400 if form.errors else 200,
    )


def _progress(job: ImportJob) -> dict[str, Any]:
    finished = job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)
    percent = 100 if job.status == ImportJob.Status.DONE else 0
    if job.total_rows and not finished:
        percent = min(100, job.processed_rows * 100 // job.total_rows)
    return {"job": job, "finished": finished, "percent": percent, "errors": job.errors[:SHOWN_ERRORS]}


@require_GET
@importer_required
def customer_import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(job_id)
    if job.status != ImportJob.Status.PREVIEW:
        return render(request, "console/customer_import_progress.html", _progress(job))
    parsed = import_actions.read_import_preview(job)
    valid = job.created_count + job.updated_count + job.unchanged_count
    return render(
        request,
        "console/customer_import_preview.html",
        {
            "job": job,
            "parsed": parsed,
            "valid": valid,
            "invalid": max(job.total_rows - valid, 0),
            "errors": job.errors[:SHOWN_ERRORS],
        },
    )


@require_GET
@importer_required
def customer_import_status(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress partial the progress page polls every second until the import is finished."""
    job = _job_or_404(job_id)
    return render(request, "console/customer_import_status.html", _progress(job))


@require_POST
@importer_required
def customer_import_confirm(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(job_id)
    try:
        import_actions.do_confirm_import(actor=request.user, job=job)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("console:customer_import_detail", job_id=job.pk)


@require_POST
@importer_required
def customer_import_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(job_id)
    try:
        import_actions.do_cancel_import(actor=request.user, job=job)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("console:customer_import_detail", job_id=job.pk)
    messages.success(request, gettext("The import of %(file)s was cancelled.") % {"file": job.filename})
    return redirect("console:customer_import")
