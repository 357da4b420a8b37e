"""Materialize the warehouse's graph in this process, the way `revwh run` and `revwh demo`
do: the same assets and checks as the code location, with resources given by the caller,
one step after another (DuckDB takes one writer), on an ephemeral Dagster instance unless
one is given."""

from collections.abc import Iterable
from contextlib import nullcontext

from dagster import (
    AssetSelection,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    define_asset_job,
    in_process_executor,
)

from orchestration.app_db.assets import app_db_load
from orchestration.chartmogul.assets import chartmogul_mrr_reconciliation
from orchestration.cost_sheets.assets import cost_sheets_load
from orchestration.dbt.assets import warehouse_models
from orchestration.definitions import ASSETS, CHECKS
from orchestration.fx.assets import fx_load
from orchestration.reports.assets import published_marts
from orchestration.stripe.assets import stripe_load

# ingestion.run's source names -> their multi-asset
LOADS = {"stripe": stripe_load, "app": app_db_load, "costs": cost_sheets_load, "fx": fx_load}
RUN_JOB = "revwh_run"


def run_selection(
    sources: Iterable[str], *, reconcile: bool, publish: bool, models: bool = True
) -> AssetSelection:
    """The loads of `sources`, every dbt model, and optionally the reconciliation and the
    published copy; each with its checks. models=False: the loads alone."""
    selection = AssetSelection.assets(warehouse_models) if models else AssetSelection.assets()
    if not models:
        reconcile = publish = False
    for source in sources:
        selection = selection | AssetSelection.assets(LOADS[source])
    if reconcile:
        selection = selection | AssetSelection.assets(chartmogul_mrr_reconciliation)
    if publish:
        selection = selection | AssetSelection.assets(published_marts)
    return selection


def materialize_warehouse(
    resources: dict,
    *,
    sources: Iterable[str] = tuple(LOADS),
    reconcile: bool = False,
    publish: bool = True,
    models: bool = True,
    loggers: dict | None = None,
    instance: DagsterInstance | None = None,
    run_config: dict | None = None,
    tags: dict | None = None,
) -> ExecuteInProcessResult:
    """Run the selected part of the graph; never raises for a failed step (check
    `result.success` and the step and check events)."""
    job = define_asset_job(
        RUN_JOB,
        selection=run_selection(sources, reconcile=reconcile, publish=publish, models=models),
        executor_def=in_process_executor,
    )
    defs = Definitions(
        assets=ASSETS, asset_checks=CHECKS, jobs=[job], resources=resources, loggers=loggers
    )
    if loggers:
        # Dagster starts only the loggers named in the run config (else its own console one)
        run_config = {**(run_config or {}), "loggers": {name: {} for name in loggers}}
    owned = nullcontext(instance) if instance is not None else DagsterInstance.ephemeral()
    with owned as active:
        return defs.resolve_job_def(RUN_JOB).execute_in_process(
            instance=active, raise_on_error=False, run_config=run_config, tags=tags
        )
