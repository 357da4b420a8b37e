"""core: one object says which warehouse and what follows from it; the as-of date is parsed
once and "today" has one definition."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from core.settings import RunSettings, SettingsError, parse_as_of, today
from core.sources import SOURCE_NAMES, SOURCES, source_named, source_of_dataset
from core.warehouse import DEFAULT_WAREHOUSE, Warehouse


def test_a_duckdb_warehouse_is_an_absolute_file_with_its_own_state_and_artifacts(tmp_path):
    warehouse = Warehouse.of(tmp_path / "a" / "shop.duckdb")
    assert warehouse.engine == "duckdb" and not warehouse.is_postgres
    assert warehouse.path == (tmp_path / "a" / "shop.duckdb").resolve()
    assert warehouse.dbt_env() == {"REVWH_TARGET": "duckdb", "REVWH_WAREHOUSE": warehouse.target}
    assert warehouse.artifacts_dir.parent == warehouse.path.parent / ".dbt"
    assert Path(warehouse.pipelines_dir).parent == warehouse.path.parent / ".dlt_pipelines"
    other = Warehouse.of(tmp_path / "b" / "shop.duckdb")
    assert other.artifacts_dir.name != warehouse.artifacts_dir.name
    assert other.pipelines_dir != warehouse.pipelines_dir
    assert Warehouse.of(warehouse) is warehouse


def test_the_environment_names_the_warehouse_when_nothing_is_given(monkeypatch, tmp_path):
    monkeypatch.delenv("REVWH_WAREHOUSE", raising=False)
    assert Warehouse.of(None).path == Path(DEFAULT_WAREHOUSE).resolve()
    monkeypatch.setenv("REVWH_WAREHOUSE", str(tmp_path / "env.duckdb"))
    assert Warehouse.of(None).path == tmp_path / "env.duckdb"
    monkeypatch.setenv("REVWH_WAREHOUSE", "postgresql://rev@db:5432/finance")
    assert Warehouse.of(None).is_postgres


def test_a_postgres_warehouse_never_shows_its_password():
    warehouse = Warehouse.of("postgres://rev:s3cr%40t@db.example:6543/finance")
    assert warehouse.engine == "postgres"
    assert warehouse.url.startswith("postgresql://rev:s3cr%40t@")
    assert "s3cr" not in str(warehouse) and "s3cr" not in str(warehouse.artifacts_dir)
    assert str(warehouse) == "PostgreSQL db.example:6543/finance"
    assert Warehouse.of("postgresql://rev@db/x").url == "postgresql://rev:@db/x"
    with pytest.raises(ValueError, match="not a file"):
        _ = warehouse.path


def test_connect_is_read_only_by_default(tmp_path):
    warehouse = Warehouse.of(tmp_path / "w.duckdb")
    with warehouse.connect(read_only=False) as con:
        con.execute("create table t as select 1 as x")
    with warehouse.connect() as con:
        assert con.execute("select x from t").fetchall() == [(1,)]
        with pytest.raises(duckdb.Error):
            con.execute("insert into t values (2)")


def test_the_as_of_date_is_parsed_once_and_today_is_the_utc_day():
    assert today() == datetime.now(UTC).date()
    assert RunSettings.of(None).as_of == today()
    assert RunSettings.of("").as_of == today()
    assert RunSettings.of("2026-11-15").as_of == date(2026, 11, 15)
    assert RunSettings.of(date(2026, 1, 31)).dbt_env() == {"REVWH_AS_OF": "2026-01-31"}
    assert parse_as_of(None) is None
    for wrong in ("2026-13-01", "15/11/2026", "2026-11-15'; drop table x; --"):
        with pytest.raises(SettingsError, match="YYYY-MM-DD"):
            RunSettings.of(wrong)


def test_an_as_of_date_in_the_future_is_refused_with_today_named():
    tomorrow = today() + timedelta(days=1)
    with pytest.raises(SettingsError, match=f"{tomorrow} is in the future .*today is {today()}"):
        RunSettings.of(tomorrow)
    assert RunSettings.of(today()).as_of == today()


def test_the_cli_refuses_a_future_as_of_date_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from revwh.cli import app

    tomorrow = (today() + timedelta(days=1)).isoformat()
    warehouse = ["--warehouse", str(tmp_path / "w.duckdb")]
    for command in (["run", *warehouse], ["reconcile", *warehouse], ["demo", "--out", "x"]):
        result = CliRunner().invoke(app, [*command, "--as-of", tomorrow], env={"COLUMNS": "200"})
        assert result.exit_code == 2, result.output
        assert f"{tomorrow} is in the future" in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "w.duckdb").exists()


def test_every_name_of_a_source_comes_from_its_registry_entry():
    assert len(set(SOURCE_NAMES)) == len(SOURCES)
    for source in SOURCES:
        assert source_named(source.name) is source
        assert source_of_dataset(source.dataset) is source
        assert source.dataset == f"raw_{source.name}"
        assert source.pipeline_name == f"revwh_{source.name}"
        # a child table belongs to its parent resource's asset
        assert source.asset_key("invoices__lines") == f"dlt_{source.dlt_source}_invoices"
        assert source.asset_key("_dlt_loads") == f"dlt_{source.dlt_source}_dlt_loads"
    with pytest.raises(ValueError, match="choose from"):
        source_named("paypal")
