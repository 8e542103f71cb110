"""Catalog import and export: 1C/МойСклад-style columns in Russian or English, CSV and XLSX, per-row
errors naming the row and the column, idempotent re-import, and export → import changing nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from omnia.catalog import actions, actions_import, queries
from omnia.catalog.imports import ImportFileInvalid, parse_file, write_csv, write_xlsx
from omnia.catalog.models import Barcode, Category, ImportJob, Product, Variant
from omnia.core.errors import DomainError
from omnia.core.models import AuditEntry
from omnia.core.permissions import Role
from tests.factories import make_user

# As МойСклад exports goods with modifications (Cyrillic headers, ; separated).
RU_HEADER = ["Артикул", "Наименование", "Модификация", "Штрихкод", "Цена: Цена продажи", "Цена со скидкой",
             "Бренд", "Группы", "Размер", "Цвет", "Вес", "Описание", "Наименование (kk)", "Код", "Внешний код",
             "Закупочная цена"]  # fmt: skip
EN_HEADER = ["SKU", "Name", "Variant", "Barcode", "Price", "Sale price", "Brand", "Category", "Size", "Colour",
             "Weight, kg", "Description", "Name (kk)", "Code", "External ID", "Purchase price"]  # fmt: skip
ROWS: list[list[Any]] = [
    ["TSH-S", "Футболка «Лето»", "S, белый", "4870001000012; 2000000000015", "4 990,00", "3990", "Nord",
     "Одежда/Футболки", "S", "белый", "0,2", "Хлопок 100%", "Жазғы футболка", "00-001", "1C-TSH", "2000"],
    ["TSH-M", "Футболка «Лето»", "M, белый", "4870001000029", "4990", "", "Nord", "Одежда/Футболки", "M", "белый",
     "0,21", "Хлопок 100%", "Жазғы футболка", "00-001", "1C-TSH", "2000"],
    ["CND-1", "Свеча ароматическая", "", "", "", "", "Lumen", "Декор", "", "", "0,3", "", "", "00-002", "", ""],
    ["", "Без артикула", "", "", "100", "", "", "", "", "", "", "", "", "", "", ""],
    ["MUG-1", "Кружка", "", "", "-5", "", "", "Посуда", "", "", "", "", "", "", "", ""],
]  # fmt: skip


def csv_bytes(rows: list[list[Any]], *, header: list[str] = RU_HEADER, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], *, header: list[str] = RU_HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


# --- reading (no database) --------------------------------------------------------------------------------


FILES = {
    "csv": lambda: ("goods.csv", csv_bytes(ROWS)),
    "csv-bom": lambda: ("goods.csv", b"\xef\xbb\xbf" + csv_bytes(ROWS)),
    "xlsx": lambda: ("goods.xlsx", xlsx_bytes(ROWS)),
    "csv-english": lambda: ("goods.csv", csv_bytes(ROWS, header=EN_HEADER)),
}


@pytest.mark.parametrize("kind", list(FILES))
def test_russian_and_english_columns_read_to_the_same_rows(kind: str) -> None:
    parsed = parse_file(*FILES[kind]())

    first = parsed.rows[0]
    assert first.sku == "TSH-S"
    assert first.product == {"name": "Футболка «Лето»", "description": "Хлопок 100%", "brand": "Nord",
                             "external_id": "1C-TSH"}  # fmt: skip
    assert first.translations == {"kk": {"name": "Жазғы футболка"}}
    assert first.category == ("Одежда", "Футболки")
    assert first.variant["barcodes"] == ["4870001000012", "2000000000015"]
    assert (first.variant["price"], first.variant["promo_price"]) == (Decimal("4990.00"), Decimal("3990.00"))
    assert (first.variant["name"], first.variant["weight_grams"]) == ("S, белый", 200)
    assert first.attributes == {"size": "S", "colour": "белый"}
    assert parsed.rows[1].variant["promo_price"] is None
    assert sorted(parsed.ignored) in (["Закупочная цена", "Код"], ["Code", "Purchase price"])


def test_a_windows_1251_file_from_1c_is_read() -> None:
    rows = [["GRL-1", "Гирлянда «Нить»", "4 990,00", "Декор/Гирлянды"]]
    data = csv_bytes(rows, header=["Артикул", "Наименование", "Цена", "Группа"], encoding="cp1251")

    (row,) = parse_file("goods.csv", data).rows

    assert (row.sku, row.product["name"], row.variant["price"], row.category) == (
        "GRL-1", "Гирлянда «Нить»", Decimal("4990.00"), ("Декор", "Гирлянды"),
    )  # fmt: skip


def test_a_row_without_a_price_or_sku_is_an_error_naming_the_row_and_column() -> None:
    parsed = parse_file("goods.csv", csv_bytes(ROWS))

    errors = [(e.row, e.field, e.column) for e in parsed.errors]
    assert errors == [
        (4, "price", "Цена: Цена продажи"),
        (5, "sku", "Артикул"),
        (6, "price", "Цена: Цена продажи"),
    ]
    assert all(e.message.startswith(e.column + ":") for e in parsed.errors)
    assert [r.valid for r in parsed.rows] == [True, True, False, False, False]


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("Цена со скидкой", "дёшево", "promo_price"),
        ("Вес", "тяжёлый", "weight_kg"),
        ("Начало акции", "31.02.2031", "promo_starts_at"),
        ("Штрихкод", "EAN 123 ###", "barcodes"),
        ("Остаток: dostyk", "2,5", "stock:dostyk"),
        ("В продаже", "может быть", "is_active"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_column(column: str, value: str, field: str) -> None:
    data = csv_bytes([["SKU-1", "Товар", "100", value]], header=["Артикул", "Наименование", "Цена", column])

    (row,) = parse_file("goods.csv", data).rows

    assert [(e.row, e.field, e.column) for e in row.errors] == [(2, field, column)]


def test_stock_and_attribute_columns_name_their_location_and_attribute() -> None:
    header = ["Артикул", "Остаток: dostyk", "Остаток (Склад Астана)", "Характеристика: материал", "Остаток"]
    parsed = parse_file("goods.csv", csv_bytes([["A-1", "5", "0", "хлопок", "99"]], header=header))

    assert parsed.stock_labels == ["dostyk", "Склад Астана"]
    assert parsed.rows[0].stock == (("dostyk", 5), ("Склад Астана", 0))
    assert parsed.rows[0].attributes == {"материал": "хлопок"}
    assert parsed.ignored == ["Остаток"]  # МойСклад's total over all warehouses: not a location


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("goods.txt", b"x", "IMPORT_FILE_TYPE"),
        ("goods.csv", b"", "IMPORT_EMPTY"),
        ("goods.csv", "Наименование;Цена\nСвеча;100\n".encode(), "IMPORT_NO_SKU_COLUMN"),
        ("goods.xlsx", b"not a zip", "IMPORT_UNREADABLE"),
    ],
    ids=["type", "empty", "no-sku", "unreadable"],
)
def test_a_file_that_cannot_be_imported_is_refused_as_a_whole(name: str, data: bytes, code: str) -> None:
    with pytest.raises(ImportFileInvalid) as refused:
        parse_file(name, data)
    assert (refused.value.code, refused.value.field) == (code, "file")


# --- importing (database) -------------------------------------------------------------------------------------


@pytest.fixture
def manager() -> Any:
    return make_user(Role.MANAGER)


def start(name: str, data: bytes, actor: Any) -> ImportJob:
    return actions_import.check_start_import(actor=actor, upload=upload(name, data))


def run(job: ImportJob, actor: Any) -> ImportJob:
    actions_import.do_confirm_import(actor=actor, job=job, enqueue=lambda job_id: None)
    return actions_import.do_run_import(job_id=job.pk)


def counts(job: ImportJob) -> tuple[int, int, int, int]:
    return (job.created_count, job.updated_count, job.unchanged_count, job.error_count)


def snapshot() -> dict[str, Any]:
    """Everything an import may touch: equal snapshots mean nothing changed."""
    return {
        "products": list(Product.objects.order_by("pk").values_list(
            "pk", "name", "description", "brand", "category_id", "translations", "external_id", "is_active",
            "updated_at",
        )),
        "variants": list(Variant.objects.order_by("pk").values_list(
            "pk", "product_id", "sku", "barcode", "name", "attributes", "price", "promo_price", "promo_starts_at",
            "promo_ends_at", "weight_grams", "length_mm", "width_mm", "height_mm", "is_active",
        )),
        "barcodes": list(Barcode.objects.order_by("pk").values_list("pk", "variant_id", "code")),
        "categories": list(Category.objects.order_by("pk").values_list("pk", "name", "parent_id")),
        "audit": AuditEntry.objects.count(),
    }  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_import_creates_products_with_their_variants_and_skips_bad_rows_entirely(kind: str, manager: Any) -> None:
    data = csv_bytes(ROWS) if kind == "csv" else xlsx_bytes(ROWS)

    job = run(start(f"goods.{kind}", data, manager), manager)

    assert job.status == ImportJob.Status.DONE
    assert (job.total_rows, job.processed_rows) == (5, 5)
    assert counts(job) == (2, 0, 0, 3)
    assert [(e["row"], e["column"]) for e in job.errors] == [(4, "Цена: Цена продажи"), (5, "Артикул"),
                                                           (6, "Цена: Цена продажи")]  # fmt: skip
    product = Product.objects.get()
    assert (product.name, product.brand, product.external_id) == ("Футболка «Лето»", "Nord", "1C-TSH")
    assert product.translations == {"kk": {"name": "Жазғы футболка"}}
    assert queries.category_path(product.category) == ["Одежда", "Футболки"]
    small = queries.get_variant_by_sku("TSH-S")
    assert (small.product_id, small.price, small.promo_price) == (product.pk, Decimal("4990.00"), Decimal("3990.00"))
    assert queries.barcodes_of(small) == ["4870001000012", "2000000000015"]
    assert queries.find_variant_by_barcode("2000000000015") == small
    assert (small.attributes, small.weight_grams) == ({"size": "S", "colour": "белый"}, 200)
    assert not Product.objects.filter(name__in=["Свеча ароматическая", "Кружка"]).exists()
    assert not Category.objects.filter(name__in=["Декор", "Посуда"]).exists()  # nothing of a bad row is written


@pytest.mark.django_db
def test_the_preview_forecasts_the_run_and_writes_nothing(manager: Any) -> None:
    job = start("goods.csv", csv_bytes(ROWS), manager)

    assert job.status == ImportJob.Status.PREVIEW
    assert counts(job) == (2, 0, 0, 3)
    assert Product.objects.count() == 0
    preview = actions_import.read_import_preview(job)
    assert preview is not None
    assert [r.row for r in preview.rows] == [2, 3, 4, 5, 6]
    assert preview.rows[0].display()["price"] == "4990.00"
    assert counts(run(job, manager)) == (2, 0, 0, 3)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_importing_the_same_file_again_changes_nothing(kind: str, manager: Any) -> None:
    data = csv_bytes(ROWS) if kind == "csv" else xlsx_bytes(ROWS)
    run(start(f"goods.{kind}", data, manager), manager)
    before = snapshot()

    preview = start(f"goods.{kind}", data, manager)
    assert counts(preview) == (0, 0, 2, 3)
    again = run(preview, manager)

    assert counts(again) == (0, 0, 2, 3)
    assert snapshot() == before


@pytest.mark.django_db
def test_a_changed_file_updates_only_what_changed_and_audits_prices(manager: Any) -> None:
    run(start("goods.csv", csv_bytes(ROWS[:2]), manager), manager)
    changed = [list(r) for r in ROWS[:2]]
    changed[0][4] = "5490"  # price
    changed[1][3] = "4870001000036"  # barcode

    job = run(start("goods.csv", csv_bytes(changed), manager), manager)

    assert counts(job) == (0, 2, 0, 0)
    assert queries.get_variant_by_sku("TSH-S").price == Decimal("5490.00")
    assert queries.barcodes_of(queries.get_variant_by_sku("TSH-M")) == ["4870001000036"]
    assert not Barcode.objects.filter(code="4870001000029").exists()
    entry = AuditEntry.objects.get(action="catalog.price")
    assert (entry.actor, entry.changes["price"]) == (manager, ["4990.00", "5490.00"])
    assert Variant.objects.count() == 2


@pytest.mark.django_db
def test_a_file_of_skus_and_prices_changes_prices_only(manager: Any) -> None:
    run(start("goods.csv", csv_bytes(ROWS[:2]), manager), manager)
    before = snapshot()

    job = run(start("prices.csv", csv_bytes([["TSH-S", "5990"], ["TSH-M", "4990"], ["NEW-1", "100"]],
                                            header=["Артикул", "Цена"]), manager), manager)  # fmt: skip

    assert counts(job) == (0, 1, 1, 1)
    assert (job.errors[0]["row"], job.errors[0]["column"]) == (4, "Наименование")  # a new SKU needs a name
    after = snapshot()
    assert after["products"] == before["products"]
    assert [v[6] for v in after["variants"]] == [Decimal("5990.00"), Decimal("4990.00")]


@pytest.mark.django_db
def test_a_price_column_with_a_blank_cell_is_an_error_for_a_known_sku_too(manager: Any) -> None:
    run(start("goods.csv", csv_bytes(ROWS[:1]), manager), manager)
    before = snapshot()

    job = run(start("prices.csv", csv_bytes([["TSH-S", ""]], header=["Артикул", "Цена"]), manager), manager)

    assert counts(job) == (0, 0, 0, 1)
    assert (job.errors[0]["row"], job.errors[0]["field"], job.errors[0]["column"]) == (2, "price", "Цена")
    assert snapshot() == before


@pytest.mark.django_db
def test_a_row_refused_while_writing_is_rolled_back_alone(manager: Any) -> None:
    other = {"sku": "OTHER", "price": "1", "barcodes": ["4870001000029"]}
    taken = actions.check_create_product(actor=manager, name="Другое", variants=[other])
    rows = [["NEW-1", "Новый товар", "4870001000029", "100", "Новая группа"],
            ["NEW-2", "Ещё товар", "", "200", "Группа 2"]]  # fmt: skip

    job = run(start("goods.csv", csv_bytes(rows, header=["Артикул", "Наименование", "Штрихкод", "Цена", "Группа"]),
                    manager), manager)  # fmt: skip

    assert counts(job) == (1, 0, 0, 1)
    assert (job.errors[0]["row"], job.errors[0]["field"]) == (2, "barcodes")
    assert "OTHER" in job.errors[0]["message"]
    assert sorted(Product.objects.values_list("name", flat=True)) == ["Другое", "Ещё товар"]
    assert list(Category.objects.values_list("name", flat=True)) == ["Группа 2"]
    assert queries.find_variant_by_barcode("4870001000029") == taken.variants.get()


@pytest.mark.django_db
def test_a_sku_twice_in_a_file_is_an_error_on_the_second(manager: Any) -> None:
    rows = [["A-1", "Товар", "100"], ["a-1", "Товар", "200"]]

    job = run(start("goods.csv", csv_bytes(rows, header=["Артикул", "Наименование", "Цена"]), manager), manager)

    assert counts(job) == (1, 0, 0, 1)
    assert (job.errors[0]["row"], job.errors[0]["field"]) == (3, "sku")
    assert queries.get_variant_by_sku("A-1").price == Decimal("100.00")


@pytest.mark.django_db
def test_a_promotion_not_cheaper_than_the_price_is_a_row_error(manager: Any) -> None:
    rows = [["A-1", "Товар", "100", "150", "01.01.2031", "31.01.2031"]]
    header = ["Артикул", "Наименование", "Цена", "Цена со скидкой", "Начало акции", "Конец акции"]

    job = run(start("goods.csv", csv_bytes(rows, header=header), manager), manager)

    assert (job.errors[0]["field"], job.errors[0]["column"]) == ("promo_price", "Цена со скидкой")
    assert Variant.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.CLERK, Role.OPERATOR])
def test_only_managers_and_owners_import(role: str) -> None:
    with pytest.raises(DomainError) as refused:
        start("goods.csv", csv_bytes(ROWS), make_user(role))
    assert refused.value.code == "CATALOG_FORBIDDEN"
    assert ImportJob.objects.count() == 0


# --- export → import --------------------------------------------------------------------------------------------


@pytest.fixture
def catalog(manager: Any) -> None:
    decor = actions.check_category_path(actor=manager, path=["Декор", "Гирлянды"])
    actions.check_create_product(
        actor=manager, name="Гирлянда «Нить»", brand="Lumen", category=decor, external_id="1C-1",
        description="Тёплый свет;\nдве строки, «кавычки»",
        translations={"kk": {"name": "Шам", "description": "Жылы"}, "en": {"name": "String lights"},
                      "ru": {"name": "Гирлянда"}},
        variants=[
            {"sku": "GRL-10", "price": "4990.50", "barcodes": ["4870001000012", "SUP-1"], "name": "10 м",
             "attributes": {"length": "10 м", "colour": "тёплый белый"}, "weight_grams": 350, "length_mm": 120,
             "promo_price": "3990", "promo_starts_at": dt.datetime(2031, 1, 1, 9, 30, tzinfo=dt.UTC),
             "promo_ends_at": dt.datetime(2031, 1, 10, tzinfo=dt.UTC)},
            {"sku": "GRL-20", "price": "0", "is_active": False},
        ],
    )  # fmt: skip
    actions.check_create_product(actor=manager, name="Свеча", variants=[{"sku": "0012", "price": "990"}])


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_export_then_import_changes_nothing(kind: str, manager: Any, catalog: None) -> None:
    table = actions_import.export_table(actions_import.export_variants())
    data = write_csv(table) if kind == "csv" else write_xlsx(table)
    before = snapshot()

    job = run(start(f"export.{kind}", data, manager), manager)

    assert counts(job) == (0, 0, 3, 0), job.errors
    assert snapshot() == before


@pytest.mark.django_db
def test_the_export_has_the_import_columns_in_russian(catalog: None) -> None:
    table = actions_import.export_table(actions_import.export_variants())
    text = write_csv(table).decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text), delimiter=";"))

    assert header[:5] == ["Артикул", "Наименование", "Модификация", "Штрихкод", "Цена"]
    assert {"Категория", "Наименование (kk)", "Наименование (ru)", "Характеристика: length", "Цвет"} <= set(header)
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in csv.reader(io.StringIO(text), delimiter=";")}
    assert rows["GRL-10"]["Категория"] == "Декор / Гирлянды"
    assert rows["GRL-10"]["Штрихкод"] == "4870001000012, SUP-1"
    assert (rows["GRL-10"]["Цена"], rows["GRL-20"]["В продаже"]) == ("4990.50", "нет")
    assert rows["0012"]["Артикул"] == "0012"
    sheet = load_workbook(io.BytesIO(write_xlsx(table))).active
    assert [c.value for c in sheet[1]][:2] == ["Артикул", "Наименование"]


@pytest.mark.django_db
def test_importing_an_edited_export_updates_the_rows_edited(manager: Any, catalog: None) -> None:
    table = actions_import.export_table(actions_import.export_variants())
    price = table.header.index("Цена")
    promo = table.header.index("Цена со скидкой")
    for row in table.rows:
        if row[0] == "GRL-10":
            row[price], row[promo] = Decimal("5990"), None

    job = run(start("export.csv", write_csv(table), manager), manager)

    assert counts(job) == (0, 1, 2, 0), job.errors
    variant = queries.get_variant_by_sku("GRL-10")
    assert (variant.price, variant.promo_price) == (Decimal("5990.00"), None)
    assert variant.promo_starts_at is None  # a blank promotion clears its dates too
