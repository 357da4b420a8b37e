"""Helpers for the Stripe ingestion tests: run loads, read raw_stripe back."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion.stripe.load import load_stripe

KEY = "sk_test_ingestion"


def load(standin, warehouse: Path, **kwargs):
    return load_stripe(KEY, standin.url, str(warehouse), progress=None, **kwargs)


def table_rows(warehouse: Path, schema: str = "raw_stripe") -> dict[str, set[tuple]]:
    """Every table's rows without dlt's bookkeeping columns, as sets of tuples."""
    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
                "AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\'",
                [schema],
            ).fetchall()
        ]
        for table in tables:
            columns = [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                    "AND table_name = ? ORDER BY column_name",
                    [schema, table],
                ).fetchall()
                if not c.startswith("_dlt")
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(f'SELECT {select} FROM {schema}."{table}"').fetchall()
            out[table] = {tuple(str(v) for v in row) for row in rows}
    return out


def ids(warehouse: Path, table: str) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [i for (i,) in con.execute(f"SELECT id FROM raw_stripe.{table}").fetchall()]
