"""The app database into raw_app: real dlt, real DuckDB files, PostgreSQL on both sides."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from ingestion import contracts
from ingestion.app_db import REJECTS_TABLE, TABLES, AppDatabaseError, load_app_db
from ingestion.app_db.source import CURSOR_LAG
from sandbox.world.app_db import copy_to_database
from sandbox.world.generate import generate_world
from tests.postgres import fresh_database

START = date(2024, 11, 1)


@pytest.fixture(autouse=True)
def isolated_pipelines(tmp_path, monkeypatch):
    monkeypatch.setenv("REVWH_PIPELINES_DIR", str(tmp_path / "pipelines"))
    monkeypatch.delenv("REVWH_WAREHOUSE", raising=False)


def load(url, target, **kwargs):
    return load_app_db(str(url), str(target), progress=None, **kwargs)


def sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def duckdb_query(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def duckdb_counts(path: Path) -> dict[str, int]:
    return {t: duckdb_query(path, f"SELECT count(*) FROM raw_app.{t}")[0][0] for t in TABLES}


def table_rows(path: Path, table: str) -> list[tuple]:
    """Every contract column of every row, in primary-key order (no dlt bookkeeping)."""
    contract = contracts.load("raw_app", table)
    columns = ", ".join(contract.columns)
    order = ", ".join(contract.primary_key)
    return duckdb_query(path, f"SELECT {columns} FROM raw_app.{table} ORDER BY {order}")


def test_small_world_loads_exactly_again_without_duplicates_and_refreshes(small_world, tmp_path):
    app = small_world / "app.sqlite"
    wh = tmp_path / "wh.duckdb"
    expected = sqlite_counts(app)

    report = load(f"sqlite:///{app}", wh)

    assert report.ok and not report.skipped and not report.rejected
    assert dict(report.rows) == expected
    assert duckdb_counts(wh) == expected
    with sqlite3.connect(app) as conn:
        money = conn.execute(
            "SELECT sum(amount_minor), sum(refunded_amount_minor) FROM transactions"
        ).fetchone()
    assert duckdb_query(
        wh, "SELECT sum(amount_minor), sum(refunded_amount_minor) FROM raw_app.transactions"
    ) == [money]
    types = dict(
        duckdb_query(
            wh,
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'raw_app'",
        )
    )
    assert types["transactions.amount_minor"] == "BIGINT"
    assert types["transactions.refunded_amount_minor"] == "BIGINT"
    assert types["plans.list_price_usd_monthly_minor"] == "BIGINT"
    assert types["transactions.service_period_start"] == "DATE"
    assert types["usage_daily.usage_date"] == "DATE"
    assert types["transactions.updated_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["accounts.signed_up_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["plans.is_free"] == "BOOLEAN"
    assert types["nps_responses.score"] == "BIGINT"

    again = load(app, wh)  # a plain file path works too

    # only the rows on the last cursor second are read again, and merge absorbs them
    assert 0 < sum(again.rows.values()) < sum(expected.values()) / 20
    assert duckdb_counts(wh) == expected

    with duckdb.connect(str(wh)) as conn:
        conn.execute("DELETE FROM raw_app.users")
    refreshed = load(app, wh, full_refresh=True)

    assert dict(refreshed.rows) == expected
    assert duckdb_counts(wh) == expected


@pytest.fixture(scope="module")
def week_apart(tmp_path_factory) -> tuple[Path, Path]:
    """The same small world (seed 11) as of D and as of D + 7 days."""
    before = tmp_path_factory.mktemp("app_d")
    after = tmp_path_factory.mktemp("app_d7")
    generate_world("small", 11, date(2026, 11, 8), before, start=START)
    generate_world("small", 11, date(2026, 11, 15), after, start=START)
    return before / "app.sqlite", after / "app.sqlite"


def test_incremental_load_reads_from_the_cursor_and_ends_as_a_full_load(
    week_apart, tmp_path, monkeypatch
):
    before, after = week_apart
    wh = tmp_path / "incremental.duckdb"
    first = load(before, wh)
    assert dict(first.rows) == sqlite_counts(before)

    second = load(after, wh)

    # exactly the rows at or after each table's cursor (the last updated_at loaded), less
    # the lag window that catches rows committed late
    with sqlite3.connect(before) as b, sqlite3.connect(after) as a:
        expected = {}
        for table in TABLES:
            cursor = b.execute(f"SELECT max(updated_at) FROM {table}").fetchone()[0]
            since = datetime.fromisoformat(cursor) - CURSOR_LAG
            expected[table] = a.execute(
                f"SELECT count(*) FROM {table} WHERE updated_at >= ?", (str(since),)
            ).fetchone()[0]
    assert dict(second.rows) == expected
    full = sqlite_counts(after)
    assert sum(second.rows.values()) < sum(full.values()) / 5
    assert full != sqlite_counts(before)  # the week did change things

    monkeypatch.setenv("REVWH_PIPELINES_DIR", str(tmp_path / "fresh_pipelines"))
    fresh = tmp_path / "fresh.duckdb"
    load(after, fresh)
    assert duckdb_counts(wh) == full
    for table in TABLES:
        assert table_rows(wh, table) == table_rows(fresh, table), table


def test_rows_breaking_the_contract_are_quarantined(small_world, tmp_path):
    app = tmp_path / "app.sqlite"
    shutil.copy(small_world / "app.sqlite", app)
    with sqlite3.connect(app) as conn:
        nps_key = conn.execute("SELECT min(response_id) FROM nps_responses").fetchone()[0]
        # a far-future updated_at too: a quarantined row must not move the cursor
        conn.execute(
            "UPDATE nps_responses SET score = 14, updated_at = '2099-01-01 00:00:00'"
            " WHERE response_id = ?",
            (nps_key,),
        )
        account = conn.execute("SELECT min(account_id) FROM accounts").fetchone()[0]
        conn.execute("UPDATE accounts SET status = 'zombie' WHERE account_id = ?", (account,))
        txn = conn.execute("SELECT min(transaction_id) FROM transactions").fetchone()[0]
        conn.execute("UPDATE transactions SET amount_minor = -500 WHERE transaction_id = ?", (txn,))
        # SQLite stores any value anywhere: text in an integer and in a timestamp column
        conn.execute(
            "UPDATE usage_daily SET event_count = 'lots', updated_at = 'yesterday'"
            " WHERE rowid = (SELECT min(rowid) FROM usage_daily)"
        )
        conn.commit()
    expected = sqlite_counts(app)
    wh = tmp_path / "wh.duckdb"

    report = load(app, wh)

    bad = {"nps_responses": 1, "accounts": 1, "transactions": 1, "usage_daily": 1}
    assert dict(report.rows) == {t: n - bad.get(t, 0) for t, n in expected.items()}
    assert duckdb_counts(wh) == dict(report.rows)
    assert sum(report.rejected.values()) == 4
    rejects = {
        row[0]: row[1:]
        for row in duckdb_query(
            wh,
            f"SELECT table_name, record_key, reasons, raw_row::VARCHAR, loaded_at"
            f" FROM raw_app.{REJECTS_TABLE}",
        )
    }
    assert set(rejects) == set(bad)
    assert rejects["nps_responses"][:2] == (
        nps_key,
        "score 14 is above 10; updated_at 2099-01-01T00:00:00 is in the future "
        f"(the load started {rejects['nps_responses'][3]:%Y-%m-%d %H:%M:%S} UTC)",
    )
    assert '"score":14' in rejects["nps_responses"][2].replace(" ", "")
    assert "status 'zombie' is not one of" in rejects["accounts"][1]
    assert rejects["transactions"][:2] == (txn, "amount_minor -500 is below 0")
    assert "event_count 'lots' is not a valid bigint" in rejects["usage_daily"][1]
    assert "updated_at 'yesterday' is not a valid timestamp" in rejects["usage_daily"][1]
    assert all(r[3] is not None for r in rejects.values())
    assert duckdb_query(wh, "SELECT max(score) FROM raw_app.nps_responses") == [(10,)]

    # the cursor stayed on the last good row: its second is read again (not nothing)
    again = load(app, wh, tables=["nps_responses"])
    assert again.rows["nps_responses"] > 0 and sum(again.rejected.values()) == 1
    # reading a bad row again quarantines it once; refreshing one table keeps the
    # quarantine of the others
    load(app, wh, full_refresh=True, tables=["usage_daily"])
    assert duckdb_query(wh, f"SELECT count(*) FROM raw_app.{REJECTS_TABLE}") == [(4,)]
    assert duckdb_counts(wh) == dict(report.rows)


def test_a_future_updated_at_is_quarantined_and_never_freezes_the_cursor(small_world, tmp_path):
    """One transaction dated 2030 used to move the cursor to 2030: every real row after it
    was skipped until a full refresh. It is quarantined with the reason instead, rows
    written later load, and a row committed late with an older updated_at (within the lag
    window) is picked up too."""
    app = tmp_path / "app.sqlite"
    shutil.copy(small_world / "app.sqlite", app)

    def add_transaction(conn, transaction_id: str, updated_at: str) -> None:
        # a copy of a valid transaction under a new id
        columns = [row[1] for row in conn.execute("PRAGMA table_info(transactions)")]
        values = ", ".join(
            {"transaction_id": "?", "updated_at": "?"}.get(name, name) for name in columns
        )
        conn.execute(
            f"INSERT INTO transactions ({', '.join(columns)}) SELECT {values} "
            "FROM transactions WHERE rowid = 1",
            [updated_at if name == "updated_at" else transaction_id
             for name in columns if name in ("transaction_id", "updated_at")],
        )  # fmt: skip

    with sqlite3.connect(app) as conn:
        last = conn.execute("SELECT max(updated_at) FROM transactions").fetchone()[0]
        add_transaction(conn, "gwt_from_2030", "2030-01-01 00:00:00")
    wh = tmp_path / "wh.duckdb"
    first = load(app, wh, tables=["transactions"])
    [reason] = first.rejected
    assert reason.startswith("transactions: updated_at 2030-01-01T00:00:00 is in the future")
    loaded = {row[0] for row in duckdb_query(wh, "SELECT transaction_id FROM raw_app.transactions")}
    assert "gwt_from_2030" not in loaded

    # later rows: one written now, one committed late with an updated_at half an hour
    # before the newest row already loaded
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    late = datetime.fromisoformat(last) - timedelta(minutes=30)
    with sqlite3.connect(app) as conn:
        add_transaction(conn, "gwt_written_now", str(now))
        add_transaction(conn, "gwt_committed_late", str(late))
    second = load(app, wh, tables=["transactions"])
    loaded = {row[0] for row in duckdb_query(wh, "SELECT transaction_id FROM raw_app.transactions")}
    assert {"gwt_written_now", "gwt_committed_late"} <= loaded
    assert "gwt_from_2030" not in loaded and sum(second.rejected.values()) == 1
    assert duckdb_query(wh, f"SELECT count(*) FROM raw_app.{REJECTS_TABLE}") == [(1,)]
    with sqlite3.connect(app) as conn:
        assert duckdb_query(wh, "SELECT count(*) FROM raw_app.transactions")[0][0] == (
            conn.execute("SELECT count(*) FROM transactions").fetchone()[0] - 1
        )


def test_rows_sharing_a_primary_key_are_all_quarantined_and_the_run_says_so(small_world, tmp_path):
    """A table without a primary-key constraint (SQLite, a view, a careless migration) can
    hold two rows with one key; merge used to keep one of them at random, silently."""
    app = tmp_path / "app.sqlite"
    shutil.copy(small_world / "app.sqlite", app)
    with sqlite3.connect(app) as conn:
        # the same table and rows without the primary-key constraint
        ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'nps_responses'")
        unconstrained = ddl.fetchone()[0].replace(" PRIMARY KEY", "")
        conn.executescript(
            "ALTER TABLE nps_responses RENAME TO nps_old;"
            f"{unconstrained};"
            "INSERT INTO nps_responses SELECT * FROM nps_old; DROP TABLE nps_old;"
        )
        key, score = conn.execute(
            "SELECT response_id, score FROM nps_responses ORDER BY response_id LIMIT 1"
        ).fetchone()
        conn.execute(
            "INSERT INTO nps_responses SELECT * FROM nps_responses WHERE response_id = ?", (key,)
        )
        conn.execute(
            "UPDATE nps_responses SET score = ? WHERE rowid = (SELECT max(rowid) FROM nps_responses)",
            ((score + 1) % 11,),
        )
        total = conn.execute("SELECT count(*) FROM nps_responses").fetchone()[0]
    wh = tmp_path / "wh.duckdb"

    report = load(app, wh, tables=["nps_responses"])

    reason = f"duplicate primary key: more than one row has response_id={key} in the app database"
    assert report.rejected == {f"nps_responses: {reason}": 2}
    assert any("1 primary keys are held by more than one row" in note for note in report.notes)
    assert report.rows["nps_responses"] == total - 2
    assert duckdb_query(
        wh, f"SELECT count(*) FROM raw_app.nps_responses WHERE response_id = '{key}'"
    ) == [(0,)]
    quarantined = duckdb_query(
        wh, f"SELECT record_key, reasons FROM raw_app.{REJECTS_TABLE} ORDER BY raw_row::VARCHAR"
    )
    assert quarantined == [(key, reason), (key, reason)]


def test_absent_database_is_skipped(tmp_path):
    wh = tmp_path / "wh.duckdb"
    for url in (None, "", tmp_path / "missing.sqlite", f"sqlite:///{tmp_path}/missing.sqlite"):
        report = load_app_db(str(url) if url else url, str(wh), progress=None)
        assert report.skipped and report.ok and not report.rows
    assert not (tmp_path / "missing.sqlite").exists()  # not created as an empty database
    assert not wh.exists()


def test_unreachable_database_names_the_url_without_password(tmp_path):
    url = "postgresql+psycopg2://app:s3cret@127.0.0.1:1/app"
    with pytest.raises(AppDatabaseError) as error:
        load(url, tmp_path / "wh.duckdb")
    assert "postgresql+psycopg2://app:***@127.0.0.1:1/app" in str(error.value)
    assert "s3cret" not in str(error.value)


def test_unknown_table_is_refused(small_world, tmp_path):
    with pytest.raises(ValueError, match="unknown app tables"):
        load(small_world / "app.sqlite", tmp_path / "wh.duckdb", tables=["invoices"])


@pytest.mark.postgres
def test_postgresql_app_database_loads_like_sqlite(small_world, tmp_path):
    app = small_world / "app.sqlite"
    wh = tmp_path / "wh.duckdb"
    with fresh_database() as url:
        copy_to_database(app, url)
        report = load(url, wh)
    assert dict(report.rows) == sqlite_counts(app) == duckdb_counts(wh)
    assert not report.rejected


@pytest.mark.postgres
def test_postgresql_warehouse_gets_the_same_rows(small_world):
    app = small_world / "app.sqlite"
    expected = sqlite_counts(app)
    with fresh_database() as url:
        report = load(app, url)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            counts = {
                t: conn.execute(sa.text(f"SELECT count(*) FROM raw_app.{t}")).scalar()
                for t in TABLES
            }
            money = conn.execute(sa.text("SELECT sum(amount_minor) FROM raw_app.transactions"))
            total = money.scalar()
            amount_type = conn.execute(
                sa.text(
                    "SELECT data_type FROM information_schema.columns WHERE table_schema ="
                    " 'raw_app' AND table_name = 'transactions' AND column_name = 'amount_minor'"
                )
            ).scalar()
        engine.dispose()
    assert dict(report.rows) == expected == counts
    with sqlite3.connect(app) as conn:
        assert total == conn.execute("SELECT sum(amount_minor) FROM transactions").fetchone()[0]
    assert amount_type == "bigint"
