"""A fingerprint of every table a build leaves in the warehouse's model schemas: per table its
row count, a hash of its rows (order-free) and a hash per column, so two builds can be
compared exactly and a difference is named down to the column.

    python -m tests.marts_fingerprint WAREHOUSE.duckdb > before.json
    python -m tests.marts_fingerprint WAREHOUSE.duckdb --compare before.json

Columns that record when or by which run something was built (load ids, build times) are
left out; everything else, numbers, dates and text, must match exactly. Used by
tests/dbt/test_marts_unchanged.py against the small world's committed fingerprint.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

# schemas the models write to; raw_* schemas hold loaded rows (not the models' doing)
MODEL_SCHEMAS = ("staging", "intermediate", "marts")
# when or by which load a row was built, not what it says: dlt's load ids are timestamps
# of the run, and the incremental models keep them as watermarks
VOLATILE = (
    "_dlt_load_id",
    "_dlt_id",
    "built_at",
    "loaded_at",
    "checked_at",
    "published_at",
    "recorded_at",
    "watermark",
    "source_watermark",
    "source_load_id",
    "rate_load_id",
    # dlt's row keys, random per load: which row of a nested table a line came from
    "invoice_row_id",
    "invoice_line_row_id",
)


def fingerprint(warehouse: Path, schemas: tuple[str, ...] = MODEL_SCHEMAS) -> dict:
    """{"<schema>.<table>": {"rows": n, "hash": ..., "columns": {column: hash}}}."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?)) and table_type = 'BASE TABLE' "
            "order by 1, 2",
            [list(schemas)],
        ).fetchall()
        out = {}
        for schema, table in tables:
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if name not in VOLATILE and not name.startswith("_dlt")
            ]
            relation = f'"{schema}"."{table}"'
            # sum of row hashes: independent of row order, sensitive to every value
            per_column = ", ".join(
                f'coalesce(sum(hash("{c}") % 1000000007), 0)::varchar' for c in columns
            )
            row = ", ".join(f'"{c}"' for c in columns)
            values = con.execute(
                f"select count(*), coalesce(sum(hash(({row})) % 1000000007), 0)::varchar"
                + (f", {per_column}" if columns else "")
                + f" from {relation}"
            ).fetchone()
            out[f"{schema}.{table}"] = {
                "rows": values[0],
                "hash": values[1],
                "columns": dict(zip(columns, values[2:], strict=True)),
            }
        return out
    finally:
        con.close()


def differences(before: dict, after: dict) -> list[str]:
    """One line per table or column that differs."""
    lines = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            lines.append(f"{name}: missing after")
            continue
        if name not in before:
            lines.append(f"{name}: new")
            continue
        b, a = before[name], after[name]
        if b["rows"] != a["rows"]:
            lines.append(f"{name}: {b['rows']} rows before, {a['rows']} after")
        for column in sorted(set(b["columns"]) | set(a["columns"])):
            if b["columns"].get(column) != a["columns"].get(column):
                lines.append(f"{name}.{column}: differs")
        if b["hash"] != a["hash"] and b["columns"] == a["columns"] and b["rows"] == a["rows"]:
            lines.append(f"{name}: rows differ")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--compare", type=Path, help="a fingerprint written before")
    parser.add_argument("--schemas", default=",".join(MODEL_SCHEMAS))
    args = parser.parse_args()
    now = fingerprint(args.warehouse, tuple(args.schemas.split(",")))
    if args.compare is None:
        json.dump(now, sys.stdout, indent=1, sort_keys=True)
        print()
        return 0
    lines = differences(json.loads(args.compare.read_text()), now)
    print("\n".join(lines) or f"identical: {len(now)} tables")
    return 1 if lines else 0


if __name__ == "__main__":
    raise SystemExit(main())
