"""The code location: loads without secrets, every dlt asset feeds its dbt source, no orphan
or duplicate keys, the schedules' crons and selections, one writer at a time."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, DagsterInstance

from orchestration.defs.dbt.project import dbt_project
from tests.conftest import REPO_ROOT

SECRETS = ("STRIPE_API_KEY", "CHARTMOGUL_API_KEY", "REVWH_ALERT_SLACK_WEBHOOK_URL")


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import load

    return load()


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()


@pytest.mark.parametrize(
    "command", [("dagster", "definitions", "validate"), ("dg", "check", "defs")]
)
def test_definitions_validate_from_the_repository_root_without_secrets(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if k not in SECRETS and not k.startswith("REVWH_")}
    env["DAGSTER_HOME"] = str(tmp_path)
    # loading the definitions writes nothing: no dlt pipeline folder, no state file
    env["REVWH_PIPELINES_DIR"] = str(tmp_path / "pipelines")
    program, *args = command
    done = subprocess.run(
        [str(Path(sys.executable).parent / program), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "pipelines").exists()


def test_every_dlt_asset_feeds_the_dbt_sources_and_nothing_is_orphaned(graph):
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    materializable = {k.to_user_string() for k in graph.materializable_asset_keys}
    dlt_keys = {k for k in materializable if k.startswith("dlt_")}
    assert len(dlt_keys) > 25
    # every dbt source is a dlt asset, and every dlt asset is a dbt source
    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    source_keys = {
        "/".join(source["meta"]["dagster"]["asset_key"]) for source in manifest["sources"].values()
    }
    assert source_keys == dlt_keys
    # every table a staging model reads comes from its dlt asset (quarantine tables, coupons
    # and events are sources for analysts and the sync, not for staging)
    for model in manifest["nodes"].values():
        if model["resource_type"] == "model" and model["name"].startswith("stg_"):
            parents = {p.to_user_string() for p in graph.get(AssetKey(model["name"])).parent_keys}
            assert parents and parents <= dlt_keys, f"{model['name']} reads {parents}"
    for key in ("dlt_stripe_invoices", "dlt_app_db_accounts", "dlt_fx_fx_rates"):
        children = {c.to_user_string() for c in graph.get(AssetKey(key)).child_keys}
        assert any(c.startswith("stg_") for c in children), f"{key} feeds no staging model"
    # every upstream of every asset is an asset we define: no stub a dbt source made up
    externals = {"stripe_api", "app_database", "fx_rate_file", "cost_sheet_files", "chartmogul_api"}
    for key in graph.get_all_asset_keys():
        for parent in graph.get(key).parent_keys:
            name = parent.to_user_string()
            assert name in materializable or name in externals, f"{key} depends on orphan {name}"
    assert keys == materializable | externals


def test_groups_by_layer(graph):
    groups = {graph.get(k).group_name for k in graph.materializable_asset_keys}
    assert groups == {
        "ingestion",
        "staging",
        "intermediate",
        "marts",
        "utilities",
        "reconciliation",
        "reports",
    }
    # MetricFlow's time spine reads no model and no model reads it: not an intermediate step
    assert graph.get(AssetKey("metricflow_time_spine")).group_name == "utilities"
    assert graph.get(AssetKey("stg_stripe__invoices")).group_name == "staging"
    assert graph.get(AssetKey("kpis")).group_name == "marts"
    assert graph.get(AssetKey("chartmogul_reconciliation")).group_name == "reconciliation"
    assert graph.get(AssetKey("published_marts")).group_name == "reports"


def test_checks_cover_dbt_tests_contracts_and_reconciliation_freshness_is_a_policy(defs, graph):
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    names = {name for _, name in checks}
    assert ("chartmogul_reconciliation", "mrr_within_threshold") in checks
    assert ("dlt_stripe_invoices", "contract_invoices") in checks
    assert ("dlt_app_db_usage_daily", "contract_usage_daily") in checks
    assert any(n.startswith("not_null_") for n in names)  # dbt tests
    # freshness is Dagster's FreshnessPolicy on the assets, not a check (test_freshness.py);
    # how long ago dlt loaded each raw table is dbt's source freshness, checked daily
    # (test_source_freshness.py)
    assert not {n for n in names if "freshness" in n}
    assert ("dlt_stripe_invoices", "rows_loaded_recently") in checks
    for key in ("dlt_stripe_invoices", "mrr_summary_daily"):
        assert graph.get(AssetKey(key)).freshness_policy is not None, key
    sensors = {s.name for s in defs.sensors}
    assert {"alert_on_freshness_failure", "alert_on_check_failure"} <= sensors
    assert "freshness_checks_sensor" not in sensors


def _job_keys(defs, name: str) -> set[str]:
    job = defs.resolve_job_def(name)
    return {k.to_user_string() for k in job.asset_layer.selected_asset_keys}


def _job_checks(defs, name: str):
    return defs.resolve_job_def(name).asset_layer.asset_graph.asset_check_keys


def test_schedules_have_their_crons_time_zone_and_selections(defs):
    schedules = {s.job_name: s for s in (defs.resolve_schedule_def(d.name) for d in defs.schedules)}
    assert {name: s.cron_schedule for name, s in schedules.items()} == {
        "hourly_refresh": "15 * * * *",
        "daily_build": "30 5 * * *",
        "weekly_health": "0 6 * * 1",
    }
    assert {s.execution_timezone for s in schedules.values()} == {"UTC"}

    hourly = _job_keys(defs, "hourly_refresh")
    assert {"dlt_stripe_invoices", "dlt_app_db_accounts", "mrr_summary_daily"} <= hourly
    assert {"fct_revenue", "dim_customers", "fct_mrr_movements", "published_marts"} <= hourly
    assert not {"dlt_fx_fx_rates", "dlt_cost_sheets_cost_sheet_rows", "kpis"} & hourly
    assert not {"customer_health", "chartmogul_reconciliation"} & hourly

    daily = _job_keys(defs, "daily_build")
    assert {"dlt_fx_fx_rates", "dlt_cost_sheets_cost_sheet_rows", "kpis", "kpi_snapshots"} <= daily
    assert {"cohort_retention_monthly", "chartmogul_reconciliation", "published_marts"} <= daily
    assert "dbt_docs" in daily and "dbt_docs" not in hourly  # the docs site, once a day

    checks = {
        name: {(c.asset_key.to_user_string(), c.name) for c in _job_checks(defs, name)}
        for name in ("hourly_refresh", "daily_build")
    }
    assert ("dlt_stripe_invoices", "contract_invoices") in checks["daily_build"]
    assert ("dlt_app_db_accounts", "contract_accounts") in checks["daily_build"]
    assert not {c for c in checks["hourly_refresh"] if c[1].startswith("contract_")}
    assert ("chartmogul_reconciliation", "mrr_within_threshold") in checks["daily_build"]
    # dbt source freshness of every raw table: daily, after the day's loads; never hourly
    from orchestration.defs.dbt.source_freshness import SPECS

    freshness = {(s.asset_key.to_user_string(), s.name) for s in SPECS.values()}
    assert freshness <= checks["daily_build"]
    assert not freshness & checks["hourly_refresh"]

    weekly = _job_keys(defs, "weekly_health")
    assert {"customer_health", "customer_segments", "clv_by_plan", "published_marts"} <= weekly
    assert "dbt_docs" not in weekly
    assert not {"dlt_stripe_invoices", "kpis"} & weekly


def test_the_schedule_time_zone_is_configurable(monkeypatch):
    import orchestration.defs.schedules as schedules

    monkeypatch.setenv("REVWH_SCHEDULE_TIMEZONE", "Europe/Berlin")
    try:
        berlin = importlib.reload(schedules)
        assert {s.execution_timezone for s in berlin.schedules} == {"Europe/Berlin"}
    finally:
        monkeypatch.delenv("REVWH_SCHEDULE_TIMEZONE")
        importlib.reload(schedules)


def test_one_writer_at_a_time(defs, graph):
    from orchestration.lib.sources import WAREHOUSE_POOL

    writers = {
        "load_stripe",
        "load_app_db",
        "load_fx",
        "load_cost_sheets",
        "warehouse_models",
        "load_chartmogul",
        "reconciliation_models",
        "published_marts",
        "dbt_docs",  # dbt opens the DuckDB file read-write to read its catalog
    }
    for assets_def in defs.assets:
        if (
            getattr(assets_def, "node_def", None) is not None
            and assets_def.node_def.name in writers
        ):
            assert assets_def.node_def.pool == WAREHOUSE_POOL, assets_def.node_def.name
    for job in ("hourly_refresh", "daily_build", "weekly_health"):
        assert defs.resolve_job_def(job).tags.get("revwh/writes_warehouse") == "true"
    config = yaml.safe_load((REPO_ROOT / ".dagster" / "dagster.yaml").read_text())
    runs = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": "revwh/writes_warehouse", "value": "true", "limit": 1} in runs
    instance = DagsterInstance.from_config(str(REPO_ROOT / ".dagster"))
    try:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    finally:
        instance.dispose()
