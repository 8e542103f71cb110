"""Background entry points for customers. Idempotent: safe to run again at any time."""

from __future__ import annotations

from django_tasks import task

from omnia.customers.actions.imports import do_run_import


@task()
def import_customers(job_id: int) -> dict[str, int | str]:
    """Run a confirmed customer import to the end (or continue one a stopped worker left RUNNING)."""
    job = do_run_import(job_id=job_id)
    return {
        "status": job.status,
        "processed": job.processed_rows,
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "errors": job.error_count,
    }
