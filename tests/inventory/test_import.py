"""The catalog spreadsheet with stock: "Остаток: <location>" columns become counted corrections (once),
the export carries on hand per location and imports back unchanged; the import and export API."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tasks_db.management.commands.db_worker import Worker
from openpyxl import load_workbook

from omnia.accounts import actions as accounts_actions
from omnia.catalog import queries as catalog_queries
from omnia.catalog.imports import ImportFileInvalid
from omnia.catalog.models import ImportJob, Product, Variant
from omnia.core.permissions import Role
from omnia.inventory import actions, imports, queries
from omnia.inventory.models import Location, StockLevel, StockMove
from tests.factories import make_location, make_token, make_user

HEADER = ["Артикул", "Наименование", "Модификация", "Цена", "Размер", "Остаток: dostyk", "Остаток: Склад Астана"]
ROWS: list[list[Any]] = [
    ["TSH-S", "Футболка", "S", "4990", "S", "5", "10"],
    ["TSH-M", "Футболка", "M", "4990", "M", "", "3"],
    ["CND-1", "Свеча", "", "", "", "7", "7"],  # no price: the whole row is skipped, stock too
]


def csv_bytes(rows: list[list[Any]], *, header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def places() -> tuple[Location, Location]:
    return (
        make_location(code="dostyk", name="Достык"),
        make_location(code="wh-ast", name="Склад Астана", kind=Location.Kind.WAREHOUSE, city="Астана"),
    )


@pytest.fixture
def manager() -> Any:
    return make_user(Role.MANAGER)


def run(data: bytes, actor: Any, name: str = "goods.csv") -> ImportJob:
    job = imports.check_start_import(actor=actor, upload=upload(name, data))
    imports.do_confirm_import(actor=actor, job=job)
    return imports.do_run_import(job_id=job.pk)


def on_hand(sku: str) -> dict[str, int]:
    return {
        code: n for code, n in StockLevel.objects.filter(variant__sku=sku).values_list("location__code", "on_hand") if n
    }


def counts(job: ImportJob) -> tuple[int, int, int, int]:
    return (job.created_count, job.updated_count, job.unchanged_count, job.error_count)


@pytest.mark.django_db
def test_stock_columns_set_on_hand_once(places: Any, manager: Any) -> None:
    job = run(csv_bytes(ROWS), manager)

    assert counts(job) == (2, 0, 0, 1)
    assert (job.errors[0]["row"], job.errors[0]["column"]) == (4, "Цена")
    assert on_hand("TSH-S") == {"dostyk": 5, "wh-ast": 10}
    assert on_hand("TSH-M") == {"wh-ast": 3}
    assert not Product.objects.filter(name="Свеча").exists()
    moves = StockMove.objects.filter(kind="correction")
    assert moves.count() == 3
    assert {m.reason for m in moves} == {f"import #{job.pk} (goods.csv)"}
    assert {m.actor for m in moves} == {manager}

    again = run(csv_bytes(ROWS), manager)

    assert counts(again) == (0, 0, 2, 1)
    assert StockMove.objects.count() == 3
    assert queries.list_stock_drift() == []


@pytest.mark.django_db
def test_a_changed_count_is_a_correction_to_it(places: Any, manager: Any) -> None:
    run(csv_bytes(ROWS[:1]), manager)
    recount = [["TSH-S", "Футболка", "S", "4990", "S", "2", "10"]]

    job = run(csv_bytes(recount), manager)

    assert counts(job) == (0, 1, 0, 0)
    assert on_hand("TSH-S") == {"dostyk": 2, "wh-ast": 10}
    assert StockMove.objects.filter(kind="correction").values_list("quantity", flat=True).first() == -3


@pytest.mark.django_db
def test_a_count_below_what_is_reserved_refuses_the_whole_row(places: Any, manager: Any) -> None:
    dostyk, _ = places
    run(csv_bytes(ROWS[:1]), manager)
    variant = catalog_queries.get_variant_by_sku("TSH-S")
    actions.check_reserve(actor=None, variant=variant, location=dostyk, quantity=4)
    changed = [["TSH-S", "Футболка", "S", "5990", "S", "1", "10"]]  # a new price and too low a count

    job = run(csv_bytes(changed), manager)

    assert counts(job) == (0, 0, 0, 1)
    assert (job.errors[0]["row"], job.errors[0]["field"], job.errors[0]["column"]) == (
        2, "stock:dostyk", "Остаток: dostyk",
    )  # fmt: skip
    assert catalog_queries.get_variant_by_sku("TSH-S").price == Decimal("4990.00")  # the price stayed too
    assert on_hand("TSH-S") == {"dostyk": 5, "wh-ast": 10}


@pytest.mark.django_db
def test_a_column_naming_no_location_refuses_the_file(places: Any, manager: Any) -> None:
    header = [*HEADER[:5], "Остаток: Мега"]

    with pytest.raises(ImportFileInvalid) as refused:
        imports.check_start_import(actor=manager, upload=upload("goods.csv", csv_bytes([ROWS[0][:6]], header=header)))

    assert (refused.value.code, refused.value.field) == ("IMPORT_UNKNOWN_LOCATION", "file")
    assert "Остаток: Мега" in refused.value.message
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_the_preview_forecasts_stock_changes(places: Any, manager: Any) -> None:
    run(csv_bytes(ROWS[:2]), manager)
    recount = [list(ROWS[0]), list(ROWS[1])]
    recount[1][6] = "4"

    job = imports.check_start_import(actor=manager, upload=upload("goods.csv", csv_bytes(recount)))

    assert counts(job) == (0, 1, 1, 0)
    assert on_hand("TSH-M") == {"wh-ast": 3}


@pytest.mark.django_db
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_with_stock_then_import_changes_nothing(places: Any, manager: Any, file_format: str) -> None:
    run(csv_bytes(ROWS), manager)
    dostyk, _ = places
    actions.check_reserve(actor=None, variant=catalog_queries.get_variant_by_sku("TSH-S"), location=dostyk, quantity=2)
    moves = StockMove.objects.count()
    name, content_type, data = imports.export_file(file_format=file_format, with_stock=True)

    job = run(data, manager, name=name)

    assert counts(job) == (0, 0, 2, 0), job.errors
    assert StockMove.objects.count() == moves
    assert on_hand("TSH-S") == {"dostyk": 5, "wh-ast": 10}
    assert name.endswith(f".{file_format}")
    assert content_type == imports.CONTENT_TYPES[file_format]


@pytest.mark.django_db
def test_the_export_has_a_stock_column_per_active_location(places: Any, manager: Any) -> None:
    make_location(code="closed", is_active=False)
    run(csv_bytes(ROWS), manager)

    table = imports.export_table(with_stock=True)

    assert table.header[-2:] == ["Остаток: dostyk", "Остаток: wh-ast"]
    rows = {row[0]: row[-2:] for row in table.rows}
    assert rows == {"TSH-S": [5, 10], "TSH-M": [0, 3]}


# --- the API ----------------------------------------------------------------------------------------------------


def token_of(user: Any, *, role: str = Role.MANAGER, scopes: list[str] | None = None) -> str:
    """A token issued by `user`: the import's stock corrections are recorded as theirs."""
    issued = accounts_actions.check_create_token(actor=user, name="1C", scopes=scopes or ["stock:write"], role=role)
    return issued.secret


