"""Catalog spreadsheets (CSV, XLSX) in and out: columns, rows, per-row errors. Pure: no database.

A file becomes a `ParsedFile`: which columns were recognised (and which ignored) and, for every
non-blank data row, an `ImportRow` with the values of the columns present, already checked — or the
row's errors `{row, field, column, message}`. `row` is the spreadsheet row number (the header is
row 1). Matching rows to variants and writing them is `omnia.catalog.actions_import`.

Columns are recognised by name in Russian (as 1C and МойСклад export them) or English; case,
spaces and punctuation do not matter ("Цена: Цена продажи" = "цена цена продажи"). Only the columns
present change anything: a file of SKUs and prices changes prices only. A blank cell in a present
column clears the value (no promotion, no brand…), except where a value is required (SKU, name,
price: a row error). Per-location stock is "Остаток: <location code or name>"; attributes other than
Размер/Цвет are "Характеристика: <name>". Weight: "Вес, г" in grams; "Вес" / "Вес, кг" in kilograms
as 1C and МойСклад write it. Categories are a path: "Декор / Гирлянды".

Formats: CSV in UTF-8 (with or without BOM) or cp1251, delimited by `;`, `,` or tab (whichever the
header uses most); XLSX: the first sheet. The export writes the same columns (`EXPORT_COLUMNS`),
so exporting and importing the file again changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from omnia.catalog import actions
from omnia.catalog.errors import ImportFileInvalid, ImportNotFound, ImportNotPending
from omnia.core import spreadsheets
from omnia.core.config import SUPPORTED_LANGUAGES
from omnia.core.errors import DomainError

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
EXTENSIONS = (".csv", ".xlsx")
CATEGORY_SEPARATOR = " / "
__all__ = ["ImportFileInvalid", "ImportNotFound", "ImportNotPending"]  # re-exported for callers


# Canonical field → header aliases, preferred first (when a file has two columns for one field, the
# one with the earlier alias wins: "Внешний код" over "Код"). Compared folded: see fold_header.
ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("артикул", "sku", "артикул товара", "код артикула", "vendor code", "article", "art"),
    "name": ("наименование", "название", "name", "product", "product name", "товар", "наименование товара",
             "полное наименование"),
    "variant_name": ("модификация", "вариант", "характеристика", "variant", "variant name", "modification"),
    "description": ("описание", "description"),
    "brand": ("бренд", "brand", "торговая марка", "марка", "производитель", "manufacturer", "vendor"),
    "category": ("категория", "группа", "группы", "группа товаров", "путь", "category", "group", "категория товара"),
    "barcodes": ("штрихкод", "штрихкоды", "штрих код", "штрихкод ean13", "ean13", "ean 13", "ean", "barcode",
                 "barcodes", "штрихкоды ean13"),
    "price": ("цена", "цена продажи", "цена цена продажи", "розничная цена", "цена розничная", "розница", "price",
              "retail price", "цена руб", "цена тг", "цена kzt"),
    "promo_price": ("цена со скидкой", "цена по акции", "акционная цена", "цена акционная", "цена акция",
                    "promo price", "sale price", "discount price", "price with discount"),
    "promo_starts_at": ("начало акции", "акция с", "скидка с", "promo start", "promo starts", "sale starts",
                        "promo starts at"),
    "promo_ends_at": ("конец акции", "окончание акции", "акция до", "скидка до", "promo end", "promo ends",
                      "sale ends", "promo ends at"),
    "size": ("размер", "size"),
    "colour": ("цвет", "colour", "color"),
    "weight_grams": ("вес г", "вес гр", "вес в граммах", "weight g", "weight grams", "weight_grams"),
    "weight_kg": ("вес", "вес кг", "вес в кг", "weight", "weight kg", "масса", "масса кг"),
    "length_mm": ("длина мм", "длина", "length mm", "length", "length_mm"),
    "width_mm": ("ширина мм", "ширина", "width mm", "width", "width_mm"),
    "height_mm": ("высота мм", "высота", "height mm", "height", "height_mm"),
    "external_id": ("внешний код", "external id", "код 1с", "код 1c", "ид 1с", "id 1c", "код", "code", "id"),
    "is_active": ("в продаже", "активен", "активный", "продается", "active", "on sale", "is active"),
    "archived": ("архивный", "в архиве", "archived"),
    **{f"name_{lang}": (f"наименование {lang}", f"название {lang}", f"name {lang}", f"наименование на {lang}")
       for lang in SUPPORTED_LANGUAGES},
    **{f"description_{lang}": (f"описание {lang}", f"description {lang}") for lang in SUPPORTED_LANGUAGES},
    "name_kk_alt": ("наименование kz", "название kz", "name kz", "атауы"),
    "description_kk_alt": ("описание kz", "description kz", "сипаттамасы"),
}  # fmt: skip
_FIELD_ALIAS = {"name_kk_alt": "name_kk", "description_kk_alt": "description_kk"}
# Columns named "<prefix>: <label>": per-location stock and free attributes.
_STOCK_PREFIXES = ("остаток", "остатки", "stock", "количество", "кол-во", "qty")
_ATTRIBUTE_PREFIXES = ("характеристика", "свойство", "атрибут", "доп. поле", "доп поле", "attribute", "property")
_ATTRIBUTE_OF_FIELD = {"size": "size", "colour": "colour"}

# What the export writes, in order (the stock columns follow, added by the inventory export).
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sku", "Артикул"), ("name", "Наименование"), ("variant_name", "Модификация"), ("barcodes", "Штрихкод"),
    ("price", "Цена"), ("promo_price", "Цена со скидкой"), ("promo_starts_at", "Начало акции"),
    ("promo_ends_at", "Конец акции"), ("brand", "Бренд"), ("category", "Категория"), ("description", "Описание"),
    ("name_kk", "Наименование (kk)"), ("description_kk", "Описание (kk)"), ("name_en", "Наименование (en)"),
    ("description_en", "Описание (en)"), ("size", "Размер"), ("colour", "Цвет"), ("weight_grams", "Вес, г"),
    ("length_mm", "Длина, мм"), ("width_mm", "Ширина, мм"), ("height_mm", "Высота, мм"),
    ("external_id", "Внешний код"), ("is_active", "В продаже"),
)  # fmt: skip
TRANSLATION_COLUMNS = {"ru": ("Наименование (ru)", "Описание (ru)")}
_EXPORT_TITLES = dict(EXPORT_COLUMNS)
ATTRIBUTE_COLUMN = "Характеристика: {}"
STOCK_COLUMN = "Остаток: {}"
DATETIME_FORMAT = "%d.%m.%Y %H:%M:%S"
YES, NO = "да", "нет"
_TRUE = {"да", "yes", "y", "true", "1", "+", "д", "истина", "в продаже", "активен", "иә", "ия"}
_FALSE = {"нет", "no", "n", "false", "0", "-", "н", "ложь", "жоқ", "архив"}
_SEPARATORS = re.compile(r"[,;\n]+")
_CATEGORY_SPLIT = re.compile(r"\s*[/>»\\]\s*")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # noqa: DTZ001 - Excel serial dates are local wall time
_DATE_FORMATS = (
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d",
    "%d/%m/%Y", "%d.%m.%y",
)  # fmt: skip


def fold_header(text: str) -> str:
    return "".join(ch for ch in str(text).lower().replace("ё", "е") if ch.isalnum())


_BY_HEADER: dict[str, tuple[str, int]] = {}
for _name, _aliases in ALIASES.items():
    for _rank, _alias in enumerate(_aliases):
        _BY_HEADER.setdefault(fold_header(_alias), (_FIELD_ALIAS.get(_name, _name), _rank))


@dataclass(frozen=True)
class RowError:
    row: int | None
    field: str
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class ImportRow:
    """One data row: the values of the columns present (checked), or why it cannot be imported."""

    row: int
    sku: str = ""
    product: dict[str, Any] = field(default_factory=dict)  # name, description, brand, external_id
    translations: dict[str, dict[str, str]] = field(default_factory=dict)  # {"kk": {"name": …}} as given
    category: tuple[str, ...] | None = None  # None: no category column; () clears the category
    variant: dict[str, Any] = field(default_factory=dict)  # name, barcodes, price, promo_*, weight/size, is_active
    attributes: dict[str, str] = field(default_factory=dict)  # given keys; "" removes the attribute
    stock: tuple[tuple[str, int], ...] = ()  # (location label as in the header, units counted)
    errors: tuple[RowError, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors

    def display(self) -> dict[str, str]:
        """The row's values as text, by field (for the preview table)."""
        shown: dict[str, str] = {"sku": self.sku}
        for name, value in self.product.items():
            shown[name] = cell_text(value)
        for lang, parts in self.translations.items():
            for part, value in parts.items():
                shown[f"{part}_{lang}"] = value
        if self.category is not None:
            shown["category"] = CATEGORY_SEPARATOR.join(self.category)
        for name, value in self.variant.items():
            key = "variant_name" if name == "name" else name
            shown[key] = ", ".join(value) if isinstance(value, list) else cell_text(value)
        for key, value in self.attributes.items():
            shown[f"attribute:{key}"] = value
        for label, counted in self.stock:
            shown[f"stock:{label}"] = str(counted)
        return shown


