"""dbt source freshness as asset checks: for every raw table with a freshness threshold (its
newest rows' dlt load id, models/staging/*/_*__sources.yml), one check on the dlt asset that
loads it, all answered by a single `dbt source freshness` through the project's dbt runner.
The daily job runs them after its loads; a table older than its warn threshold fails with
severity WARN, older than its error threshold (or unreadable) with severity ERROR."""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg

from orchestration.defs.dbt.assets import dbt_project_manifest, translator
from orchestration.lib.dbt import WarehouseDbtCliResource, source_freshness
from orchestration.lib.resources import RunSettingsResource
from orchestration.lib.sources import WAREHOUSE_POOL

CHECK_NAME = "rows_loaded_recently"


def _has_threshold(source: Mapping[str, Any]) -> bool:
    freshness = source.get("freshness") or {}
    return any((freshness.get(kind) or {}).get("count") for kind in ("warn_after", "error_after"))


def _limits(source: Mapping[str, Any]) -> str:
    freshness = source["freshness"]
    return ", ".join(
        f"{kind} after {limit['count']} {limit['period']}s"
        for kind, limit in (("warn", freshness["warn_after"]), ("error", freshness["error_after"]))
        if limit and limit.get("count")
    )


def checked_sources(manifest: Mapping[str, Any]) -> dict[str, dg.AssetCheckSpec]:
    """The check of each source table with a threshold, by the table's dbt unique id."""
    specs = {}
    for unique_id, source in sorted(manifest["sources"].items()):
        if not _has_threshold(source):
            continue
        table = f"{source['schema']}.{source['identifier']}"
        specs[unique_id] = dg.AssetCheckSpec(
            CHECK_NAME,
            asset=translator.get_asset_key(source),
            description=f"dbt source freshness: the newest rows of {table} were loaded by dlt "
            f"recently ({_limits(source)}, from their _dlt_load_id).",
        )
    return specs


SPECS = checked_sources(dbt_project_manifest())


@dg.multi_asset_check(
    name="dbt_source_freshness",
    specs=list(SPECS.values()),
    description="`dbt source freshness` of the raw tables: how long ago dlt last wrote rows "
    "of each, against the thresholds in the dbt sources.",
    can_subset=True,
    # reads the warehouse: never beside a step that writes it (DuckDB takes one writer)
    pool=WAREHOUSE_POOL,
)
def dbt_source_freshness(
    context: dg.AssetCheckExecutionContext,
    dbt: WarehouseDbtCliResource,
    run_settings: RunSettingsResource,
) -> Iterator[dg.AssetCheckResult]:
    warehouse, settings = run_settings.target(), run_settings.settings(context)
    selected = context.selected_asset_check_keys
    try:
        results = {r.unique_id: r for r in source_freshness(warehouse, settings, runner=dbt)}
    except RuntimeError as error:
        results, failure = {}, str(error)
    else:
        failure = "dbt source freshness gave no result for the table"
    for unique_id, spec in SPECS.items():
        if spec.key not in selected:
            continue
        result = results.get(unique_id)
        if result is None:
            yield dg.AssetCheckResult(
                asset_key=spec.asset_key,
                check_name=spec.name,
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                description=failure,
            )
            continue
        context.log.info(result.describe())
        yield dg.AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=result.status == "pass",
            severity=dg.AssetCheckSeverity.WARN
            if result.status == "warn"
            else dg.AssetCheckSeverity.ERROR,
            description=result.describe(),
            metadata={
                "table": result.table,
                "status": result.status,
                "newest_load": result.newest_load or "no rows",
                "thresholds": result.criteria,
            },
        )


@dg.definitions
def checks() -> dg.Definitions:
    return dg.Definitions(asset_checks=[dbt_source_freshness])
