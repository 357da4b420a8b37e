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

from orchestration.dbt.assets import warehouse_models
from orchestration.ingestion.factory import WAREHOUSE_POOL
from orchestration.resources import DbtSettingsResource

REPORTS_GROUP = "reports"

# after every mart (and the reconciliation tables, when the run has them)
MART_KEYS = sorted(
    (key for key, group in warehouse_models.group_names_by_key.items() if group == "marts"),
    key=lambda key: key.to_user_string(),
)


@asset(
    group_name=REPORTS_GROUP,
    deps=[*MART_KEYS, AssetKey("chartmogul_mrr_reconciliation")],
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
)
def published_marts(context: AssetExecutionContext, dbt_settings: DbtSettingsResource):
    """Every table of schema `marts`, copied to `published/<warehouse>.duckdb` beside the
    warehouse (or REVWH_PUBLISHED_WAREHOUSE) and swapped in with an atomic rename: a reader
    never sees a half-built mart and never blocks the pipeline."""
    from ingestion.warehouse import is_postgres, warehouse_target
    from orchestration.serving.publish import publish_marts

    warehouse = warehouse_target(dbt_settings.warehouse)
    if is_postgres(warehouse):
        # PostgreSQL serves readers and a writer at once: nothing to publish
        context.log.info("the warehouse is PostgreSQL: readers connect to it directly")
        return MaterializeResult(metadata={"published": MetadataValue.bool(False)})
    try:
        result = publish_marts(warehouse)
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