@dataclass(frozen=True)
class Layout:
    """Where each field is in the file: columns[field] = index; stock and attribute columns by label."""

    columns: dict[str, int]
    titles: dict[str, str]  # field → the header as written (for messages)
    stock: dict[str, int]  # location label → index
    attributes: dict[str, int]  # attribute name → index

    def title(self, name: str) -> str:
        """The column's header as written, or (for a column the file lacks) the one the export writes."""
        return self.titles.get(name) or _EXPORT_TITLES.get(name, name)


@dataclass(frozen=True)
class ParsedFile:
    columns: dict[str, str]  # header as written → what it is ("price", "stock:dostyk", "attribute:length")
    ignored: list[str]
    layout: Layout
    rows: list[ImportRow] = field(default_factory=list)
    total_rows: int = 0

    @property
    def stock_labels(self) -> list[str]:
        return list(self.layout.stock)

    @property
    def errors(self) -> list[RowError]:
        return [e for r in self.rows for e in r.errors]


# --- reading ------------------------------------------------------------------------------------------


def check_file_name(name: str) -> None:
    if not name.lower().endswith(EXTENSIONS):
        raise ImportFileInvalid(f"{name!r} is not a CSV or XLSX file.", code="IMPORT_FILE_TYPE")


def parse_file(name: str, data: bytes, *, limit: int | None = None) -> ParsedFile:
    """Columns and rows of a CSV/XLSX file; ImportFileInvalid (field "file") if it cannot be imported.

    With `limit`, only the first `limit` data rows are parsed (the preview); all are counted.
    """
    check_file_name(name)
    if len(data) > MAX_BYTES:
        raise ImportFileInvalid(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", code="IMPORT_TOO_BIG")
    records = spreadsheets.records(data, file_name=name, error=ImportFileInvalid)
    header = next((cells for _, cells in records if not spreadsheets.blank(cells)), None)
    if header is None:
        raise ImportFileInvalid("The file is empty.", code="IMPORT_EMPTY")
    columns, ignored, layout = map_header(header)
    if "sku" not in layout.columns:
        raise ImportFileInvalid(
            "No SKU column (Артикул, SKU): rows could not be matched to variants.", code="IMPORT_NO_SKU_COLUMN"
        )
    rows: list[ImportRow] = []
    total = 0
    for number, cells in records:
        if spreadsheets.blank(cells):
            continue
        total += 1
        if total > MAX_ROWS:
            raise ImportFileInvalid(f"The file has more than {MAX_ROWS:,} rows: split it.", code="IMPORT_TOO_MANY_ROWS")
        if limit is not None and total > limit:
            continue
        rows.append(parse_row(number, cells, layout))
    return ParsedFile(columns=columns, ignored=ignored, layout=layout, rows=rows, total_rows=total)


def _prefixed(title: str, prefixes: Sequence[str], *, colon_required: bool) -> str | None:
    """The label after "<prefix>:" (or "<prefix> (label)", or "<prefix> label" when allowed), else None."""
    lowered = title.lower().replace("ё", "е")
    for prefix in prefixes:
        if not lowered.startswith(prefix):
            continue
        rest = title[len(prefix) :]
        match = re.match(r"^\s*(?::|\(|-|–|—)\s*(.+?)\s*\)?\s*$", rest)
        if match is None and not colon_required:
            match = re.match(r"^\s+(?:на\s+|в\s+|at\s+)?(.+?)\s*$", rest)
        if match is not None and match.group(1).strip():
            return match.group(1).strip()
    return None


def map_header(header: list[Any]) -> tuple[dict[str, str], list[str], Layout]:
    columns: dict[str, str] = {}
    ignored: list[str] = []
    chosen: dict[str, tuple[int, int, str]] = {}  # field → (alias rank, index, title)
    stock: dict[str, int] = {}
    attributes: dict[str, int] = {}
    extra_titles: dict[str, str] = {}
    for index, cell in enumerate(header):
        title = " ".join(str(cell if cell is not None else "").split())
        if not title:
            continue
        known = _BY_HEADER.get(fold_header(title))
        if known is not None:
            name, rank = known
            previous = chosen.get(name)
            if previous is None or rank < previous[0]:
                if previous is not None:
                    ignored.append(previous[2])
                    columns.pop(previous[2], None)
                chosen[name] = (rank, index, title)
                columns[title] = name
            else:
                ignored.append(title)
            continue
        label = _prefixed(title, _STOCK_PREFIXES, colon_required=False)
        if label is not None and label not in stock:
            stock[label] = index
            columns[title] = f"stock:{label}"
            extra_titles[f"stock:{label}"] = title
            continue
        label = _prefixed(title, _ATTRIBUTE_PREFIXES, colon_required=True)
        if label is not None and label not in attributes:
            attributes[label] = index
            columns[title] = f"attribute:{label}"
            extra_titles[f"attribute:{label}"] = title
            continue
        ignored.append(title)
    if "weight_grams" in chosen and "weight_kg" in chosen:  # grams are exact: the kilograms column is ignored
        title = chosen.pop("weight_kg")[2]
        columns.pop(title, None)
        ignored.append(title)
    if "is_active" in chosen and "archived" in chosen:
        title = chosen.pop("archived")[2]
        columns.pop(title, None)
        ignored.append(title)
    layout = Layout(
        columns={name: index for name, (_, index, _) in chosen.items()},
        titles={**extra_titles, **{name: title for name, (_, _, title) in chosen.items()}},
        stock=stock,
        attributes=attributes,
    )
    return columns, ignored, layout


# --- one row ---------------------------------------------------------------------------------------------


def text_of(value: Any) -> str:
    """A cell as one line of text: numbers without a spurious '.0' (codes typed as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, dt.date):
        return value.isoformat()
    return " ".join(str(value).split())


def _long_text(value: Any) -> str:
    """A cell kept with its line breaks (descriptions)."""
    if value is None:
        return ""
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def parse_moment(value: Any) -> dt.datetime | None:
    """An aware datetime from an Excel date, an Excel serial number or text; naive is the shop's time zone."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not 1 <= value < 80_000:
            raise ValueError(f"{value!r} is not a date.")
        moment = _EXCEL_EPOCH + dt.timedelta(days=float(value))
        moment = moment.replace(microsecond=0)
    else:
        text = " ".join(str(value).split())
        for fmt in _DATE_FORMATS:
            try:
                moment = dt.datetime.strptime(text, fmt)  # noqa: DTZ007 - made aware below
                break
            except ValueError:
                continue
        else:
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a date: write it as dd.mm.yyyy hh:mm.") from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def parse_flag(value: Any) -> bool | None:
    text = text_of(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def parse_count(value: Any) -> int | None:
    """Units counted: a whole number ≥ 0, None for a blank cell; ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(text_of(value).replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"{text_of(value)!r} is not a number of units.") from None
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise ValueError(f"{text_of(value)!r} is not a whole number of units, zero or more.")
    if number > 1_000_000:
        raise ValueError("At most 1000000 units.")
    return int(number)


def _grams_of_kilograms(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        kilograms = Decimal(text_of(value).replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"{text_of(value)!r} is not a weight in kilograms.") from None
    if not kilograms.is_finite() or kilograms < 0:
        raise ValueError(f"{text_of(value)!r} is not a weight in kilograms.")
    return int((kilograms * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_row(number: int, cells: list[Any], layout: Layout) -> ImportRow:
    """One data row: the present columns' values, checked with the catalog's own rules."""
    errors: list[RowError] = []

    def cell(name: str) -> Any:
        index = layout.columns.get(name)
        if index is None or index >= len(cells):
            return None
        value = cells[index]
        return None if isinstance(value, str) and not value.strip() else value

    def has(name: str) -> bool:
        return name in layout.columns

    def fail(name: str, message: str, column: str | None = None) -> None:
        title = column or layout.title(name)
        errors.append(RowError(row=number, field=name, column=title, message=f"{title}: {message}"))

    def check(name: str, clean: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return clean(*args, **kwargs)
        except DomainError as exc:
            fail(name, exc.message)
        except ValueError as exc:
            fail(name, str(exc))
        return None

    sku = ""
    if cell("sku") is None:
        fail("sku", "the SKU is required.")
    else:
        sku = check("sku", actions.clean_sku, text_of(cell("sku"))) or ""

    product: dict[str, Any] = {}
    if has("name"):
        product["name"] = check("name", actions.clean_text, cell("name"), field="name", max_length=300,
                                required=True, label="The name")  # fmt: skip
    if has("description"):
        product["description"] = check("description", actions.clean_description, _long_text(cell("description")))
    if has("brand"):
        product["brand"] = check("brand", actions.clean_text, cell("brand"), field="brand", max_length=120)
    if has("external_id"):
        product["external_id"] = check(
            "external_id", actions.clean_text, text_of(cell("external_id")), field="external_id", max_length=100
        )
    active: bool | None = None  # the variant's; a product stays on sale while it has variants
    for flag, inverted in (("is_active", False), ("archived", True)):
        if has(flag):
            raw = cell(flag)
            value = True if raw is None and not inverted else parse_flag(raw) if raw is not None else False
            if value is None:
                fail(flag, f"{text_of(raw)!r} is not yes or no (да / нет).")
            else:
                active = not value if inverted else value

    translations: dict[str, dict[str, str]] = {}
    for lang in SUPPORTED_LANGUAGES:
        for part in ("name", "description"):
            name = f"{part}_{lang}"
            if has(name):
                raw = text_of(cell(name)) if part == "name" else _long_text(cell(name))
                translations.setdefault(lang, {})[part] = raw

    category: tuple[str, ...] | None = None
    if has("category"):
        parts = [p for p in _CATEGORY_SPLIT.split(text_of(cell("category"))) if p.strip()]
        category = tuple(
            check("category", actions.clean_text, p, field="category", max_length=200) or "" for p in parts
        )

    variant: dict[str, Any] = {}
    if has("variant_name"):
        variant["name"] = check("variant_name", actions.clean_text, cell("variant_name"), field="variant_name",
                                max_length=200)  # fmt: skip
    if has("barcodes"):
        raw = cell("barcodes")
        codes = [p.strip() for p in _SEPARATORS.split(text_of(raw))] if raw is not None else []
        variant["barcodes"] = check("barcodes", actions.clean_barcodes, [c for c in codes if c])
    if has("price"):
        variant["price"] = check("price", actions.clean_price, cell("price"))
    if has("promo_price"):
        variant["promo_price"] = check("promo_price", actions.clean_optional_price, cell("promo_price"),
                                       field="promo_price")  # fmt: skip
    for name in ("promo_starts_at", "promo_ends_at"):
        if has(name):
            variant[name] = check(name, parse_moment, cell(name))
    if has("weight_grams"):
        variant["weight_grams"] = check("weight_grams", actions.clean_dimension, cell("weight_grams"),
                                        field="weight_grams")  # fmt: skip
    elif has("weight_kg"):
        grams = check("weight_kg", _grams_of_kilograms, cell("weight_kg"))
        variant["weight_grams"] = check("weight_kg", actions.clean_dimension, grams, field="weight_grams")
    for name in ("length_mm", "width_mm", "height_mm"):
        if has(name):
            variant[name] = check(name, actions.clean_dimension, cell(name), field=name)
    if active is not None:
        variant["is_active"] = active

    attributes: dict[str, str] = {}
    for name, key in _ATTRIBUTE_OF_FIELD.items():
        if has(name):
            attributes[key] = check(name, actions.clean_text, cell(name), field=name, max_length=200) or ""
    for key, index in layout.attributes.items():
        raw = cells[index] if index < len(cells) else None
        attributes[key] = text_of(raw)[:200]

    stock: list[tuple[str, int]] = []
    for label, index in layout.stock.items():
        raw = cells[index] if index < len(cells) else None
        try:
            counted = parse_count(raw)
        except ValueError as exc:
            fail(f"stock:{label}", str(exc))
            continue
        if counted is not None:
            stock.append((label, counted))

    return ImportRow(
        row=number, sku=sku, product=product, translations=translations, category=category, variant=variant,
        attributes=attributes, stock=tuple(stock), errors=tuple(errors),
    )  # fmt: skip


# --- writing (the export) --------------------------------------------------------------------------------


@dataclass
class Table:
    """An export: header titles and one row of cell values per variant (in `variant_ids` order)."""

    header: list[str]
    rows: list[list[Any]]
    variant_ids: list[int]

    def add_column(self, title: str, values: dict[int, Any]) -> None:
        """Append a column; `values` by variant id (missing: blank)."""
        self.header.append(title)
        for variant_id, row in zip(self.variant_ids, self.rows, strict=True):
            row.append(values.get(variant_id))


def cell_text(value: Any) -> str:
    """How a value is written in CSV (and read back the same)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime(DATETIME_FORMAT)
    return str(value)


def write_csv(table: Table) -> bytes:
    """UTF-8 with a BOM and `;` between cells: what Excel in Russian opens as columns."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([cell_text(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_xlsx(table: Table) -> bytes:
    """One sheet: numbers as numbers, dates as dates (shop time), codes and barcodes as text."""
    from openpyxl import Workbook  # type: ignore[import-untyped]  # no stubs installed

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Товары")
    sheet.append(table.header)
    for row in table.rows:
        sheet.append([_xlsx_value(v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    return value
