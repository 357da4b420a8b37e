"""`revwh chartmogul sync` against the ChartMogul stand-in: the report, a dry run, and every
error in one line with what to do (no key, no warehouse, no export tables, a locked
warehouse, ChartMogul not answering), never a traceback. And the same sync into a
PostgreSQL warehouse (the same SQL)."""

from __future__ import annotations

import duckdb
import psycopg2
import pytest
from typer.testing import CliRunner

from revwh.cli import app
from sandbox.chartmogul import ChartMogulStandIn, Store
from serving.chartmogul_sync import SyncSettings, sync_chartmogul
from tests.conftest import AS_OF
from tests.postgres import fresh_database
from tests.receivers import free_port
from tests.serving.chartmogul_exports import COLUMNS, FX_RATES, ExportWorld, held_by
from tests.test_warehouse_locks import held

KEY = "cm_cli_secret_77c1"
runner = CliRunner()


@pytest.fixture(scope="module")
def standin():
    with ChartMogulStandIn(store=Store(as_of=AS_OF, fx_rates=FX_RATES), api_key=KEY) as server:
        yield server


@pytest.fixture
def warehouse(tmp_path):
    return ExportWorld.small().write(tmp_path / "warehouse.duckdb")


def sync_cli(*args, key: str | None = KEY, **env):
    environment = {
        "CHARTMOGUL_API_KEY": key,
        "CHARTMOGUL_SYNC_RPS": "0",
        "CHARTMOGUL_SYNC_ENABLED": None,
        "COLUMNS": "200",
        **env,
    }
    return runner.invoke(app, ["chartmogul", "sync", *map(str, args)], env=environment)


def one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    return errors[0]


def test_sync_prints_the_report_and_a_second_run_sends_nothing(warehouse, standin):
    base = ("--warehouse", warehouse, "--chartmogul-api-base", standin.url)
    first = sync_cli(*base, CHARTMOGUL_DATA_SOURCE_NAME="cli")
    assert first.exit_code == 0, first.output
    assert "chartmogul sync: invoices done" in first.output
    assert "  customers: 4 created" in first.output
    assert "  backlog: 0 failed, 0 parked" in first.output
    standin.requests.clear()
    second = sync_cli(*base, CHARTMOGUL_DATA_SOURCE_NAME="cli")
    assert second.exit_code == 0, second.output
    assert "0 requests" in second.output and "  invoices: 4 unchanged" in second.output
    assert standin.requests.count() == 0
    assert KEY not in first.output + second.output
    assert len(held_by(standin, KEY, "cli")["customers"]) == 4


def test_a_dry_run_needs_no_key_and_sends_nothing(warehouse, standin):
    standin.requests.clear()
    result = sync_cli(
        "--warehouse", warehouse, "--chartmogul-api-base", standin.url, "--dry-run", key=None
    )
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "  plans: 3 create" in result.output
    assert "sample POST /v1/customers" in result.output
    assert standin.requests.count() == 0


def test_a_missing_key_says_what_to_set(warehouse):
    line = one_error_line(sync_cli("--warehouse", warehouse, key=None))
    assert "CHARTMOGUL_API_KEY" in line and "--dry-run" in line


def test_a_missing_warehouse_or_export_says_run_the_pipeline_first(tmp_path):
    line = one_error_line(sync_cli("--warehouse", tmp_path / "nowhere.duckdb"))
    assert "no DuckDB warehouse" in line and "run the pipeline first" in line
    empty = ExportWorld()
    path = empty.write(tmp_path / "partial.duckdb")
    with duckdb.connect(str(path)) as con:
        con.execute("drop table marts.chartmogul_export_cancellations")
    line = one_error_line(sync_cli("--warehouse", path))
    assert "marts.chartmogul_export_cancellations" in line and "run the pipeline first" in line


def test_a_locked_warehouse_names_the_holder(warehouse):
    with held(warehouse, "writer") as pid:
        line = one_error_line(sync_cli("--warehouse", warehouse))
    assert f"PID {pid}" in line and "published copy" in line


def test_chartmogul_not_answering_is_one_line(warehouse):
    nobody = f"http://127.0.0.1:{free_port()}"
    line = one_error_line(
        sync_cli(
            "--warehouse", warehouse, "--chartmogul-api-base", nobody,
            CHARTMOGUL_SYNC_TIMEOUT_SECONDS="2",
        )
    )  # fmt: skip
    assert line.startswith(f"error: ChartMogul at {nobody} stopped answering after 0 of ")
    assert line.endswith("connection refused; nothing was lost, run the sync again to finish")


def test_a_bad_setting_is_named(warehouse):
    line = one_error_line(sync_cli("--warehouse", warehouse, CHARTMOGUL_SYNC_CONCURRENCY="many"))
    assert "CHARTMOGUL_SYNC_CONCURRENCY='many'" in line


def test_the_sync_writes_a_postgresql_warehouse_with_the_same_sql(standin):
    world = ExportWorld.small()
    with fresh_database("revwh_cm_sync") as url:
        connection = psycopg2.connect(url.replace("postgresql+psycopg2", "postgresql"))
        with connection, connection.cursor() as cursor:
            cursor.execute("create schema marts")
            for table, columns in COLUMNS.items():
                spec = ", ".join(f"{name} {kind}" for name, kind in columns.items())
                cursor.execute(f"create table marts.{table} ({spec})")
                rows = getattr(world, table.removeprefix("chartmogul_export_"))
                for row in rows:
                    cursor.execute(
                        f"insert into marts.{table} values ({', '.join(['%s'] * len(columns))})",
                        [row[c] for c in columns],
                    )
        connection.close()
        settings = SyncSettings(
            api_key=KEY, api_base=standin.url, data_source_name="postgres", backoff_seconds=0.01
        )
        first = sync_chartmogul(url, settings=settings)
        assert first.ok and first.counts["invoice"].created == 4
        again = sync_chartmogul(url, settings=settings)
        assert again.requests == 0 and again.counts["invoice"].unchanged == 4
        connection = psycopg2.connect(url.replace("postgresql+psycopg2", "postgresql"))
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "select status, count(*) from chartmogul_sync.object_state group by status"
            )
            assert cursor.fetchall() == [("sent", 18)]
            cursor.execute("select count(*) from chartmogul_sync.sync_log")
            assert cursor.fetchone() == (12,)
        connection.close()
