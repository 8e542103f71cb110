"""Reading uploaded spreadsheets the way shops export them: CSV (UTF-8, UTF-16 or the cp1251 that 1C and
Russian Excel write; `;`, `,` or tab) and XLSX (the first sheet). Rows come as (record number, cells)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

from omnia.core.errors import ValidationFailed

Records = Iterator[tuple[int, list[Any]]]


def records(data: bytes, *, file_name: str, error: type[ValidationFailed]) -> Records:
    """The rows of the file (XLSX by its name, else CSV); `error` (code IMPORT_UNREADABLE) if unreadable."""
    return xlsx_records(data, error=error) if file_name.lower().endswith(".xlsx") else csv_records(data, error=error)


def blank(cells: Iterable[Any]) -> bool:
    return all(c is None or str(c).strip() == "" for c in cells)


def first_nonblank(rows: Records) -> tuple[int, list[Any] | None]:
    for number, cells in rows:
        if not blank(cells):
            return number, cells
    return 0, None


def decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace")  # what 1C and Russian Excel write


def csv_records(data: bytes, *, error: type[ValidationFailed]) -> Records:
    text = decode(data)
    if "\x00" in text:
        raise error("The file is not a readable text (CSV) file.", code="IMPORT_UNREADABLE")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", ",", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        # The record number, not the physical line: a quoted cell with a line break is still one row.
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise error(f"The CSV file cannot be read: {exc}.", code="IMPORT_UNREADABLE") from exc


def xlsx_records(data: bytes, *, error: type[ValidationFailed]) -> Records:
    from openpyxl import load_workbook  # type: ignore[import-untyped]  # no stubs installed

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise error("The file is not a readable XLSX workbook.", code="IMPORT_UNREADABLE") from exc
    try:
        if not workbook.worksheets:
            return
        for number, values in enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1):
            yield number, list(values)
    finally:
        workbook.close()
