"""Materialize the warehouse's graph in this process, the way `revwh run` and `revwh demo`
do: the same assets and checks as the code location, with resources given by the caller,
one step after another (DuckDB takes one writer), on the Dagster instance in DAGSTER_HOME
when it is set (so the UI of that instance, `make dagster`'s, shows the run), else on an
ephemeral one."""

import os
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext

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
DOCS = "dbt_docs"
# the sources a run loads by default: every one loaded on its own (reconcile=True reads
# ChartMogul)
LOADED_SOURCES = LOADED_SOURCE_NAMES


class DagsterHomeError(RuntimeError):
    """DAGSTER_HOME names no usable folder: the message says what to do."""


def recording_instance() -> AbstractContextManager[DagsterInstance]:
    """DAGSTER_HOME's instance when it is set, else an ephemeral one. Its pools are enforced
    per run, not per step: the steps of an in-process run go one by one anyway, and a step's
    pool slot would outlive a run killed mid-step (nothing frees it without the daemon), so
    the next run would wait for it forever."""
    from dagster._core.instance.ref import InstanceRef

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return DagsterInstance.ephemeral()
    if not os.path.isabs(home) or not os.path.isdir(home):
        raise DagsterHomeError(
            f"DAGSTER_HOME={home} is not an existing absolute folder: create it, or unset "
            "DAGSTER_HOME to run without recording the run"
        )
    settings = InstanceRef.from_dir(home).settings
    concurrency: dict = dict(settings.get("concurrency") or {})  # type: ignore[call-overload]
    concurrency["pools"] = {**(concurrency.get("pools") or {}), "granularity": "run"}
    ref = InstanceRef.from_dir(home, overrides={"concurrency": concurrency})
    return DagsterInstance.from_ref(ref)


def _assets_by_name() -> dict:
    return {
        getattr(a, "node_def", None) and a.node_def.name: a
        for a in load().assets
        if hasattr(a, "node_def")
    }


def step_labels() -> dict[str, str]:
    """What each check-only step checks, for progress lines: its op name (Dagster names it
    `<asset key>_<check>`, e.g. dlt_app_db_accounts_contract_accounts) -> "check
    contract_accounts on raw_app.accounts" (the asset's table, else its key)."""
    location = load()
    tables = {}
    for asset in location.assets or []:
        for spec in getattr(asset, "specs", ()):
            table = spec.metadata.get("dagster/table_name")
            table = str(getattr(table, "value", table) or spec.key.to_user_string())
            # dbt's names start with the database: <schema>.<table> says it
            tables[spec.key] = ".".join(table.split(".")[-2:])
    labels = {}
    for checks in location.asset_checks or []:
        specs = list(checks.check_specs)
        names = ", ".join(sorted({spec.name for spec in specs}))
        on = ", ".join(
            sorted({tables.get(spec.asset_key, spec.asset_key.to_user_string()) for spec in specs})
        )
        labels[checks.node_def.name] = f"check {names} on {on}"
    return labels


def loads() -> dict:
    """Each source's name (core.sources) -> the multi-asset that loads it."""
    assets = _assets_by_name()
    return {source.name: assets[f"load_{source.dlt_source}"] for source in SOURCES}


def source_freshness_checks() -> list[AssetCheckKey]:
    from orchestration.defs.dbt.source_freshness import SPECS

    return [spec.key for spec in SPECS.values()]


def run_selection(
    sources: Iterable[str],
    *,
    reconcile: bool,
    publish: bool,
    models: bool = True,
    docs: bool = False,
    sync_chartmogul: bool = False,
) -> AssetSelection:
    """The loads of `sources`, every dbt model but the reconciliation's, and optionally the
    reconciliation (the ChartMogul load, its dbt models and the check `mrr_within_threshold`),
    the published copy and the dbt docs site beside it; each with its checks. sync_chartmogul:
    also send the export marts to ChartMogul first (`chartmogul_sync`, before the
    reconciliation reads ChartMogul back). models=False: the loads alone."""
    from alerts.reconciliation import ASSET_NAME, CHECK_NAME
    from orchestration.defs.chartmogul.assets import model_key, reconciliation_models

    assets = _assets_by_name()
    selection: AssetSelection = (
        AssetSelection.assets(assets["warehouse_models"]) if models else AssetSelection.assets()
    )
    if not models:
        reconcile = publish = docs = sync_chartmogul = False
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
    if sync_chartmogul:
        selection = selection | AssetSelection.assets(assets["chartmogul_sync"])
    if publish:
        selection = selection | AssetSelection.assets(PUBLISHED)
    # how long ago each raw table was loaded is the daily job's question, not a run's that
    # has just loaded them
    selection = selection - AssetSelection.checks(*source_freshness_checks())
    if docs:
        selection = selection | AssetSelection.assets(DOCS)
    return selection


def materialize_warehouse(
    resources: dict,
    *,
    sources: Iterable[str] = LOADED_SOURCES,
    reconcile: bool = False,
    publish: bool = True,
    docs: bool = False,
    models: bool = True,
    sync_chartmogul: bool = False,
    loggers: dict | None = None,
    instance: DagsterInstance | None = None,
    run_config: dict | None = None,
    tags: dict | None = None,
) -> ExecuteInProcessResult:
    """Run the selected part of the graph on `instance` (default: `recording_instance()`);
    never raises for a failed step (check `result.success` and the step and check events)."""
    job = define_asset_job(
        RUN_JOB,
        selection=run_selection(
            sources,
            reconcile=reconcile,
            publish=publish,
            models=models,
            docs=docs,
            sync_chartmogul=sync_chartmogul,
        ),
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
    owned = nullcontext(instance) if instance is not None else recording_instance()
    with owned as active:
        return defs.resolve_job_def(RUN_JOB).execute_in_process(
            instance=active, raise_on_error=False, run_config=run_config, tags=tags
        )
