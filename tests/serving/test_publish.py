"""The published read-only copy of the marts: same tables and types, atomic swaps, and
readers in other processes that never block the pipeline nor see a half-built mart."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from serving import (
    PublishResult,
    connect_published,
    default_published_path,
    publish_marts,
)

ROWS_PER_VERSION = 500


def add_rows(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """Version v of marts.fct_mrr_monthly has v * ROWS_PER_VERSION rows."""
    con.execute(
        """
        insert into marts.fct_mrr_monthly
        select 'cus_' || (i % 97), date '2026-01-01' + ((i % 300)::int),
               (i % 1000) / 100 + 0.01, (i % 7)::decimal(38, 9) / 3, ?
        from range((? - 1) * ?, ? * ?) t(i)
        """,
        [version, version, ROWS_PER_VERSION, version, ROWS_PER_VERSION],
    )


def build_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute(
        """
        create schema marts;
        create schema raw_stripe;
        create table raw_stripe.invoices (id varchar, amount bigint);
        insert into raw_stripe.invoices values ('in_1', 1000);
        create table marts.fct_mrr_monthly (
            customer_id varchar not null,
            month date,
            mrr decimal(18, 2),
            fx_rate decimal(38, 9),
            version integer
        );
        create table marts.dim_customers (customer_id varchar primary key, name varchar,
                                          first_paid_at timestamptz, ltv decimal(20, 4));
        insert into marts.dim_customers
            select 'cus_' || i, 'Customer ' || i, timestamptz '2025-01-01 00:00:00+00',
                   i * 10.1234
            from range(97) t(i);
        create view marts.mrr_by_month as
            select month, sum(mrr) as mrr, count(*) as customers
            from marts.fct_mrr_monthly group by month;
        """
    )
    add_rows(con, 1)
    return con


@pytest.fixture
def warehouse(tmp_path) -> Path:
    path = tmp_path / "revenue.duckdb"
    build_warehouse(path).close()
    return path


def describe(con, relation: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in con.execute(f"describe {relation}").fetchall()]


def test_publishes_tables_and_views_as_tables_with_the_same_types(warehouse, monkeypatch):
    monkeypatch.delenv("REVWH_PUBLISHED_WAREHOUSE", raising=False)
    result = publish_marts(warehouse)

    assert isinstance(result, PublishResult)
    assert result.path == warehouse.parent / "published" / "revenue.duckdb"
    assert result.path == default_published_path(warehouse)
    assert result.tables == ["marts.dim_customers", "marts.fct_mrr_monthly", "marts.mrr_by_month"]
    assert result.rows == {
        "marts.dim_customers": 97,
        "marts.fct_mrr_monthly": ROWS_PER_VERSION,
        "marts.mrr_by_month": 300,
    }
    assert result.bytes == result.path.stat().st_size > 0
    assert 0 < result.seconds < 30
    assert sorted(os.listdir(result.path.parent)) == ["revenue.duckdb"]  # no temp file left

    source = duckdb.connect(str(warehouse), read_only=True)
    published = connect_published(result.path)
    try:
        kinds = published.execute(
            "select table_schema, table_name, table_type from information_schema.tables "
            "order by all"
        ).fetchall()
        assert kinds == [
            ("marts", "_published", "BASE TABLE"),
            ("marts", "dim_customers", "BASE TABLE"),
            ("marts", "fct_mrr_monthly", "BASE TABLE"),
            ("marts", "mrr_by_month", "BASE TABLE"),  # the view, materialized
        ]
        for table in result.tables:
            assert describe(published, table) == describe(source, table)
            query = f"select * from {table} order by all"
            assert published.execute(query).fetchall() == source.execute(query).fetchall()
        assert dict(describe(published, "marts.fct_mrr_monthly"))["mrr"] == "DECIMAL(18,2)"
        assert dict(describe(published, "marts.mrr_by_month"))["mrr"] == "DECIMAL(38,2)"
        ltv = published.execute("select ltv from marts.dim_customers where name = 'Customer 3'")
        assert ltv.fetchone()[0] == Decimal("30.3702")

        meta = published.execute(
            "select table_schema || '.' || table_name, row_count, source_warehouse, "
            "published_at from marts._published order by 1"
        ).fetchall()
        assert {name: count for name, count, _, _ in meta} == result.rows
        assert {row[2] for row in meta} == {str(warehouse.resolve())}
        assert {row[3] for row in meta} == {result.published_at}

        with pytest.raises(duckdb.Error, match="read-only"):
            published.execute("delete from marts.dim_customers")
    finally:
        source.close()
        published.close()


def test_target_from_argument_then_environment(warehouse, tmp_path, monkeypatch):
    from_env = tmp_path / "bi" / "marts.duckdb"
    monkeypatch.setenv("REVWH_PUBLISHED_WAREHOUSE", str(from_env))
    assert publish_marts(warehouse).path == from_env
    explicit = tmp_path / "explicit.duckdb"
    assert publish_marts(warehouse, explicit, schemas=["marts", "raw_stripe"]).path == explicit
    with connect_published() as con:  # the environment's
        assert con.execute("select count(*) from marts._published").fetchone() == (3,)
    with connect_published(explicit) as con:
        assert con.execute("select amount from raw_stripe.invoices").fetchall() == [(1000,)]
    with pytest.raises(FileNotFoundError):
        connect_published(tmp_path / "missing.duckdb")
    with pytest.raises(FileNotFoundError):
        publish_marts(tmp_path / "missing.duckdb")


def test_publish_through_the_writers_open_connection(tmp_path):
    path = tmp_path / "revenue.duckdb"
    con = build_warehouse(path)  # the pipeline holds the read-write connection
    try:
        result = publish_marts(path, connection=con)
        add_rows(con, 2)  # and keeps writing afterwards
        second = publish_marts(path, connection=con)
        databases = con.execute("select database_name from duckdb_databases() where not internal")
        assert [name for (name,) in databases.fetchall()] == ["revenue"]  # nothing left attached
    finally:
        con.close()
    assert result.rows["marts.fct_mrr_monthly"] == ROWS_PER_VERSION
    assert second.rows["marts.fct_mrr_monthly"] == 2 * ROWS_PER_VERSION


def test_a_failed_publish_keeps_the_previous_version_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "revenue.duckdb"
    con = build_warehouse(path)
    try:
        first = publish_marts(path, connection=con)
        # a view whose table is gone: the copy fails half-way
        con.execute(
            "create table marts.zz_gone (x int); create view marts.zz_broken as "
            "select * from marts.zz_gone; drop table marts.zz_gone"
        )
        add_rows(con, 2)
        with pytest.raises(duckdb.Error):
            publish_marts(path, connection=con)
        assert con.execute(
            "select count(*) from duckdb_databases() where not internal"
        ).fetchone() == (1,)
    finally:
        con.close()
    assert sorted(os.listdir(first.path.parent)) == ["revenue.duckdb"]
    with connect_published(first.path) as published:
        assert published.execute("select count(*) from marts.fct_mrr_monthly").fetchone() == (
            ROWS_PER_VERSION,
        )
    with pytest.raises(duckdb.Error):
        publish_marts(path)  # opening the warehouse itself: same failure, same cleanup
    assert sorted(os.listdir(first.path.parent)) == ["revenue.duckdb"]


READER = r"""
import json, sys, time, duckdb
path, mode, stop = sys.argv[1], sys.argv[2], sys.argv[3]
import os

