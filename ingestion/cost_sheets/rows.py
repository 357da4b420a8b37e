"""Rows of a sheet checked against a data contract: typed rows that keep it, rejects that say
why not. Shared by the cost-sheet and FX loaders; the rules themselves live in the contract.

Reason kinds (what the load report counts and `reason_kinds` stores):
`invalid <column>` (not a valid date / decimal / ...), `unknown <column>` (not an allowed value),
`missing <column>` (blank required value), `missing column <column>` (not in the header),
`<column> too precise` (more decimal places than the column's scale), `<column> out of range`,
`duplicate row` / `duplicate <key columns>`, `values outside the header`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..contracts import Column, Contract
from .reader import FileProblem, is_blank

# columns the loader fills (where a row came from), not read from the file
LINEAGE = frozenset({"source_file", "sheet", "row_number", "loaded_at"})
# a comma may only group thousands: the contract drops commas, which would read "1,5" as 15
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
# beyond this many allowed values the reason names the rule, not the whole list
_LISTED_VALUES = 12


def input_columns(contract: Contract) -> list[str]:
    return [name for name in contract.columns if name not in LINEAGE]


def raw_text(value: Any) -> Any:
    """A cell as JSON can hold it, as close to what the sheet shows as possible."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, datetime):
        return value.date().isoformat() if value == datetime(*value.timetuple()[:3]) else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


class Header:
    """Where each contract column is in a sheet; names match ignoring case and outer spaces."""

    def __init__(self, cells: tuple[Any, ...], columns: list[str]):
        self.names = ["" if c is None else str(raw_text(c)).strip() for c in cells]
        self.positions: dict[str, int] = {}
        for i, name in enumerate(self.names):
            key = name.lower()
            if key in columns:
                if key in self.positions:
                    raise FileProblem(
                        f"has the column {key} twice (columns {self.positions[key] + 1} and {i + 1})"
                    )
                self.positions[key] = i
        self.ignored = [n for n in self.names if n and n.lower() not in columns]

    def raw_values(self, cells: tuple[Any, ...]) -> dict[str, Any]:
        """The row's cells keyed by the header as written; cells under no header as column N."""
        out: dict[str, Any] = {}
        # a workbook row ends at its last filled cell: pad it so every header name shows
        cells = tuple(cells) + (None,) * (len(self.names) - len(cells))
        for i, value in enumerate(cells):
            name = self.names[i] if i < len(self.names) else ""
            if not name:
                if is_blank(value):
                    continue
                name = f"column {i + 1}"
            if name in out:
                name = f"{name} (column {i + 1})"
            out[name] = raw_text(value)
        return out