def run_worker_until_idle() -> None:
    Worker(
        queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False, max_tasks=None,
        worker_id="test-worker", excluded_queue_names=[],
    ).run()  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_api_upload_preview_confirm_progress_and_export(places: Any) -> None:
    client = Client()
    owner = make_user(Role.OWNER)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_of(owner)}"}

    response = client.post("/api/v1/catalog/imports", {"file": upload("goods.csv", csv_bytes(ROWS))}, **headers)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id", "status", "filename", "created_at", "finished_at", "total_rows", "processed_rows", "created", "updated",
        "unchanged", "error_count", "errors", "errors_offset", "preview",
    }  # fmt: skip
    assert (body["status"], body["total_rows"], body["error_count"]) == ("preview", 3, 1)
    assert body["errors"] == [{"row": 4, "field": "price", "column": "Цена", "message": body["errors"][0]["message"]}]
    preview = body["preview"]
    assert (preview["would_create"], preview["would_update"], preview["would_leave_unchanged"]) == (2, 0, 0)
    assert preview["columns"]["Остаток: dostyk"] == "stock:dostyk"
    assert preview["rows"][0]["values"]["price"] == "4990.00"
    assert preview["rows"][2]["errors"][0]["column"] == "Цена"
    assert Variant.objects.count() == 0

    job_id = body["id"]
    confirmed = client.post(f"/api/v1/catalog/imports/{job_id}/confirm", **headers)
    assert confirmed.status_code == 202, confirmed.content
    assert confirmed.json()["status"] == "queued"
    assert client.post(f"/api/v1/catalog/imports/{job_id}/confirm", **headers).json()["error"]["code"] == (
        "IMPORT_NOT_PENDING"
    )

    run_worker_until_idle()

    status = client.get(f"/api/v1/catalog/imports/{job_id}", **headers).json()
    assert (status["status"], status["processed_rows"], status["total_rows"]) == ("done", 3, 3)
    assert (status["created"], status["updated"], status["unchanged"], status["error_count"]) == (2, 0, 0, 1)
    assert status["preview"] is None
    assert on_hand("TSH-S") == {"dostyk": 5, "wh-ast": 10}
    listed = client.get("/api/v1/catalog/imports", **headers).json()["items"]
    assert [j["id"] for j in listed] == [job_id]

    exported = client.get("/api/v1/catalog/export?format=xlsx&stock=true", **headers)
    assert exported.status_code == 200
    assert exported["Content-Type"] == imports.CONTENT_TYPES["xlsx"]
    assert exported["Content-Disposition"].startswith('attachment; filename="catalog-')
    sheet = load_workbook(io.BytesIO(exported.content)).active
    assert [c.value for c in sheet[1]][:2] == ["Артикул", "Наименование"]
    text = client.get("/api/v1/catalog/export", **headers).content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Артикул;Наименование;Модификация;Штрихкод;Цена")


