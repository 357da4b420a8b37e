"""Cells out of CSV files and XLSX workbooks, with the row numbers a spreadsheet shows."""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from typing import Any

import openpyxl


class FileProblem(Exception):
    """A file (or one of its sheets) that cannot be read as intended; the message says why and
    the caller adds the file's name."""


@dataclass(frozen=True)
class Sheet:
    name: str
    # (row number, cells) of every row that is not blank; the first one is the header
    rows: list[tuple[int, tuple[Any, ...]]]


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _keep(numbered_rows) -> list[tuple[int, tuple[Any, ...]]]:
    return [(n, tuple(cells)) for n, cells in numbered_rows if not all(map(is_blank, cells))]


def read_csv(data: bytes, sheet_name: str) -> Sheet:
    """A CSV file as one sheet named `sheet_name` (comma separated, UTF-8 with or without BOM).
    Row numbers count records, as a spreadsheet opening the file numbers its rows."""
    try:
        text = data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte order mark
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"is not UTF-8 text (invalid byte at offset {exc.start}); save it as CSV UTF-8"
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        return Sheet(sheet_name, _keep(enumerate(reader, start=1)))
    except csv.Error as exc:
        raise FileProblem(f"is not valid CSV near line {reader.line_num}: {exc}") from exc


def read_xlsx(data: bytes) -> list[Sheet]:
    """Every worksheet of a workbook, with the values Excel last computed for formulas."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # openpyxl's notes on styles and such
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheets = []
                for sheet in book.worksheets:
                    sheet.reset_dimensions()  # some writers store wrong sheet dimensions
                    rows = _keep(enumerate(sheet.iter_rows(values_only=True), start=1))
                    sheets.append(Sheet(sheet.title, rows))
                return sheets
            finally:
                book.close()
    except Exception as exc:
        # a damaged or mislabelled file can fail anywhere in openpyxl and zipfile, with many
        # exception types; it is one bad input, not a reason to stop loading the others
        raise FileProblem(
            f"is not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
        ) from exc
