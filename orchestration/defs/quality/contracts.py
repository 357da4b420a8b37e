"""Data contracts as asset checks: one great-expectations validation per raw table with a
contract (data_contracts/), over the whole table, on the dlt asset that loads it."""

import dagster as dg
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)

from core.sources import source_of_dataset
from orchestration.lib.resources import RunSettingsResource
from orchestration.lib.sources import WAREHOUSE_POOL


def contract_asset_key(dataset: str, table: str) -> AssetKey:
    # child tables (invoices__lines) are written by their parent resource's asset
    return AssetKey(source_of_dataset(dataset).asset_key(table))


def _contract_check(dataset: str, table: str) -> AssetChecksDefinition:
    @asset_check(
        asset=contract_asset_key(dataset, table),
        name=f"contract_{table}",
        description=f"great-expectations suite from data_contracts/{dataset}/{table}.yml, "
        "run over every row of the table.",
        # reads the warehouse: never beside a step that writes it (DuckDB takes one writer)
        pool=WAREHOUSE_POOL,
    )
    def _check(context: AssetCheckExecutionContext, run_settings: RunSettingsResource):
        from quality.validate import validate_contract_table

        # a DuckDB file or a PostgreSQL database (validated where the table is)
        result = validate_contract_table(run_settings.target().target, dataset, table)
        context.log.info(result.summary())
        return AssetCheckResult(
            passed=result.passed,
            severity=AssetCheckSeverity.ERROR,
            description=result.summary(),
            metadata=result.metadata(),
        )

    return _check


def contract_checks() -> list[AssetChecksDefinition]:
    from quality.expectations import contract_tables

    return [_contract_check(t.dataset, t.table) for t in contract_tables()]


@dg.definitions
def checks() -> dg.Definitions:
    return dg.Definitions(asset_checks=contract_checks())
