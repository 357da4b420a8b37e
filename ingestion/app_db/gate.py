"""The contract gate: splits each page of source rows into rows that keep their table's data
contract and quarantine rows for `raw_app.app_db_rejects`.

The rules come from `ingestion.contracts` (one definition); the gate only applies them
cheaply. Rows arrive typed from SQLAlchemy: per page, each distinct value of a column is
checked once with the column's check, and only rows holding a failing value, or a value not
of the contract's type (SQLite stores anything anywhere), are checked in full, the latter
through the contract's own coercion.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dlt

from ingestion.contracts import Column, Contract

REJECTS_TABLE = "app_db_rejects"
# How far ahead of this machine's clock a row's cursor may be (the two clocks differ a
# little); a row dated later is quarantined and does not move the cursor.
ALLOWED_CLOCK_SKEW = timedelta(minutes=5)
PROGRESS_EVERY = 250_000  # rows of one table between progress lines

# Python types the drivers return for each contract type; None: any value is fine.
_PY_TYPES: dict[str, tuple[type, ...] | None] = {
    "text": (str,),
    "bigint": (int,),
    "bool": (bool,),
    "date": (date,),
    "timestamp": (datetime,),
    "decimal": (Decimal,),
    "double": (float, int),
    "json": None,
}


def _has_rules(col: Column) -> bool:
    return (
        not col.nullable
        or col.allowed_values is not None
        or col.pattern is not None
        or col.minimum is not None
        or col.maximum is not None
    )


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _later(value: Any, limit: datetime) -> bool:
    """A cursor value after `limit`; a naive datetime is UTC, as the app stores it."""
    if not isinstance(value, datetime):
        return False
    return (value if value.tzinfo else value.replace(tzinfo=UTC)) > limit


class ContractGate:
    """A dlt pipe step for one table's resource (placed before the incremental step)."""

    def __init__(
        self,
        contract: Contract,
        loaded_at: datetime,
        cursor: str = "updated_at",
        progress: Callable[[str], None] | None = None,
        duplicate_keys: set[tuple] | frozenset[tuple] = frozenset(),
    ):
        self.contract = contract
        self.table = contract.table
        self.loaded_at = loaded_at
        self.cursor = cursor
        # primary keys more than one source row holds: every such row is quarantined, since
        # which one is right cannot be told (merge would keep one at random)
        self.duplicate_keys = set(duplicate_keys)
        self._plan = [
            (name, _PY_TYPES[col.type], col.check if _has_rules(col) else None)
            for name, col in contract.columns.items()
        ]
        self.passed = 0
        self.rejected: Counter[str] = Counter()  # reasons -> rows
        self.progress = progress
        self._seen = 0

    def __call__(self, items: Any, meta: Any = None) -> Any:
        rows = items if isinstance(items, list) else [items]
        good: list[dict] = []
        bad: list[dict] = []
        suspects = self._suspects(rows)
        future = self._dated_in_the_future(rows)
        for index, row in enumerate(rows):
            reasons = self._reasons(row) if suspects is None or index in suspects else None
            if index in future:
                reasons = [*(reasons or []), future[index]]
            if self.duplicate_keys and self._key(row) in self.duplicate_keys:
                reasons = [*(reasons or []), self._duplicate_reason(row)]
            if reasons:
                bad.append(self._reject(row, reasons))
            else:
                good.append(row)
        self.passed += len(good)
        seen, self._seen = self._seen, self._seen + len(rows)
        if self.progress and self._seen // PROGRESS_EVERY > seen // PROGRESS_EVERY:
            self.progress(f"  {self.table}: {self._seen:,} rows read so far")
        if not bad:
            return good
        return self._split(good, bad)

    def _suspects(self, rows: list[dict]) -> set[int] | None:
        """Indexes of the rows that may break the contract (None: check every row).

        A column's rules depend on the value alone, so each distinct value of a page is
        checked once (a page of usage has a few hundred distinct values per column, not
        20,000); only rows holding a failing value are checked in full."""
        suspects: set[int] = set()
        try:
            for name, types, check in self._plan:
                values = [row.get(name) for row in rows]
                if types is not None and not set(map(type, values)) <= {*types, type(None)}:
                    # a value of another type: its rows take the full check (and in a set,
                    # 1 == 1.0 == True would hide it behind a valid value)
                    suspects.update(
                        i
                        for i, value in enumerate(values)
                        if value is not None and type(value) not in types
                    )
                    values = [None if i in suspects else value for i, value in enumerate(values)]
                if check is None:
                    continue
                failing = {value for value in set(values) if check(value)}
                if failing:
                    suspects.update(i for i, value in enumerate(values) if value in failing)
        except TypeError:  # an unhashable value (e.g. a JSON document): check row by row
            return None
        return suspects

    def _key(self, row: dict) -> tuple:
        return tuple(row.get(name) for name in self.contract.primary_key)

    def _duplicate_reason(self, row: dict) -> str:
        key = ", ".join(f"{k}={row.get(k)}" for k in self.contract.primary_key)
        return f"duplicate primary key: more than one row has {key} in the app database"

    def _dated_in_the_future(self, rows: list[dict]) -> dict[int, str]:
        """Rows whose cursor is later than the load's start (plus the allowed skew), with the
        reason. Loaded, such a row would move the table's cursor past every real row
        written until that date: each later load would skip them, silently."""
        limit = self.loaded_at + ALLOWED_CLOCK_SKEW
        future: dict[int, str] = {}
        # a page holds few distinct cursor values: rows are looked at only when one is late
        if not any(_later(value, limit) for value in {row.get(self.cursor) for row in rows}):
            return future
        for index, row in enumerate(rows):
            value = row.get(self.cursor)
            if _later(value, limit):
                future[index] = (
                    f"{self.cursor} {value.isoformat()} is in the future (the load started "
                    f"{self.loaded_at:%Y-%m-%d %H:%M:%S} UTC)"
                )
        return future

    def _split(self, good: list[dict], bad: list[dict]) -> Iterator[Any]:
        # a step that returns a generator feeds each yielded item on to the next step
        if good:
            yield good
        yield dlt.mark.with_table_name(bad, REJECTS_TABLE)

    def _reasons(self, row: dict) -> list[str] | None:
        reasons = None
        for name, types, check in self._plan:
            value = row.get(name)
            if value is not None and types is not None and type(value) not in types:
                return self._coerce(row)
            if check is not None:
                problem = check(value)
                if problem:
                    reasons = reasons or []
                    reasons.append(problem)
        return reasons

    def _coerce(self, row: dict) -> list[str] | None:
        """Slow path: a value of an unexpected type. Convert with the contract; on success,
        keep the converted values of the columns that needed it."""
        typed, reasons = self.contract.coerce(row)
        if reasons:
            return reasons
        for name, types, _check in self._plan:
            value = row.get(name)
            if value is not None and types is not None and type(value) not in types:
                row[name] = typed[name]
        return None

    def _reject(self, row: dict, reasons: list[str]) -> dict:
        raw = {key: _jsonable(value) for key, value in row.items()}
        text = json.dumps(raw, sort_keys=True)
        cursor = row.get(self.cursor)
        self.rejected["; ".join(reasons)] += 1
        # No `updated_at` key: the incremental step after this one lets the row through
        # without moving the cursor, so a bad row (a far-future updated_at, say) can never
        # make later loads skip good ones; it is read, and quarantined, again instead.
        return {
            "reject_id": hashlib.sha256(f"{self.table}\n{text}".encode()).hexdigest()[:32],
            "table_name": self.table,
            "record_key": "|".join(str(row.get(k)) for k in self.contract.primary_key),
            "row_updated_at": cursor if isinstance(cursor, datetime) else None,
            "reasons": "; ".join(reasons),
            "raw_row": raw,
            "loaded_at": self.loaded_at,
        }
