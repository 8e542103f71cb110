"""Background work runs through the Tasks framework on the database backend, as `omnia serve` runs it."""

import pytest
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker

from omnia.catalog.models import Variant
from omnia.core import clock
from omnia.inventory.models import StockLevel
from omnia.inventory.tasks import check_stock_integrity
from tests.factories import make_location, make_variant

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker_until_idle() -> None:
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


def test_an_enqueued_task_is_run_by_the_worker_and_its_result_kept() -> None:
    variant: Variant = make_variant()
    store = make_location()
    # A stock level with no ledger rows behind it: drift that the task must report.
    StockLevel.objects.create(variant=variant, location=store, on_hand=3, updated_at=clock.now())

    result = check_stock_integrity.enqueue()
    assert result.status == TaskResultStatus.READY
    run_worker_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 1


def test_the_worker_thread_of_omnia_serve_runs_enqueued_tasks() -> None:
    import time

    from omnia.cli import WorkerThread

    result = check_stock_integrity.enqueue()
    worker = WorkerThread().start()
    try:
        deadline = time.monotonic() + 60
        while result.status != TaskResultStatus.SUCCESSFUL and time.monotonic() < deadline:
            time.sleep(0.1)
            result.refresh()
    finally:
        worker.stop()

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 0