class SheetChecker:
    """Checks the data rows of one sheet, in order; keeps `good` rows and `rejects`.

    `lineage` holds the values of the lineage columns for the whole sheet (source_file,
    sheet, loaded_at); `unique_on` names the columns whose repetition makes a later row a
    duplicate (default: all the columns read from the file)."""

    def __init__(
        self,
        contract: Contract,
        header: Header,
        lineage: dict[str, Any],
        unique_on: tuple[str, ...] | None = None,
    ):
        self.contract = contract
        self.header = header
        self.lineage = lineage
        self.columns = input_columns(contract)
        self.absent = [c for c in self.columns if c not in header.positions]
        self.unique_on = unique_on or tuple(self.columns)
        self.seen: dict[tuple, int] = {}
        self.good: list[dict[str, Any]] = []
        self.rejects: list[dict[str, Any]] = []
        self.kinds: Counter = Counter()  # the reason kinds of each reject, joined with " + "

    def add(self, row_number: int, cells: tuple[Any, ...]) -> None:
        raw = {
            name: cells[i] if i < len(cells) else None for name, i in self.header.positions.items()
        }
        raw.update(self.lineage, row_number=row_number)
        typed, reasons = self.contract.coerce(raw)
        problems = self._outside_header(cells) + self._problems(raw, typed, reasons)
        if not problems:
            problems = self._duplicate(row_number, typed)
        if problems:
            self.reject(row_number, self.header.raw_values(cells), problems)
        else:
            self.good.append(typed)

    def reject(
        self, row_number: int, raw_values: dict[str, Any], problems: list[tuple[str, str]]
    ) -> None:
        self.kinds[kinds_key(problems)] += 1
        self.rejects.append(reject_row(self.lineage, row_number, raw_values, problems))

    def _outside_header(self, cells: tuple[Any, ...]) -> list[tuple[str, str]]:
        names = self.header.names
        outside = [
            str(i + 1)
            for i, value in enumerate(cells)
            if not is_blank(value) and (i >= len(names) or not names[i])
        ]
        if not outside:
            return []
        return [
            (
                "values outside the header",
                f"values in column(s) {', '.join(outside)}, which have no header",
            )
        ]

    def _problems(
        self, raw: dict[str, Any], typed: dict[str, Any], reasons: list[str]
    ) -> list[tuple[str, str]]:
        # the contract words every reason as "<column> ...", at most one per column
        by_column = {reason.split(" ", 1)[0]: reason for reason in reasons}
        problems = []
        for name, column in self.contract.columns.items():
            reason = by_column.get(name)
            if name in self.absent and not column.nullable:
                problems.append((f"missing column {name}", f"there is no {name} column"))
            elif reason is not None:
                problems.append(_classify(column, raw.get(name), typed.get(name), reason))
            elif column.type == "decimal" and typed.get(name) is not None:
                problem = _decimal_problem(column, raw.get(name), typed)
                if problem:
                    problems.append(problem)
        return problems

    def _duplicate(self, row_number: int, typed: dict[str, Any]) -> list[tuple[str, str]]:
        key = tuple(typed[c] for c in self.unique_on)
        first = self.seen.setdefault(key, row_number)
        if first == row_number:
            return []
        if self.unique_on == tuple(self.columns):
            return [("duplicate row", f"same values as row {first}")]
        columns = " and ".join(self.unique_on)
        return [(f"duplicate {columns}", f"same {columns} as row {first}")]


def kinds_key(problems: list[tuple[str, str]]) -> str:
    """How the load report counts a reject: its reason kinds joined, so counts add up to rows."""
    return " + ".join(kind for kind, _ in problems)


def reject_row(
    lineage: dict[str, Any],
    row_number: int,
    raw_values: dict[str, Any],
    problems: list[tuple[str, str]],
) -> dict[str, Any]:
    """A row of a rejects table: where it was, what it held and every (kind, reason) it broke."""
    return {
        **lineage,
        "row_number": row_number,
        "raw_values": json.dumps(raw_values, ensure_ascii=False),
        "reasons": "; ".join(reason for _, reason in problems),
        "reason_kinds": ", ".join(kind for kind, _ in problems),
    }


def _classify(column: Column, raw: Any, value: Any, reason: str) -> tuple[str, str]:
    name = column.name
    if is_blank(raw):
        return f"missing {name}", reason
    if value is None:
        return f"invalid {name}", reason
    if column.allowed_values is not None and value not in column.allowed_values:
        if len(column.allowed_values) > _LISTED_VALUES:
            reason = (
                f"{name} {value!r} is not one of the {len(column.allowed_values)} allowed values"
            )
        return f"unknown {name}", reason
    if column.minimum is not None or column.maximum is not None:
        try:
            number = Decimal(value)
        except (ArithmeticError, TypeError, ValueError):
            return f"invalid {name}", reason
        low = column.minimum is not None and number < column.minimum
        high = column.maximum is not None and number > column.maximum
        if low or high:
            return f"{name} out of range", reason
    return f"invalid {name}", reason


def _decimal_problem(column: Column, raw: Any, typed: dict[str, Any]) -> tuple[str, str] | None:
    """What the column's DECIMAL(precision, scale) cannot hold exactly; else quantize in place."""
    name, value = column.name, typed[column.name]
    hint = column.dlt_hint()
    precision, scale = hint["precision"], hint["scale"]
    if isinstance(raw, str) and "," in raw and not _GROUPED.fullmatch(raw.strip()):
        typed[name] = None
        return f"invalid {name}", f"{name} {raw!r} is not a valid decimal"
    if abs(value) >= Decimal(10) ** (precision - scale):
        return f"{name} out of range", f"{name} {value} does not fit DECIMAL({precision},{scale})"
    exact = value.quantize(Decimal(1).scaleb(-scale))
    if exact != value:
        # never round money or rates silently: the sheet has to say what it means
        return f"{name} too precise", f"{name} {value} has more than {scale} decimal places"
    typed[name] = exact
    return None
