"""Lighter dbt runs keep every test's meaning: the combined column tests fail and name the
column, and an hourly run leaves out exactly the models no newly loaded row reaches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import duckdb

from core.dbt import PROFILES_DIR, PROJECT_DIR
from core.dbt_scope import HOURLY_SELECTOR, settings_fingerprint, stale_free_models
from core.settings import RunSettings
from core.warehouse import Warehouse
from orchestration.lib.dbt import run_dbt
from tests.conftest import AS_OF

MART = "mrr_summary_daily"


def _manifest() -> dict:
    """The project's manifest, as Dagster reads it (prepared by `make install`)."""
    return json.loads((PROJECT_DIR / "target" / "manifest.json").read_text())


def _models(manifest: dict) -> set[str]:
    return {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}


def _marts(warehouse: Path) -> dict[str, list]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' and table_name not in ('kpi_snapshots') "
                "and table_name not like 'chartmogul%' order by 1"
            ).fetchall()
        ]
        return {
            t: sorted(map(repr, con.execute(f"select * from marts.{t}").fetchall())) for t in tables
        }


def test_combined_column_tests_fail_and_name_the_column(small_warehouse_copy):
    warehouse = small_warehouse_copy
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            f"update marts.{MART} set new_mrr = null, data_quality = 'bogus' "
            f"where summary_date = (select max(summary_date) from marts.{MART})"
        )
    result = run_dbt(warehouse, RunSettings.of(AS_OF), "test", select=MART)
    failed = {f.name.split(f"_{MART}")[0] for f in result.failures}
    assert {"not_null_columns", "accepted_values_columns"} <= failed, result.describe_failures()
    run = json.loads(
        (Warehouse.of(warehouse).artifacts_dir / "target" / "run_results.json").read_text()
    )
    compiled = {
        kind: next(
            r["compiled_code"]
            for r in run["results"]
            if r["unique_id"].startswith(f"test.revenue_warehouse.{kind}_{MART}")
        )
        for kind in ("not_null_columns", "accepted_values_columns")
    }
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = {kind: con.execute(sql).fetchall() for kind, sql in compiled.items()}
    assert rows["not_null_columns"] == [("new_mrr", 1)]
    assert rows["accepted_values_columns"] == [("data_quality", "bogus", 1)]


def test_the_settings_fingerprint_is_the_one_dbt_stores(small_warehouse, tmp_path):
    """core.dbt_scope compares the last build's settings with the run's: its fingerprint
    must be the string macro mrr_settings_fingerprint renders, for the defaults (as the
    small run's build log recorded it) and for other settings (rendered by dbt)."""
    with duckdb.connect(str(small_warehouse), read_only=True) as con:
        (recorded,) = con.execute(
            "select settings_fingerprint from intermediate.revwh_build_log "
            "order by recorded_at desc limit 1"
        ).fetchone()
    assert recorded == settings_fingerprint({})
    others = {
        "churn_recognition": "requested",
        "unpaid_is_churn": "yes",
        "reporting_currency": "eur",
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "compile",
            "--quiet",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROFILES_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            "--vars",
            json.dumps(others),
            "--inline",
            "select '{{ mrr_settings_fingerprint() }}' as fingerprint",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **Warehouse.of(tmp_path / "scratch.duckdb").dbt_env()},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"'{settings_fingerprint(others)}'" in done.stdout
    assert settings_fingerprint(others) != recorded


def test_an_hourly_run_leaves_out_only_models_no_new_row_reaches(small_warehouse_copy):
    warehouse = small_warehouse_copy
    manifest = _manifest()
    models = _models(manifest)
    before = _marts(warehouse)
    # nothing loaded since the build: nothing needs building
    target = Warehouse.of(warehouse)
    assert stale_free_models(target, manifest, models, RunSettings.of(AS_OF)) == models
    # another day or other settings: everything is built
    next_day = RunSettings.of(AS_OF + timedelta(days=1))
    assert stale_free_models(target, manifest, models, next_day) == set()
    requested = RunSettings.of(AS_OF, {"churn_recognition": "requested"})
    assert stale_free_models(target, manifest, models, requested) == set()
    # an hour in which dlt re-loaded some app transactions (same values, a new load id)
    load_id = f"{time.time():.7f}"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update raw_app.transactions set _dlt_load_id = ? where rowid % 10 = 0", [load_id]
        )
        con.execute(
            "insert into raw_app._dlt_loads (load_id, schema_name, status, inserted_at) "
            "values (?, 'app_db', 0, now())",
            [load_id],
        )
    unchanged = stale_free_models(target, manifest, models, RunSettings.of(AS_OF))
    reached = models - unchanged
    assert {"stg_app__transactions", "fct_revenue", "mrr_summary_daily"} <= reached
    assert {"stg_stripe__invoices", "usage_daily_by_plan", "stg_fx__rates"} <= unchanged
    # the hourly job's dbt step, run by Dagster with the job's tag, builds only the rest
    # and gives the marts a full build gave
    from dagster import DagsterInstance, materialize
    from dagster_dbt import build_dbt_asset_selection

    from orchestration.defs.dbt.assets import DBT_SCOPE_TAG, warehouse_models
    from orchestration.defs.resources import run_resources
    from orchestration.lib.resources import RunSettingsResource

    hourly = build_dbt_asset_selection([warehouse_models], dbt_selector=HOURLY_SELECTOR)
    settings = RunSettingsResource(warehouse=str(warehouse), as_of=AS_OF.isoformat())
    with DagsterInstance.ephemeral() as instance:
        run = materialize(
            [warehouse_models],
            selection=hourly,
            resources=run_resources(run_settings=settings),
            instance=instance,
            tags={DBT_SCOPE_TAG: "changed"},
        )
    assert run.success
    built = {
        event.asset_key.path[-1]
        for event in run.get_asset_materialization_events()
        if event.asset_key is not None
    }
    assert {"stg_app__transactions", "fct_revenue", "mrr_summary_daily"} <= built <= reached
    assert _marts(warehouse) == before


def test_every_setting_pasted_into_sql_is_checked_first(small_warehouse_copy):
    """Vars that end up inside SQL stop dbt before it runs anything, with the setting named
    (dbt evaluates them while it parses the project, in about 2 s)."""
    refused = {
        "gateway_retry_days": ("1 day') or (true", "whole number of days"),
        "credit_pack_product_ids": (["prod_credits", "x') or ('1'='1"], "Stripe product ids"),
        "kpi_targets": ({"mrr": "lots"}, "the target of mrr must be a number, got lots"),
    }
    for name, (value, says) in refused.items():
        result = run_dbt(small_warehouse_copy, RunSettings.of(AS_OF, {name: value}), "parse")
        assert not result.success
        assert f"var {name}" in result.error and says in result.error, result.error
