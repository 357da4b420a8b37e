"""The published copy of the marts: a read-only DuckDB file that analysts and BI tools open
while runs write the warehouse (DuckDB takes one writer or many readers per file, not both).
It is rebuilt beside the old one and swapped in atomically after each successful build."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.defs.dbt.assets import warehouse_models
from orchestration.lib.resources import RunSettingsResource
from orchestration.lib.sources import WAREHOUSE_POOL

REPORTS_GROUP = "reports"

# after every mart (and the reconciliation tables, when the run has them)
MART_KEYS = sorted(
    (key for key, group in warehouse_models.group_names_by_key.items() if group == "marts"),
    key=lambda key: key.to_user_string(),
)


@asset(
    group_name=REPORTS_GROUP,
    deps=[
        *MART_KEYS,
        AssetKey("chartmogul_reconciliation"),
        AssetKey("chartmogul_reconciliation_customers"),
    ],
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
)
def published_marts(context: AssetExecutionContext, run_settings: RunSettingsResource):
    """Every table of schema `marts`, copied to `published/<warehouse>.duckdb` beside the
    warehouse (or REVWH_PUBLISHED_WAREHOUSE) and swapped in with an atomic rename: a reader
    never sees a half-built mart and never blocks the pipeline."""
    from serving.publish import publish_marts

    warehouse = run_settings.target()
    if warehouse.is_postgres:
        # PostgreSQL serves readers and a writer at once: nothing to publish
        context.log.info("the warehouse is PostgreSQL: readers connect to it directly")
        return MaterializeResult(metadata={"published": MetadataValue.bool(False)})
    try:
        result = publish_marts(warehouse.target)
    except FileNotFoundError as exc:
        raise Failure(f"nothing to publish: {exc}") from exc
    context.log.info(f"published {len(result.tables)} marts to {result.path}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(result.path)),
            "tables": MetadataValue.int(len(result.tables)),
            "rows": MetadataValue.json({t: int(n) for t, n in result.rows.items()}),
            "seconds": MetadataValue.float(round(result.seconds, 3)),
        }
    )
