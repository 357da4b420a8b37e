"""PostgreSQL as the warehouse: the same pipeline builds the same marts, value for value."""

from __future__ import annotations

import duckdb
import psycopg2

from revwh.pipeline import Inputs, run_pipeline
from tests.conftest import AS_OF
from tests.dbt.marts import MARTS, mart_columns, mart_rows
from tests.postgres import fresh_database


def test_postgres_builds_the_same_marts_as_duckdb(small_world, small_warehouse):
    with fresh_database("revwh_dbt") as url:
        result = run_pipeline(Inputs.from_world(small_world), AS_OF, url)
        assert result.ok, "\n".join(result.problems())
        ours = duckdb.connect(str(small_warehouse), read_only=True)
        theirs = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
        try:
            for mart in MARTS:
                columns = mart_columns(ours, mart)
                duck_rows = mart_rows(ours, mart, columns)
                pg_rows = mart_rows(theirs, mart, columns)
                differ = [(a, b) for a, b in zip(duck_rows, pg_rows, strict=False) if a != b]
                print(
                    f"{mart}: {len(duck_rows):,} rows on DuckDB, {len(pg_rows):,} on "
                    f"PostgreSQL, {len(differ)} differ"
                )
                assert len(duck_rows) == len(pg_rows), mart
                assert not differ, f"{mart}: {differ[:3]}"
        finally:
            ours.close()
            theirs.close()
