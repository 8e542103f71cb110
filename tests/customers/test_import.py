"""Customer import: reading CSV/XLSX, the preview, the batched run, re-import idempotency, API, console."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_tasks_db.management.commands.db_worker import Worker
from openpyxl import Workbook

from omnia.core.permissions import Role
from omnia.customers import imports
from omnia.customers.actions import check_create_customer
from omnia.customers.actions import imports as import_actions
from omnia.customers.errors import IdentityTaken
from omnia.customers.imports import ImportFileInvalid, parse_file
from omnia.customers.models import Customer, Identity, ImportJob, SearchToken
from tests.factories import make_token, make_user

RU_HEADER = ["ФИО", "Телефон", "E-mail", "Город", "Дата рождения", "Дисконтная карта", "Теги", "Комментарий", "Код",
             "Скидка"]  # fmt: skip
EN_HEADER = ["Full name", "Phone", "Email", "City", "Birthday", "Card", "Tags", "Notes", "External ID", "Discount"]
ROWS: list[list[Any]] = [
    ["Сейткали Айгерим", "8 701 123 45 67", "Aigerim@Mail.KZ", "Алматы", "01.02.1990", "CARD-1", "vip, опт",
     "Любит красное", "A-1", "5%"],
    ["Иванов Иван Петрович", "+7 (702) 555-12-34; 77015550011", "", "Астана", "1985-12-31", "", "", "", "A-2", ""],
    ["Плохой Телефон", "12345", "bad-row@mail.kz", "Шымкент", "", "", "", "", "", ""],
    ["Без Контактов", "", "", "Алматы", "", "", "", "", "", ""],
]  # fmt: skip


def csv_bytes(rows: list[list[Any]], *, header: list[str] = RU_HEADER, delimiter: str = ";", encoding: str = "cp1251",
              bom: bool = False) -> bytes:  # fmt: skip
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding)
    return b"\xef\xbb\xbf" + data if bom else data


def xlsx_bytes(rows: list[list[Any]], *, header: list[str] = RU_HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("Second sheet").append(["ignored"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# The same customers as an Excel user types them: a real date, a phone typed as a number.
XLSX_ROWS: list[list[Any]] = [
    [*ROWS[0][:4], dt.datetime(1990, 2, 1), *ROWS[0][5:]],  # noqa: DTZ001 - an Excel cell has no time zone
    [*ROWS[1][:4], dt.datetime(1985, 12, 31), *ROWS[1][5:]],  # noqa: DTZ001
    ROWS[2],
    ROWS[3],
]
FILES = {
    "csv-cp1251-semicolon": ("clients.csv", lambda: csv_bytes(ROWS)),
    "csv-utf8-bom-comma": ("clients.csv", lambda: csv_bytes(ROWS, header=EN_HEADER, delimiter=",", encoding="utf-8",
                                                             bom=True)),
    "csv-utf8-semicolon": ("clients.csv", lambda: csv_bytes(ROWS, encoding="utf-8")),
    "xlsx": ("clients.xlsx", lambda: xlsx_bytes(XLSX_ROWS)),
}  # fmt: skip


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def snapshot() -> dict[str, list[Any]]:
    """Every row the import could touch, with its values: equal snapshots mean nothing changed."""
    return {
        "customers": sorted(Customer.objects.values_list(
            "pk", "first_name", "last_name", "city", "birthday", "loyalty_card", "notes", "language",
            "created_source", "created_at", "updated_at",
        )),
        "identities": sorted(Identity.objects.values_list(
            "pk", "customer_id", "kind", "value", "raw_value", "channel", "first_seen_at", "last_seen_at",
        )),
        "tags": sorted(Customer.tags.through.objects.values_list("customer_id", "tag__name")),
        "tokens": sorted(SearchToken.objects.values_list("customer_id", "token")),
    }  # fmt: skip


# --- reading files (pure) ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(FILES))
def test_every_format_reads_to_the_same_normalised_rows(kind: str) -> None:
    name, make = FILES[kind]

    parsed = parse_file(name, make())

    assert parsed.total_rows == 4
    aigerim, ivan, bad, nobody = parsed.rows
    assert (aigerim.row, aigerim.last_name, aigerim.first_name) == (2, "Сейткали", "Айгерим")
    assert aigerim.phones == ("+77011234567",)
    assert aigerim.emails == ("aigerim@mail.kz",)
    assert aigerim.birthday == dt.date(1990, 2, 1)
    assert (aigerim.city, aigerim.loyalty_card, aigerim.external_id) == ("Алматы", "CARD-1", "A-1")
    assert aigerim.tags == ("vip", "опт")
    assert aigerim.notes == "Любит красное"
    # "Фамилия Имя Отчество": the patronymic stays with the first name; two numbers in one cell.
    assert (ivan.last_name, ivan.first_name) == ("Иванов", "Иван Петрович")
    assert ivan.phones == ("+77025551234", "+77015550011")
    assert ivan.birthday == dt.date(1985, 12, 31)
    assert aigerim.valid
    assert ivan.valid
    assert [e.as_dict() for e in bad.errors] == [
        {"row": 4, "field": "phone", "message": "'12345' is not a valid phone number."}
    ]
    assert [(e.row, e.field) for e in nobody.errors] == [(5, "phone")]
    assert "e-mail or external id" in nobody.errors[0].message
    assert parsed.ignored == ["Скидка" if kind != "csv-utf8-bom-comma" else "Discount"]
    assert set(parsed.columns.values()) >= {"full_name", "phone", "email", "external_id", "birthday", "tags"}


def test_an_xlsx_phone_typed_as_a_number_and_an_excel_day_number_are_understood() -> None:
    data = xlsx_bytes([["Ольга", 77011234567, 32905]], header=["Имя", "Мобильный", "Дата рождения"])

    (row,) = parse_file("a.xlsx", data).rows

    assert row.phones == ("+77011234567",)
    assert row.birthday == dt.date(1990, 2, 1)
    assert row.first_name == "Ольга"


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("Дата рождения", "31.02.1990", "birthday"),
        ("Дата рождения", "01.01.2999", "birthday"),
        ("Язык", "klingon", "language"),
        ("E-mail", "not-an-email", "email"),
        ("Город", "Х" * 101, "city"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_row_and_field(column: str, value: str, field: str) -> None:
    data = csv_bytes([["+77011234567", value]], header=["Телефон", column], encoding="utf-8")

    (row,) = parse_file("a.csv", data).rows

    assert not row.valid
    assert [(e.row, e.field) for e in row.errors] == [(2, field)]


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("clients.txt", b"phone\n+77011234567\n", "IMPORT_FILE_TYPE"),
        ("clients.xlsx", b"this is not a zip file", "IMPORT_UNREADABLE"),
        ("clients.csv", "Имя;Город\nОльга;Алматы\n".encode("cp1251"), "IMPORT_NO_IDENTITY_COLUMN"),
        ("clients.csv", b"", "IMPORT_EMPTY"),
        ("clients.csv", b"phone\n" + b"1" * (imports.MAX_BYTES + 1), "IMPORT_TOO_BIG"),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_as_a_whole(name: str, data: bytes, code: str) -> None:
    with pytest.raises(ImportFileInvalid) as caught:
        parse_file(name, data)

    assert caught.value.code == code
    assert caught.value.field == "file"


def test_more_rows_than_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    data = csv_bytes([[f"+7701123456{i}"] for i in range(4)], header=["Phone"], encoding="utf-8")

    with pytest.raises(ImportFileInvalid, match="more than 3 rows"):
        parse_file("a.csv", data)
    assert parse_file("a.csv", data[: data.rindex(b"+7701")]).total_rows == 3


# --- preview and run (database) ---------------------------------------------------------------------


def start(name: str, data: bytes, actor: Any = None) -> ImportJob:
    return import_actions.check_start_import(actor=actor, upload=upload(name, data))


def run(job: ImportJob) -> ImportJob:
    """Confirm and run the import in this thread (the worker path is tested separately)."""
    import_actions.do_confirm_import(actor=None, job=job)
    return import_actions.do_run_import(job_id=job.pk)


@pytest.mark.django_db
def test_the_preview_counts_rows_and_stores_the_file_but_writes_no_customer(media: Path) -> None:
    existing = check_create_customer(actor=None, identities=[("phone", "+77025551234")], first_name="Иван")

    job = start("clients.csv", csv_bytes(ROWS))

    assert job.status == ImportJob.Status.PREVIEW
    assert (job.total_rows, job.created_count, job.updated_count, job.unchanged_count) == (4, 1, 1, 0)
    assert job.error_count == 2
    assert [(e["row"], e["field"]) for e in job.errors] == [(4, "phone"), (5, "phone")]
    assert list(Customer.objects.all()) == [existing]
    assert len(stored_files(media)) == 1
    preview = import_actions.read_import_preview(job)
    assert [r.row for r in preview.rows] == [2, 3, 4, 5]
    assert preview.ignored == ["Скидка"]


@pytest.mark.django_db
def test_a_bad_file_stores_nothing(media: Path) -> None:
    with pytest.raises(ImportFileInvalid):
        start("clients.csv", "Имя\nОльга\n".encode())

    assert not ImportJob.objects.exists()
    assert stored_files(media) == []


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(FILES))
def test_an_import_creates_cards_with_e164_phones_and_skips_bad_rows_entirely(kind: str) -> None:
    name, make = FILES[kind]

    job = run(start(name, make()))

    assert job.status == ImportJob.Status.DONE
    assert (job.processed_rows, job.created_count, job.updated_count, job.unchanged_count) == (4, 2, 0, 0)
    assert job.error_count == 2
    assert job.errors[0] == {"row": 4, "field": "phone", "message": "'12345' is not a valid phone number."}
    aigerim = Customer.objects.get(identities__kind="external", identities__value="A-1")
    assert (aigerim.first_name, aigerim.last_name, aigerim.city) == ("Айгерим", "Сейткали", "Алматы")
    assert (aigerim.birthday, aigerim.loyalty_card, aigerim.notes) == (dt.date(1990, 2, 1), "CARD-1", "Любит красное")
    assert aigerim.created_source == "import"
    assert sorted(aigerim.tags.values_list("name", flat=True)) == ["vip", "опт"]
    assert sorted(aigerim.identities.values_list("kind", "value")) == [
        ("email", "aigerim@mail.kz"), ("external", "A-1"), ("phone", "+77011234567"),
    ]  # fmt: skip
    ivan = Customer.objects.get(identities__value="A-2")
    assert sorted(ivan.identities.filter(kind="phone").values_list("value", flat=True)) == [
        "+77015550011", "+77025551234",
    ]  # fmt: skip
    # Nothing of the rows with errors was written: not their e-mail, not their name, not their city.
    assert not Identity.objects.filter(value="bad-row@mail.kz").exists()
    assert not Customer.objects.filter(last_name__in=["Плохой", "Без"]).exists()
    assert not Customer.objects.filter(city="Шымкент").exists()
    assert Customer.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["csv-cp1251-semicolon", "xlsx"])
def test_importing_the_same_file_again_changes_nothing(kind: str) -> None:
    name, make = FILES[kind]
    run(start(name, make()))
    before = snapshot()

    again = start(name, make())
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 2)
    again = run(again)

    assert again.status == ImportJob.Status.DONE
    assert (again.created_count, again.updated_count, again.unchanged_count, again.error_count) == (0, 0, 2, 2)
    assert snapshot() == before


@pytest.mark.django_db
def test_a_row_matching_a_card_by_phone_fills_only_empty_fields_and_adds_the_email() -> None:
    card = check_create_customer(
        actor=None, identities=[("phone", "+77011234567")], first_name="Айгуля", city="Астана", tags=["старый"]
    )
    data = csv_bytes([["Сейткали Айгерим", "+7 701 123-45-67", "aigerim@mail.kz", "Алматы", "01.02.1990", "", "vip",
                       "", "", ""]])  # fmt: skip

    job = run(start("clients.csv", data))

    assert (job.created_count, job.updated_count, job.unchanged_count, job.error_count) == (0, 1, 0, 0)
    card.refresh_from_db()
    assert card.first_name == "Айгуля"  # not empty: kept
    assert card.city == "Астана"  # not empty: kept
    assert card.last_name == "Сейткали"  # empty: filled
    assert card.birthday == dt.date(1990, 2, 1)
    assert card.created_source == "console"
    assert sorted(card.tags.values_list("name", flat=True)) == ["vip", "старый"]
    assert Identity.objects.get(kind="email", value="aigerim@mail.kz").customer == card
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_a_row_whose_identities_belong_to_two_cards_is_an_error_and_changes_nothing() -> None:
    by_phone = check_create_customer(actor=None, identities=[("phone", "+77011234567")], first_name="Айгерим")
    by_email = check_create_customer(actor=None, identities=[("email", "aigerim@mail.kz")])
    before = snapshot()
    data = csv_bytes([["Сейткали Айгерим", "87011234567", "aigerim@mail.kz", "Алматы", "", "", "vip", "", "", ""]])

    job = run(start("clients.csv", data))

    assert (job.created_count, job.updated_count, job.error_count) == (0, 0, 1)
    (error,) = job.errors
    assert (error["row"], error["field"]) == (2, "email")
    assert f"belongs to customer #{by_email.pk}" in error["message"]
    assert f"#{by_phone.pk}" in error["message"]
    assert snapshot() == before


@pytest.mark.django_db
def test_rows_of_one_person_in_one_file_make_one_card() -> None:
    data = csv_bytes([
        ["Сейткали Айгерим", "87011234567", "", "", "", "", "", "", "", ""],
        ["", "+77011234567", "aigerim@mail.kz", "Алматы", "", "", "", "", "", ""],
    ])  # fmt: skip

    preview = start("clients.csv", data)
    assert (preview.created_count, preview.updated_count) == (1, 1)
    job = run(preview)

    assert (job.created_count, job.updated_count) == (1, 1)
    card = Customer.objects.get()
    assert card.city == "Алматы"
    assert card.identities.count() == 2


@pytest.mark.django_db
def test_a_restarted_running_job_continues_after_its_processed_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_actions, "BATCH_SIZE", 1)
    job = start("clients.csv", csv_bytes(ROWS))
    import_actions.do_confirm_import(actor=None, job=job)
    # A worker died after the first batch (row 2) was committed.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, processed_rows=1)

    job = import_actions.do_run_import(job_id=job.pk)

    assert job.status == ImportJob.Status.DONE
    assert job.processed_rows == 4
    assert not Identity.objects.filter(value="A-1").exists()  # row 2 is not imported twice (or at all here)
    assert Identity.objects.filter(value="A-2").exists()
    assert job.created_count == 1


@pytest.mark.django_db
def test_running_a_finished_or_unconfirmed_job_again_does_nothing() -> None:
    job = start("clients.csv", csv_bytes(ROWS))
    assert import_actions.do_run_import(job_id=job.pk).status == ImportJob.Status.PREVIEW
    assert not Customer.objects.exists()
    done = run(job)
    before = snapshot()

    again = import_actions.do_run_import(job_id=job.pk)

    assert again.status == ImportJob.Status.DONE
    assert (again.created_count, again.finished_at) == (done.created_count, done.finished_at)
    assert snapshot() == before


@pytest.mark.django_db
def test_confirming_queues_the_task_after_commit_and_only_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    job = start("clients.csv", csv_bytes(ROWS))

    with django_capture_on_commit_callbacks() as callbacks:
        job = import_actions.do_confirm_import(actor=None, job=job)

    assert job.status == ImportJob.Status.QUEUED
    assert (job.created_count, job.errors) == (0, [])  # the forecast is gone; the run counts for real
    assert len(callbacks) == 1
    with pytest.raises(imports.ImportNotPending):
        import_actions.do_confirm_import(actor=None, job=job)


def run_worker_until_idle() -> None:
    Worker(
        queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False, max_tasks=None,
        worker_id="test-worker", excluded_queue_names=[],
    ).run()  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_a_confirmed_import_to_done() -> None:
    job = start("clients.xlsx", xlsx_bytes(XLSX_ROWS))
    import_actions.do_confirm_import(actor=None, job=job)

    run_worker_until_idle()

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.total_rows, job.processed_rows) == (4, 4)
    assert (job.created_count, job.updated_count, job.unchanged_count, job.error_count) == (2, 0, 0, 2)
    assert job.finished_at is not None
    assert Customer.objects.filter(created_source="import").count() == 2


# --- API ----------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_api_upload_preview_confirm_and_status() -> None:
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {make_token(scopes=['imports:write'])}"}

    response = client.post("/api/v1/customers/imports", {"file": upload("clients.csv", csv_bytes(ROWS))}, **headers)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "preview"
    assert (body["total_rows"], body["error_count"]) == (4, 2)
    assert body["preview"]["would_create"] == 2
    assert body["preview"]["ignored_columns"] == ["Скидка"]
    assert [r["row"] for r in body["preview"]["rows"]] == [2, 3, 4, 5]
    assert body["preview"]["rows"][0]["phones"] == ["+77011234567"]
    assert body["errors"][0] == {"row": 4, "field": "phone", "message": "'12345' is not a valid phone number."}
    assert not Customer.objects.exists()
    job_id = body["id"]

    response = client.post(f"/api/v1/customers/imports/{job_id}/confirm", **headers)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    assert client.post(f"/api/v1/customers/imports/{job_id}/confirm", **headers).status_code == 409
    run_worker_until_idle()

    response = client.get(f"/api/v1/customers/imports/{job_id}?errors_offset=1", **headers)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done"
    assert (body["processed_rows"], body["total_rows"]) == (4, 4)
    assert (body["created"], body["updated"], body["unchanged"], body["error_count"]) == (2, 0, 0, 2)
    assert [e["row"] for e in body["errors"]] == [5]
    assert body["preview"] is None
    assert Customer.objects.count() == 2


@pytest.mark.django_db
def test_api_refuses_a_bad_file_a_read_only_token_and_an_unknown_job() -> None:
    client = Client()
    writer = {"HTTP_AUTHORIZATION": f"Bearer {make_token(scopes=['imports:write'])}"}
    reader = {"HTTP_AUTHORIZATION": f"Bearer {make_token(scopes=['imports:read'])}"}
    data = csv_bytes(ROWS)

    response = client.post("/api/v1/customers/imports", {"file": upload("clients.txt", data)}, **writer)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "file"
    response = client.post("/api/v1/customers/imports", {"file": upload("clients.csv", data)}, **reader)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "SCOPE_MISSING"
    response = client.get("/api/v1/customers/imports/999999", **writer)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "IMPORT_NOT_FOUND"
    assert not ImportJob.objects.exists()


# --- console ------------------------------------------------------------------------------------------


def logged_in(role: str) -> Client:
    client = Client()
    client.force_login(make_user(role))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the assertions read English labels
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status"), [(Role.OWNER, 200), (Role.MANAGER, 200), (Role.OPERATOR, 403),
                                                (Role.CLERK, 403)])  # fmt: skip
def test_only_owners_and_managers_may_import(role: str, status: int) -> None:
    client = logged_in(role)

    response = client.get(reverse("console:customer_import"))
    posted = client.post(reverse("console:customer_import"), {"file": upload("clients.csv", csv_bytes(ROWS))})

    assert response.status_code == status
    assert posted.status_code == (302 if status == 200 else 403)
    assert ImportJob.objects.exists() == (status == 200)


@pytest.mark.django_db
def test_console_upload_of_a_bad_file_is_a_form_error_and_stores_nothing(media: Path) -> None:
    client = logged_in(Role.MANAGER)

    response = client.post(reverse("console:customer_import"), {"file": upload("clients.csv", b"Name\nOlga\n")})

    assert response.status_code == 400
    assert "No column with phones" in response.content.decode()
    assert not ImportJob.objects.exists()
    assert stored_files(media) == []


@pytest.mark.django_db
def test_console_preview_shows_counts_columns_rows_and_errors_then_imports_with_progress() -> None:
    client = logged_in(Role.MANAGER)

    response = client.post(reverse("console:customer_import"), {"file": upload("clients.csv", csv_bytes(ROWS))})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:customer_import_detail", args=[job.pk])
    page = client.get(response["Location"]).content.decode()

    assert "Скидка" in page  # an ignored column is listed
    assert "+77011234567" in page  # the first rows, normalised
    assert "&#x27;12345&#x27; is not a valid phone number." in page
    errors_table = page[page.index('data-testid="import-errors"') :]
    assert '<td class="num">4</td><td><code>phone</code></td>' in errors_table
    assert "Import 2 customers" in page
    assert job.created_by is not None

    response = client.post(reverse("console:customer_import_confirm", args=[job.pk]))
    assert response.status_code == 302
    progress = client.get(reverse("console:customer_import_detail", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in progress  # queued: the page polls

    import_actions.do_run_import(job_id=job.pk)
    status = client.get(reverse("console:customer_import_status", args=[job.pk])).content.decode()
    assert "hx-trigger" not in status  # done: polling stops
    assert 'aria-valuenow="100"' in status
    assert "&#x27;12345&#x27; is not a valid phone number." in status
    listing = client.get(reverse("console:customer_import")).content.decode()
    assert "clients.csv" in listing


@pytest.mark.django_db
def test_console_cancel_drops_the_previewed_import_and_its_file(
    media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    client = logged_in(Role.OWNER)
    client.post(reverse("console:customer_import"), {"file": upload("clients.csv", csv_bytes(ROWS))})
    job = ImportJob.objects.get()
    assert len(stored_files(media)) == 1

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("console:customer_import_cancel", args=[job.pk]))

    assert response.status_code == 302
    assert not ImportJob.objects.exists()
    assert stored_files(media) == []
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_a_row_refused_while_writing_is_rolled_back_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A handle taken between planning and writing (a concurrent channel message): that row only is undone."""
    real_create = import_actions.check_create_customer

    def create_then_lose_a_race(**kwargs: Any) -> Customer:
        customer = real_create(**kwargs)
        if ("external", "A-2") in kwargs["identities"]:
            raise IdentityTaken("+77025551234 already belongs to customer #99.", field="identities.1")
        return customer

    monkeypatch.setattr(import_actions, "check_create_customer", create_then_lose_a_race)

    job = run(start("clients.csv", csv_bytes(ROWS)))

    assert (job.created_count, job.error_count) == (1, 3)
    assert {"row": 3, "field": "phone", "message": "+77025551234 already belongs to customer #99."} in job.errors
    assert not Identity.objects.filter(value="A-2").exists()
    assert not Customer.objects.filter(last_name="Иванов").exists()
    assert Identity.objects.filter(value="A-1").exists()


@pytest.mark.django_db
def test_an_operator_token_cannot_import_through_the_api() -> None:
    operator = {"HTTP_AUTHORIZATION": f"Bearer {make_token(role='operator', scopes=['*'])}"}

    response = Client().post("/api/v1/customers/imports", {"file": upload("clients.csv", csv_bytes(ROWS))}, **operator)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ROLE_FORBIDDEN"
    assert not ImportJob.objects.exists()
