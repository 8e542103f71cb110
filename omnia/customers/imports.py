"""Reading customer files (CSV, XLSX) for an import: columns, rows, per-row errors. Pure: no database.

A file becomes a `ParsedFile`: which columns were recognised (and which ignored) and, for every
non-blank data row, an `ImportRow` — either valid (normalised values) or carrying its errors
`{row, field, message}`. `row` is the spreadsheet row number: the header is row 1, so the first data
row is 2. Writing rows to the database is `omnia.customers.actions.imports`.

Formats:
- CSV in UTF-8 (with or without a BOM) or cp1251 (as 1C exports it); the delimiter (`,` `;` or tab)
  is the one the header line uses most.
- XLSX: the first sheet; dates may be real Excel dates or text.

Names: explicit first/last name columns win; otherwise a full-name column (ФИО, Клиент, Контрагент)
is split the Russian way, "Фамилия Имя Отчество": the first word is the last name, the second the
first name, and the patronymic stays after the first name ("Иван Петрович"), so the card shows
"Иван Петрович Иванов". A single word is taken as the first name.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from omnia.core import clock, spreadsheets
from omnia.core.config import SUPPORTED_LANGUAGES
from omnia.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from omnia.customers.actions.identity import normalize_identity
from omnia.customers.models import Identity

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
EXTENSIONS = (".csv", ".xlsx")


class ImportFileInvalid(ValidationFailed):
    """The file as a whole cannot be imported: wrong type, unreadable, too big, no identifying column."""

    code = "IMPORT_FILE_INVALID"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, field="file", code=code)


class ImportNotFound(NotFound):
    code = "IMPORT_NOT_FOUND"


class ImportNotPending(Conflict):
    """The import was already confirmed (or cancelled): it cannot be confirmed again."""

    code = "IMPORT_NOT_PENDING"


# Canonical field → header aliases. Headers are compared folded: lower case, ё → е, and only
# letters and digits kept, so "E-mail", "e_mail" and "EMAIL" are one name.
ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("first name", "firstname", "given name", "имя"),
    "middle_name": ("middle name", "patronymic", "отчество"),
    "last_name": ("last name", "lastname", "surname", "family name", "фамилия"),
    "full_name": ("full name", "name", "customer", "client", "фио", "клиент", "контрагент", "покупатель",
                  "наименование", "полное имя"),
    "phone": ("phone", "phones", "phone number", "mobile", "mobile phone", "telephone", "tel", "телефон",
              "телефоны", "мобильный", "мобильный телефон", "сотовый", "номер телефона", "тел"),
    "email": ("email", "e-mail", "emails", "mail", "почта", "электронная почта", "эл почта", "емейл"),
    "city": ("city", "town", "город", "населенный пункт"),
    "birthday": ("birthday", "birth date", "date of birth", "dob", "дата рождения", "день рождения"),
    "loyalty_card": ("loyalty card", "card", "discount card", "card number", "карта", "дисконтная карта",
                     "номер карты", "карта лояльности", "бонусная карта"),
    "tags": ("tags", "tag", "теги", "тег", "метки"),
    "notes": ("notes", "note", "comment", "comments", "комментарий", "примечание", "заметки"),
    "external_id": ("external id", "id", "code", "код", "id 1с", "id 1c", "код 1с", "код 1c", "ид",
                    "идентификатор", "внешний id"),
    "language": ("language", "lang", "язык"),
}  # fmt: skip
# Fields several columns may feed (their values are joined); any other field takes its first column.
MULTI_COLUMN_FIELDS = frozenset({"phone", "email", "tags"})
IDENTIFYING_FIELDS = ("external_id", "phone", "email")
_SEPARATORS = re.compile(r"[,;\n]+")
_LANGUAGES = {
    "ru": "ru", "rus": "ru", "russian": "ru", "рус": "ru", "русский": "ru",
    "kk": "kk", "kz": "kk", "kaz": "kk", "kazakh": "kk", "каз": "kk", "қаз": "kk", "казахский": "kk", "қазақша": "kk",
    "en": "en", "eng": "en", "english": "en", "англ": "en", "английский": "en",
}  # fmt: skip
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_LIMITS = {"first_name": 120, "last_name": 120, "city": 100, "loyalty_card": 40, "external_id": 255}


def fold_header(text: str) -> str:
    return "".join(ch for ch in str(text).lower().replace("ё", "е") if ch.isalnum())


_BY_HEADER = {fold_header(alias): name for name, aliases in ALIASES.items() for alias in aliases}


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class ImportRow:
    """One data row: normalised values, or the reasons it cannot be imported (then nothing of it is)."""

    row: int
    first_name: str = ""
    last_name: str = ""
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    external_id: str = ""
    city: str = ""
    birthday: dt.date | None = None
    loyalty_card: str = ""
    tags: tuple[str, ...] = ()
    notes: str = ""
    language: str = ""
    errors: tuple[RowError, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors

    def identities(self) -> list[tuple[str, str]]:
        """(kind, value) handles, in the order a card is looked up by: external id, phones, e-mails."""
        found = [(Identity.Kind.EXTERNAL.value, self.external_id)] if self.external_id else []
        found += [(Identity.Kind.PHONE.value, p) for p in self.phones]
        found += [(Identity.Kind.EMAIL.value, e) for e in self.emails]
        return found

    def card_fields(self) -> dict[str, Any]:
        """The card fields this row gives a value (empty cells are left out)."""
        values = {
            "first_name": self.first_name, "last_name": self.last_name, "city": self.city,
            "birthday": self.birthday, "loyalty_card": self.loyalty_card, "notes": self.notes,
            "language": self.language,
        }  # fmt: skip
        return {name: value for name, value in values.items() if value not in ("", None)}


@dataclass(frozen=True)
class ParsedFile:
    columns: dict[str, str]  # header as written → canonical field
    ignored: list[str]  # headers not recognised (or a second column for a one-column field)
    rows: list[ImportRow] = field(default_factory=list)
    total_rows: int = 0  # non-blank data rows in the file (≥ len(rows) when read with a limit)

    @property
    def valid_rows(self) -> list[ImportRow]:
        return [r for r in self.rows if r.valid]

    @property
    def errors(self) -> list[RowError]:
        return [e for r in self.rows for e in r.errors]


def check_file_name(name: str) -> None:
    if not name.lower().endswith(EXTENSIONS):
        raise ImportFileInvalid(f"{name!r} is not a CSV or XLSX file.", code="IMPORT_FILE_TYPE")


def parse_file(name: str, data: bytes, *, limit: int | None = None) -> ParsedFile:
    """Columns and rows of a CSV/XLSX file; ImportFileInvalid (field "file") if it cannot be imported.

    With `limit`, only the first `limit` data rows are parsed (the preview table); the size and
    row-count limits are checked either way only as far as the file is read.
    """
    check_file_name(name)
    if len(data) > MAX_BYTES:
        raise ImportFileInvalid(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", code="IMPORT_TOO_BIG")
    records = spreadsheets.records(data, file_name=name, error=ImportFileInvalid)
    _, header = spreadsheets.first_nonblank(records)
    if header is None:
        raise ImportFileInvalid("The file is empty.", code="IMPORT_EMPTY")
    columns, ignored, layout = _map_header(header)
    if not any(f in layout for f in IDENTIFYING_FIELDS):
        raise ImportFileInvalid(
            "No column with phones, e-mails or an external id (Телефон, E-mail, Код): "
            "customers could not be matched or reached.",
            code="IMPORT_NO_IDENTITY_COLUMN",
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
        rows.append(_parse_row(number, cells, layout))
    return ParsedFile(columns=columns, ignored=ignored, rows=rows, total_rows=total)


# --- reading --------------------------------------------------------------------------------------


def _map_header(header: list[Any]) -> tuple[dict[str, str], list[str], dict[str, list[int]]]:
    columns: dict[str, str] = {}
    ignored: list[str] = []
    layout: dict[str, list[int]] = {}
    for index, cell in enumerate(header):
        title = " ".join(str(cell if cell is not None else "").split())
        if not title:
            continue
        name = _BY_HEADER.get(fold_header(title))
        if name is None or (name in layout and name not in MULTI_COLUMN_FIELDS):
            ignored.append(title)
            continue
        columns[title] = name
        layout.setdefault(name, []).append(index)
    return columns, ignored, layout


# --- one row --------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell as text: numbers without a spurious '.0' (phones and codes typed as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    return " ".join(str(value).split())


def _values(cells: list[Any], indexes: list[int]) -> list[Any]:
    return [cells[i] for i in indexes if i < len(cells) and cells[i] is not None and _text(cells[i])]


def _parse_row(number: int, cells: list[Any], layout: dict[str, list[int]]) -> ImportRow:
    errors: list[RowError] = []

    def fail(field_name: str, message: str) -> None:
        errors.append(RowError(row=number, field=field_name, message=message))

    def one(name: str) -> Any:
        found = _values(cells, layout.get(name, []))
        return found[0] if found else None

    def many(name: str) -> list[str]:
        parts: list[str] = []
        for value in _values(cells, layout.get(name, [])):
            parts += [p.strip() for p in _SEPARATORS.split(value if isinstance(value, str) else _text(value))]
        return [p for p in parts if p]

    first_name, last_name = _text(one("first_name")), _text(one("last_name"))
    middle_name = _text(one("middle_name"))
    if not (first_name or last_name):
        last_name, first_name = split_full_name(_text(one("full_name")))
    if middle_name and middle_name not in first_name.split():
        first_name = f"{first_name} {middle_name}".strip()

    phones: list[str] = []
    for raw in many("phone"):
        try:
            phone = normalize_identity(Identity.Kind.PHONE, raw, field="phone")
        except DomainError as exc:
            fail("phone", exc.message)
        else:
            if phone not in phones:
                phones.append(phone)
    emails: list[str] = []
    for raw in many("email"):
        try:
            email = normalize_identity(Identity.Kind.EMAIL, raw, field="email")
        except DomainError as exc:
            fail("email", exc.message)
        else:
            if email not in emails:
                emails.append(email)
    external_id = _text(one("external_id"))

    birthday = None
    raw_birthday = one("birthday")
    if raw_birthday is not None:
        try:
            birthday = parse_date(raw_birthday)
        except ValueError as exc:
            fail("birthday", str(exc))

    language = ""
    raw_language = _text(one("language"))
    if raw_language:
        language = _LANGUAGES.get(raw_language.lower(), "")
        if not language:
            fail("language", f"Unknown language {raw_language!r}: use {', '.join(SUPPORTED_LANGUAGES)}.")

    values = {
        "first_name": first_name, "last_name": last_name, "city": _text(one("city")),
        "loyalty_card": _text(one("loyalty_card")), "external_id": external_id,
    }  # fmt: skip
    for name, limit in _LIMITS.items():
        if len(values[name]) > limit:
            fail(name, f"At most {limit} characters.")

    tags: list[str] = []
    for tag in many("tags"):
        tag = tag.lower()[:50]
        if tag not in tags:
            tags.append(tag)

    if not (phones or emails or external_id) and not errors:
        fail("phone", "No phone, e-mail or external id: the customer could not be matched or reached.")
    notes_cells = _values(cells, layout.get("notes", []))
    notes = str(notes_cells[0]).strip() if notes_cells else ""
    return ImportRow(
        row=number, first_name=first_name, last_name=last_name, phones=tuple(phones), emails=tuple(emails),
        external_id=external_id, city=values["city"], birthday=birthday, loyalty_card=values["loyalty_card"],
        tags=tuple(tags), notes=notes, language=language, errors=tuple(errors),
    )  # fmt: skip


def split_full_name(full_name: str) -> tuple[str, str]:
    """(last name, first name) of "Фамилия Имя [Отчество]"; the patronymic stays with the first name."""
    parts = full_name.split()
    if not parts:
        return "", ""
    if len(parts) == 1:
        return "", parts[0]
    return parts[0], " ".join(parts[1:])


_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%y")


def parse_date(value: Any) -> dt.date:
    """A birthday from an Excel date, an Excel day number, or text dd.mm.yyyy / yyyy-mm-dd."""
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not 1 <= value < 80_000:
            raise ValueError(f"{value!r} is not a date.")
        day = _EXCEL_EPOCH + dt.timedelta(days=int(value))
    else:
        text = str(value).strip().split(" ")[0]
        for fmt in _DATE_FORMATS:
            try:
                day = dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"{value!r} is not a date: write it as dd.mm.yyyy or yyyy-mm-dd.")
    if day > clock.today() or day.year < 1900:
        raise ValueError(f"{day:%d.%m.%Y} is not a real date of birth.")
    return day