def read(con):
    count, version = con.execute(
        "select count(*), max(version) from marts.fct_mrr_monthly").fetchone()
    (meta,) = con.execute("select row_count from marts._published "
                          "where table_name = 'fct_mrr_monthly'").fetchone()
    (view_rows,) = con.execute("select sum(customers) from marts.mrr_by_month").fetchone()
    return {"count": count, "version": version, "meta": meta, "view_rows": int(view_rows)}

held = duckdb.connect(path, read_only=True) if mode == "hold" else None
while not os.path.exists(stop):
    if held is not None:
        row = read(held)
    else:
        con = duckdb.connect(path, read_only=True)
        try:
            row = read(con)
        finally:
            con.close()
    print(json.dumps(row), flush=True)
    time.sleep(0.005)
"""


class Reader:
    """A python process reading the published file in a loop; its reads arrive as dicts."""

    def __init__(self, path: Path, mode: str, stop: Path):
        self.lines: queue.Queue[dict] = queue.Queue()
        self.rows: list[dict] = []
        self.process = subprocess.Popen(
            [sys.executable, "-c", READER, str(path), mode, str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def drain(self) -> list[dict]:
        while True:
            try:
                self.rows.append(self.lines.get_nowait())
            except queue.Empty:
                return self.rows

    def wait_for(self, predicate, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                row = self.lines.get(timeout=0.05)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.rows.append(row)
            if predicate(row):
                return row
        raise AssertionError(
            f"reader never saw the expected version; exit {self.process.poll()}, "
            f"stderr: {self.stderr_so_far()}"
        )

    def stderr_so_far(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        return self.process.stderr.read() if self.process.stderr else ""

    def finish(self, timeout: float = 20.0) -> tuple[int, str]:
        _, stderr = self.process.communicate(timeout=timeout)
        self.thread.join(timeout=5)
        self.drain()
        return self.process.returncode, stderr


def test_readers_in_other_processes_neither_block_nor_see_a_partial_mart(tmp_path):
    path = tmp_path / "revenue.duckdb"
    stop = tmp_path / "stop-readers"
    con = build_warehouse(path)  # the test is the pipeline: it holds the writer connection
    first = publish_marts(path, connection=con)
    holder = Reader(first.path, "hold", stop)  # opens once, keeps the file open
    reopener = Reader(first.path, "reopen", stop)  # reconnects for every read
    try:
        holder.wait_for(lambda row: True)
        reopener.wait_for(lambda row: True)
        versions = {1: ROWS_PER_VERSION}
        slowest = 0.0
        for version in range(2, 7):
            started = time.perf_counter()
            add_rows(con, version)  # writing to the warehouse while they read
            if version == 5:
                con.close()  # and publishing from a fresh connection to the warehouse
                result = publish_marts(path)
                con = duckdb.connect(str(path))
            else:
                result = publish_marts(path, connection=con)
            slowest = max(slowest, time.perf_counter() - started)
            versions[version] = version * ROWS_PER_VERSION
            assert result.rows["marts.fct_mrr_monthly"] == versions[version]
            reopener.wait_for(lambda row, v=version: row["version"] == v)
        # the holder still reads its old file after five swaps
        seen_by_holder = len(holder.drain())
        holder.wait_for(lambda row: True)
        assert len(holder.rows) > seen_by_holder
    finally:
        stop.touch()
        con.close()
        holder_exit = holder.finish()
        reopener_exit = reopener.finish()

    assert holder_exit == (0, ""), holder_exit
    assert reopener_exit == (0, ""), reopener_exit
    assert slowest < 10
    for row in holder.rows + reopener.rows:
        # a complete table of one published version, agreeing with its own metadata
        assert row["count"] == versions[row["version"]] == row["meta"] == row["view_rows"], row
    assert {row["version"] for row in holder.rows} == {1}
    assert {row["version"] for row in reopener.rows} == set(versions)
    assert len(holder.rows) > 10 and len(reopener.rows) > 10


def test_a_warehouse_named_like_its_schema(tmp_path):
    con = build_warehouse(tmp_path / "built.duckdb")
    # its view names marts.fct_mrr_monthly, which DuckDB finds ambiguous in such a file
    con.execute("drop view marts.mrr_by_month")
    con.close()
    path = (tmp_path / "built.duckdb").rename(tmp_path / "marts.duckdb")  # catalog = schema
    result = publish_marts(path)
    assert result.path == tmp_path / "published" / "marts.duckdb"
    with connect_published(result.path) as con:
        assert con.execute("select count(*) from marts.fct_mrr_monthly").fetchone() == (
            ROWS_PER_VERSION,
        )


def _storage_version(con: duckdb.DuckDBPyConnection) -> str:
    (tags,) = con.execute(
        "select tags from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    return tags["storage_version"]


def test_the_copy_keeps_table_and_column_comments(warehouse, monkeypatch):
    monkeypatch.delenv("REVWH_PUBLISHED_STORAGE_VERSION", raising=False)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            """
            comment on table marts.dim_customers is 'One row per customer';
            comment on column marts.dim_customers.ltv is 'Lifetime value, it''s in USD';
            comment on view marts.mrr_by_month is 'MRR per month';
            comment on table raw_stripe.invoices is 'not published';
            """
        )
    result = publish_marts(warehouse)
    assert result.storage_version == "v1.0.0"
    with connect_published(result.path) as published:
        tables = published.execute(
            "select table_name, comment from duckdb_tables() "
            "where database_name = current_database() and comment is not null order by 1"
        ).fetchall()
        columns = published.execute(
            "select table_name, column_name, comment from duckdb_columns() "
            "where database_name = current_database() and comment is not null order by 1, 2"
        ).fetchall()
        version = _storage_version(published)
    assert tables == [("dim_customers", "One row per customer"), ("mrr_by_month", "MRR per month")]
    assert columns == [("dim_customers", "ltv", "Lifetime value, it's in USD")]
    assert version == "v1.0.0+"  # the format DuckDB 1.0 writes, not this DuckDB's own


def test_the_storage_version_is_a_setting(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("REVWH_PUBLISHED_STORAGE_VERSION", "v1.2.0")
    from_env = publish_marts(warehouse, tmp_path / "from_env.duckdb")
    explicit = publish_marts(warehouse, tmp_path / "explicit.duckdb", storage_version="v1.4.0")
    assert (from_env.storage_version, explicit.storage_version) == ("v1.2.0", "v1.4.0")
    for result, tag in ((from_env, "v1.2.0+"), (explicit, "v1.4.0+")):
        with connect_published(result.path) as published:
            assert _storage_version(published) == tag

    monkeypatch.setenv("REVWH_PUBLISHED_STORAGE_VERSION", "1.4")
    with pytest.raises(ValueError) as error:
        publish_marts(warehouse, tmp_path / "never.duckdb")
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("REVWH_PUBLISHED_STORAGE_VERSION: '1.4' is not")
    assert "v1.0.0, v1.1.0" in message
    assert not (tmp_path / "never.duckdb").exists()
    with pytest.raises(ValueError, match=r"^storage_version: 'latest'"):
        publish_marts(warehouse, tmp_path / "never.duckdb", storage_version="latest")
