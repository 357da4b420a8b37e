"""Materialize the warehouse's graph in this process, the way `revwh run` and `revwh demo`
do: the same assets and checks as the code location, with resources given by the caller,
one step after another (DuckDB takes one writer), on an ephemeral Dagster instance unless
one is given."""

from collections.abc import Iterable
from contextlib import nullcontext

from dagster import (
    AssetCheckKey,
    AssetSelection,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    define_asset_job,
    in_process_executor,
)

from core.sources import LOADED_SOURCE_NAMES, SOURCES
from orchestration.definitions import load

RUN_JOB = "revwh_run"
# the source read only to reconcile (its load, the reconciliation marts' check)
RECONCILIATION_SOURCE = "chartmogul"
PUBLISHED = "published_marts"
# the sources a run loads by default: every one loaded on its own (reconcile=True reads
# ChartMogul)
LOADED_SOURCES = LOADED_SOURCE_NAMES


def _assets_by_name() -> dict:
    return {
        getattr(a, "node_def", None) and a.node_def.name: a
        for a in load().assets
        if hasattr(a, "node_def")
    }


def loads() -> dict:
    """Each source's name (core.sources) -> the multi-asset that loads it."""
    assets = _assets_by_name()
    return {source.name: assets[f"load_{source.dlt_source}"] for source in SOURCES}


def source_freshness_checks() -> list[AssetCheckKey]:
    from orchestration.defs.dbt.source_freshness import SPECS

    return [spec.key for spec in SPECS.values()]


def run_selection(
    sources: Iterable[str], *, reconcile: bool, publish: bool, models: bool = True
) -> AssetSelection:
    """The loads of `sources`, every dbt model but the reconciliation's, and optionally the
    reconciliation (the ChartMogul load, its dbt models and the check `mrr_within_threshold`)
    and the published copy; each with its checks. models=False: the loads alone."""
    from alerts.reconciliation import ASSET_NAME, CHECK_NAME
    from orchestration.defs.chartmogul.assets import model_key, reconciliation_models

    assets = _assets_by_name()
    selection = (
        AssetSelection.assets(assets["warehouse_models"]) if models else AssetSelection.assets()
    )
    if not models:
        reconcile = publish = False
    load_assets = loads()
    for source in sources:
        selection = selection | AssetSelection.assets(load_assets[source])
    check = AssetSelection.checks(AssetCheckKey(model_key(ASSET_NAME), CHECK_NAME))
    if reconcile:
        selection = (
            selection
            | AssetSelection.assets(load_assets[RECONCILIATION_SOURCE], reconciliation_models)
            | check
        )
    if publish:
        selection = selection | AssetSelection.assets(PUBLISHED)
    # how long ago each raw table was loaded is the daily job's question, not a run's that
    # has just loaded them
    return selection - AssetSelection.checks(*source_freshness_checks())


def materialize_warehouse(
    resources: dict,
    *,
    sources: Iterable[str] = LOADED_SOURCES,
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
    location = load()
    defs = Definitions(
        # a definition imported by several modules of defs/ is listed once per module
        assets=list({id(a): a for a in location.assets or []}.values()),
        asset_checks=list({id(c): c for c in location.asset_checks or []}.values()),
        jobs=[job],
        resources=resources,
        loggers=loggers,
    )
    if loggers:
        # Dagster starts only the loggers named in the run config (else its own console one)
        run_config = {**(run_config or {}), "loggers": {name: {} for name in loggers}}
    owned = nullcontext(instance) if instance is not None else DagsterInstance.ephemeral()
    with owned as active:
        return defs.resolve_job_def(RUN_JOB).execute_in_process(
            instance=active, raise_on_error=False, run_config=run_config, tags=tags
        )
