"""The published copy of the marts: a read-only DuckDB file that analysts and BI tools open
while runs write the warehouse (DuckDB takes one writer or many readers per file, not both).
It is rebuilt beside the old one and swapped in atomically after each successful build. The
daily job publishes dbt's docs site beside it (`dbt_docs`)."""

import shutil

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.defs.dbt.assets import warehouse_models
from orchestration.lib.dbt import WarehouseDbtCliResource, dbt_args, dbt_env
from orchestration.lib.resources import RunSettingsResource
from orchestration.lib.sources import WAREHOUSE_POOL

REPORTS_GROUP = "reports"
PARTIAL_PARSE = "partial_parse.msgpack"

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
        # the sync's state and log are published too
        AssetKey("chartmogul_sync"),
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
    except ValueError as exc:  # a storage version that is not one
        raise Failure(str(exc)) from exc
    context.log.info(
        f"published {len(result.tables)} marts to {result.path} "
        f"(DuckDB storage version {result.storage_version})"
    )
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(result.path)),
            "tables": MetadataValue.int(len(result.tables)),
            "rows": MetadataValue.json({t: int(n) for t, n in result.rows.items()}),
            "seconds": MetadataValue.float(round(result.seconds, 3)),
            "storage_version": MetadataValue.text(result.storage_version),
        }
    )


@asset(group_name=REPORTS_GROUP, deps=[published_marts], pool=WAREHOUSE_POOL, kinds={"dbt"})
def dbt_docs(
    context: AssetExecutionContext,
    dbt: WarehouseDbtCliResource,
    run_settings: RunSettingsResource,
):
    """dbt's docs site (models, columns, lineage, exposures and the warehouse's catalog) as
    one page, `docs/index.html` beside the published copy, that opens from disk in a
    browser: `dbt docs generate --static`, swapped in atomically."""
    from core.dbt import last_invocation_error
    from serving.docs import STATIC_PAGE, publish_docs_site

    warehouse, settings = run_settings.target(), run_settings.settings(context)
    # its own folder: the build's run_results.json and manifest stay as they were
    artifacts = warehouse.artifacts_dir / "docs"
    target_path = artifacts / "target"
    # the build's parse, which dbt checks and reuses (a full parse takes 20 s and more)
    build_parse = warehouse.artifacts_dir / "target" / PARTIAL_PARSE
    if build_parse.is_file():
        target_path.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build_parse, target_path / PARTIAL_PARSE)
    invocation = dbt.cli(
        [*dbt_args("docs generate", settings), "--static"],
        env=dbt_env(warehouse, settings),
        target_path=target_path,
        raise_on_error=False,
    )
    invocation.wait()
    if not invocation.is_successful():
        error = last_invocation_error(artifacts) or f"see {target_path / 'dbt.log'}"
        raise Failure(f"dbt docs generate failed: {error}")
    site = publish_docs_site(target_path / STATIC_PAGE, warehouse)
    context.log.info(f"dbt docs published to {site}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(site)),
            "bytes": MetadataValue.int(site.stat().st_size),
        }
    )
