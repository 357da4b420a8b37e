"""Read the KPI table (marts.kpis) out of the warehouse: `revwh kpis export`."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from core.warehouse import Warehouse

COLUMNS = ("date", "kpi", "segment", "value", "unit", "target", "data_quality", "reason", "method")
QUERY = f"""
    select {", ".join(COLUMNS)}
    from marts.kpis
    where date between ? and ?
    order by date, kpi, segment
"""


class KpiExportError(RuntimeError):
    """The warehouse has no KPI table to read (not built yet, or another path)."""


def _number(value: Decimal | None) -> float | None:
    """A DECIMAL as a JSON number with the same digits (values carry at most 6 places)."""
    if value is None:
        return None
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"{value} does not survive as a JSON number")
    return number


def read_kpis(warehouse: str | None, start: date, end: date) -> list[dict]:
    """Rows of marts.kpis dated from `start` to `end` (both included)."""
    target = Warehouse.of(warehouse)
    if target.is_postgres:
        import sqlalchemy

        engine = sqlalchemy.create_engine(target.url)
        try:
            with engine.connect() as con:
                rows = con.exec_driver_sql(QUERY.replace("?", "%s"), (start, end)).fetchall()
        except sqlalchemy.exc.ProgrammingError as exc:
            raise KpiExportError(f"no KPI table in the warehouse: {exc.orig}") from None
        finally:
            engine.dispose()
    else:
        import duckdb

        path = target.path
        if not path.is_file():
            raise KpiExportError(f"no warehouse at {path}: run `revwh run` or `make demo` first")
        with target.connect(read_only=True) as con:
            try:
                rows = con.execute(QUERY, [start, end]).fetchall()
            except duckdb.CatalogException:
                raise KpiExportError(
                    f"{path} has no marts.kpis table: build the models first (`revwh run`)"
                ) from None
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def export_document(warehouse: str | None, start: date, end: date) -> dict:
    """The export's JSON document: the range and one record per date, KPI and segment."""
    records = []
    for row in read_kpis(warehouse, start, end):
        records.append(
            {
                **row,
                "date": row["date"].isoformat(),
                "value": _number(row["value"]),
                "target": _number(row["target"]),
            }
        )
    return {"start": start.isoformat(), "end": end.isoformat(), "kpis": records}


def write_export(document: dict, out: Path | None) -> str:
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return text