@pytest.mark.django_db
def test_api_refuses_a_bad_file_an_operator_a_reader_and_an_unknown_job(places: Any) -> None:
    client = Client()
    manager = make_user(Role.MANAGER)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_of(manager)}"}

    bad = client.post("/api/v1/catalog/imports", {"file": upload("goods.txt", b"x")}, **headers)
    assert (bad.status_code, bad.json()["error"]["code"], bad.json()["error"]["field"]) == (
        422, "IMPORT_FILE_TYPE", "file",
    )  # fmt: skip
    no_sku = client.post("/api/v1/catalog/imports", {"file": upload("g.csv", "Цена\n1\n".encode())}, **headers)
    assert no_sku.json()["error"]["code"] == "IMPORT_NO_SKU_COLUMN"

    operator = {"HTTP_AUTHORIZATION": f"Bearer {token_of(manager, role=Role.OPERATOR)}"}
    refused = client.post("/api/v1/catalog/imports", {"file": upload("goods.csv", csv_bytes(ROWS))}, **operator)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "CATALOG_FORBIDDEN")

    reader = {"HTTP_AUTHORIZATION": f"Bearer {make_token(scopes=['stock:read'])}"}
    read_only = client.post("/api/v1/catalog/imports", {"file": upload("goods.csv", csv_bytes(ROWS))}, **reader)
    assert (read_only.status_code, read_only.json()["error"]["code"]) == (403, "SCOPE_MISSING")
    assert client.get("/api/v1/catalog/export", **reader).status_code == 200

    missing = client.get("/api/v1/catalog/imports/999999", **headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "IMPORT_NOT_FOUND")
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_api_cancels_an_import_awaiting_confirmation(places: Any, media: Path) -> None:
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_of(make_user(Role.MANAGER))}"}
    job_id = client.post("/api/v1/catalog/imports", {"file": upload("goods.csv", csv_bytes(ROWS))}, **headers).json()[
        "id"
    ]

    assert client.delete(f"/api/v1/catalog/imports/{job_id}", **headers).status_code == 204
    assert ImportJob.objects.count() == 0
