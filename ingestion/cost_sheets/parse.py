"""One cost-sheet file (CSV, or XLSX workbook of sheets) into contract rows and rejects."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from .. import contracts
from .location import InputFile
from .reader import FileProblem, Sheet, read_csv, read_xlsx
from .rows import Header, SheetChecker, input_columns, kinds_key, raw_text, reject_row

SUFFIXES = (".csv", ".xlsx")


@dataclass
class ParsedFile:
    name: str  # relative to the cost-sheet folder: source_file
    rows: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)  # reason kinds of the rejects
    notes: list[str] = field(default_factory=list)


def rows_contract() -> contracts.Contract:
    return contracts.load("raw_costs", "cost_sheet_rows")


def rejects_contract() -> contracts.Contract:
    return contracts.load("raw_costs", "cost_sheet_rejects")


def parse_cost_file(file: InputFile, data: bytes, loaded_at: datetime) -> ParsedFile:
    """The rows and rejects of one file; FileProblem when none of it can be loaded."""
    contract = rows_contract()
    columns = input_columns(contract)
    workbook = file.suffix == ".xlsx"
    sheets = read_xlsx(data) if workbook else [read_csv(data, file.stem)]
    filled = [sheet for sheet in sheets if sheet.rows]
    if not filled:
        raise FileProblem("is empty")
    parsed = ParsedFile(file.name)
    other_sheets = []  # judged once it is known whether the workbook has a cost sheet
    for sheet in sheets:
        if not sheet.rows:
            parsed.notes.append(f"sheet {sheet.name!r} is empty")
            continue
        try:
            header = Header(sheet.rows[0][1], columns)
        except FileProblem as exc:
            raise FileProblem(f"sheet {sheet.name!r} {exc}" if workbook else str(exc)) from exc
        if header.positions:
            _check_sheet(parsed, sheet, header, contract, loaded_at)
        elif workbook:
            other_sheets.append(sheet)
        else:
            raise FileProblem(
                f"has the wrong header: expected the columns {', '.join(columns)};"
                f" found {', '.join(header.names) or 'nothing'}"
            )
    if len(other_sheets) == len(filled):
        names = ", ".join(repr(sheet.name) for sheet in sheets)
        raise FileProblem(
            f"has no cost sheet: none of its sheets ({names}) has a header with any of the"
            f" columns {', '.join(columns)}"
        )
    for sheet in other_sheets:
        _reject_sheet(parsed, sheet, columns, loaded_at)
    return parsed


def _check_sheet(
    parsed: ParsedFile, sheet: Sheet, header: Header, contract, loaded_at: datetime
) -> None:
    lineage = {"source_file": parsed.name, "sheet": sheet.name, "loaded_at": loaded_at}
    checker = SheetChecker(contract, header, lineage)
    for row_number, cells in sheet.rows[1:]:
        checker.add(row_number, cells)
    parsed.rows += checker.good
    parsed.rejects += checker.rejects
    parsed.kinds += checker.kinds
    if header.ignored:
        parsed.notes.append(
            f"sheet {sheet.name!r}: column(s) not in the contract left out:"
            f" {', '.join(header.ignored)}"
        )


def _reject_sheet(parsed: ParsedFile, sheet: Sheet, columns: list[str], loaded_at) -> None:
    """One reject (row 0) for a worksheet that is not a cost sheet, e.g. a pivot or notes."""
    problems = [
        (
            "not a cost sheet",
            f"sheet {sheet.name!r} is not a cost sheet: its first row has none of the columns"
            f" {', '.join(columns)}",
        )
    ]
    raw_values = {
        "header": [raw_text(cell) for cell in sheet.rows[0][1] if cell is not None],
        "data_rows": len(sheet.rows) - 1,
    }
    lineage = {"source_file": parsed.name, "sheet": sheet.name, "loaded_at": loaded_at}
    parsed.kinds[kinds_key(problems)] += 1
    parsed.rejects.append(reject_row(lineage, 0, raw_values, problems))
