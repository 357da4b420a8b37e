"""Data contracts as asset checks: one great-expectations validation per raw table with a
contract (data_contracts/), over the whole table, on the dlt asset that loads it."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)

from orchestration.ingestion.factory import WAREHOUSE_POOL
from orchestration.resources import DbtSettingsResource

# raw dataset -> the dlt source name in the asset keys (dlt_<source>_<table>)
SOURCE_OF_DATASET = {
    "raw_stripe": "stripe",
    "raw_app": "app_db",
    "raw_fx": "fx",
    "raw_costs": "cost_sheets",
}


def contract_asset_key(dataset: str, table: str) -> AssetKey:
    # child tables (invoices__lines) are written by their parent resource's asset
    return AssetKey(f"dlt_{SOURCE_OF_DATASET[dataset]}_{table.split('__')[0].lstrip('_')}")


def _contract_check(dataset: str, table: str) -> AssetChecksDefinition:
    @asset_check(
        asset=contract_asset_key(dataset, table),
        name=f"contract_{table}",
        description=f"great-expectations suite from data_contracts/{dataset}/{table}.yml, "
        "run over every row of the table.",
        # reads the DuckDB file: never beside a step that writes it
        pool=WAREHOUSE_POOL,
    )
    def _check(context: AssetCheckExecutionContext, dbt_settings: DbtSettingsResource):
        from ingestion.warehouse import is_postgres, warehouse_target
        from orchestration.quality.validate import validate_contract_table

        warehouse = warehouse_target(dbt_settings.warehouse)
        if is_postgres(warehouse):
            return AssetCheckResult(
                passed=True,
                severity=AssetCheckSeverity.WARN,
                description="not run: contract validation reads a DuckDB warehouse",
                metadata={"skipped": True},
            )
        result = validate_contract_table(warehouse, dataset, table)
        context.log.info(result.summary())
        return AssetCheckResult(
            passed=result.passed,
            severity=AssetCheckSeverity.ERROR,
            description=result.summary(),
            metadata=result.metadata(),
        )

    return _check


def contract_checks() -> list[AssetChecksDefinition]:
    from orchestration.quality.expectations import contract_tables

    return [_contract_check(t.dataset, t.table) for t in contract_tables()]
