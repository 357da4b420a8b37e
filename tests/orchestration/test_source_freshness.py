"""dbt source freshness from dlt's load ids, run by the daily job as one asset check per raw
table: every root table is checked, nested tables are not, the small world's tables (just
loaded) pass, and a table whose newest rows are older than its thresholds fails with the
severity the threshold names."""

from __future__ import annotations

import time

import dagster as dg
import duckdb

from orchestration.defs.dbt.assets import dbt_project_manifest
from orchestration.defs.dbt.source_freshness import CHECK_NAME, SPECS, dbt_source_freshness
from tests.conftest import AS_OF


def test_every_root_raw_table_has_a_check_and_nested_tables_none():
    sources = dbt_project_manifest()["sources"]
    checked = {sources[unique_id]["identifier"] for unique_id in SPECS}
    assert {"invoices", "subscriptions", "transactions", "fx_rates", "cost_sheet_rows"} <= checked
    assert {"mrr_metrics", "customers", "accounts", "usage_daily"} <= checked
    # nested tables arrive with their root row; dlt's log and the quarantine tables are no feed
    assert not {t for t in checked if "__" in t or t == "_dlt_loads" or t.endswith("_rejects")}
    for unique_id, spec in SPECS.items():
        assert spec.name == CHECK_NAME
        assert spec.asset_key.to_user_string().startswith("dlt_"), unique_id
        assert "recently" in spec.description and "_dlt_load_id" in spec.description
    # hourly sources warn sooner than daily ones
    by_table = {sources[u]["identifier"]: sources[u]["freshness"] for u in SPECS}
    assert by_table["invoices"]["warn_after"] == {"count": 3, "period": "hour"}
    assert by_table["fx_rates"]["warn_after"] == {"count": 36, "period": "hour"}


def _age(con: duckdb.DuckDBPyConnection, table: str, hours: float) -> None:
    """Make every row of `table` look loaded `hours` ago (dlt's load id is epoch seconds)."""
    con.execute(f"update {table} set _dlt_load_id = ?", [f"{time.time() - hours * 3600:.6f}"])


def test_the_checks_pass_on_the_small_world_and_fail_on_stale_tables(small_warehouse_copy):
    from orchestration.defs.resources import run_resources
    from orchestration.lib.resources import RunSettingsResource

    with duckdb.connect(str(small_warehouse_copy)) as con:
        _age(con, "raw_stripe.refunds", 30)  # Stripe: error after 24 hours
        _age(con, "raw_fx.fx_rates", 40)  # FX: warn after 36 hours, error after 72
    settings = RunSettingsResource(warehouse=str(small_warehouse_copy), as_of=AS_OF.isoformat())
    keys = [spec.key for spec in SPECS.values()]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [*(dg.AssetSpec(key) for key in {k.asset_key for k in keys}), dbt_source_freshness],
            selection=dg.AssetSelection.checks(*keys),
            resources=run_resources(run_settings=settings),
            instance=instance,
            raise_on_error=False,
        )
    evaluations = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert len(evaluations) == len(SPECS) >= 19
    failed = {key: e for key, e in evaluations.items() if not e.passed}
    assert set(failed) == {"dlt_stripe_refunds", "dlt_fx_fx_rates"}, {
        k: e.description for k, e in failed.items()
    }
    assert failed["dlt_stripe_refunds"].severity == dg.AssetCheckSeverity.ERROR
    assert failed["dlt_fx_fx_rates"].severity == dg.AssetCheckSeverity.WARN
    assert "fx.fx_rates: newest rows loaded 40.0 h ago" in failed["dlt_fx_fx_rates"].description
    passed = evaluations["dlt_stripe_invoices"]
    assert passed.metadata["thresholds"].value == "warn after 3 hours, error after 24 hours"
