"""ChartMogul reconciliation, all in group `reconciliation` (the daily job; `revwh run
--reconcile`): the load of what ChartMogul says (raw_chartmogul, the dlt source of
ingestion/chartmogul/), the dbt models that compare it with our MRR (`tag:chartmogul`:
staging/chartmogul and marts.chartmogul_reconciliation(_customers)), and the check
`mrr_within_threshold` (severity ERROR) on the daily mart, which sends the alert naming the
customers that explain a gap.

The reconciliation's dbt models are their own dbt asset (one more `dbt build`, of those
models only), left out of `warehouse_models`: a ChartMogul that cannot be read then fails
the reconciliation alone, and every other mart still builds; a run that does not reconcile
does not touch them.

What is compared (days, month ends, threshold, customers kept) are dbt vars, defaults in
dbt_project.yml, set per run through `run_settings.vars_json` (see
ingestion/chartmogul/settings.py): the load reads the same values as dbt."""

from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset_check,
    multi_asset,
)
from dagster_dbt import dbt_assets
from dagster_dlt import build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData

from alerts.reconciliation import ASSET_NAME, CHECK_NAME
from core.sources import source_named
from ingestion.chartmogul.source import ChartMogulRead, chartmogul_source
from orchestration.defs.dbt.project import dbt_project
from orchestration.defs.dbt.translator import WarehouseTranslator
from orchestration.lib.dbt import WarehouseDbtCliResource, dbt_args, dbt_env
from orchestration.lib.resources import AlertsResource, ChartMogulResource, RunSettingsResource
from orchestration.lib.sources import WAREHOUSE_POOL, SourceTranslator, external_system_key

RECONCILIATION_GROUP = "reconciliation"
SOURCE = source_named("chartmogul")
LOAD_NAME = f"load_{SOURCE.dlt_source}"
# the reconciliation's dbt models (tagged in dbt_project.yml); warehouse_models excludes them
DBT_SELECT = "tag:chartmogul"


class ChartMogulTranslator(SourceTranslator):
    """The load's tables sit in the reconciliation group: the daily job (and whoever
    materializes the group) reads ChartMogul; the hourly loads never do."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        # ChartMogul is read back after the sync has sent it what changed (when both run)
        return spec.replace_attributes(
            group_name=RECONCILIATION_GROUP, deps=[*spec.deps, AssetKey("chartmogul_sync")]
        )


def _load_specs() -> list[AssetSpec]:
    # a function: a module-level list of specs would be loaded as definitions of its own
    return list(
        build_dlt_asset_specs(
            dlt_source=chartmogul_source(ChartMogulRead()),
            dlt_pipeline=None,  # type: ignore[arg-type]  # see orchestration/lib/sources.py
            dagster_dlt_translator=ChartMogulTranslator(SOURCE.system, SOURCE.dataset),
        )
    )


chartmogul_api = AssetSpec(
    key=external_system_key(SOURCE.system),
    description=f"{SOURCE.description} ({SOURCE.input_env})",
    group_name=RECONCILIATION_GROUP,
)


@multi_asset(
    name=LOAD_NAME,
    specs=_load_specs(),
    description="Read ChartMogul's account, MRR series (the compared days and month ends) and "
    "customers through its SDK (our timeouts and retries) into raw_chartmogul.",
    pool=WAREHOUSE_POOL,
    can_subset=False,
)
def chartmogul_load(
    context: AssetExecutionContext,
    chartmogul: ChartMogulResource,
    run_settings: RunSettingsResource,
) -> Iterator[MaterializeResult]:
    from ingestion.chartmogul.client import ChartMogulError
    from ingestion.chartmogul.load import load_chartmogul
    from ingestion.chartmogul.settings import ReconciliationSettings

    warehouse, settings = run_settings.target(), run_settings.settings(context)
    try:
        compared = ReconciliationSettings.from_vars(settings.dbt_vars)
        report = load_chartmogul(chartmogul.client(), settings.as_of, compared, warehouse.target)
    except ValueError as exc:  # a reconciliation var of the wrong form
        raise Failure(description=f"ChartMogul reconciliation could not run: {exc}") from exc
    except ChartMogulError as exc:
        # the run fails with this message; the run-failure sensor sends the alert
        raise Failure(description=f"ChartMogul reconciliation could not run: {exc}") from exc
    context.log.info(report.summary())
    for reason, count in report.rejected.most_common():
        context.log.warning(f"chartmogul: {count:,} objects quarantined: {reason}")
    window = compared.window(settings.as_of)
    for key in sorted(chartmogul_load.keys, key=lambda k: k.to_user_string()):
        table = key.to_user_string().removeprefix(f"dlt_{SOURCE.dlt_source}_")
        yield MaterializeResult(
            asset_key=key,
            metadata={
                "rows_loaded": MetadataValue.int(int(report.rows.get(table, 0))),
                "as_of": MetadataValue.text(settings.as_of.isoformat()),
                "first_day": MetadataValue.text(window.first_day.isoformat()),
                "month_ends": MetadataValue.int(len(window.month_ends)),
            },
        )


class ReconciliationTranslator(WarehouseTranslator):
    """The project's keys and checks; every model in group `reconciliation`."""

    def get_group_name(self, dbt_resource_props) -> str | None:
        if dbt_resource_props["resource_type"] == "model":
            return RECONCILIATION_GROUP
        return super().get_group_name(dbt_resource_props)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select=DBT_SELECT,
    exclude="test_type:unit",
    dagster_dbt_translator=ReconciliationTranslator(),
    pool=WAREHOUSE_POOL,
    name="reconciliation_models",
)
def reconciliation_models(
    context: AssetExecutionContext,
    dbt: WarehouseDbtCliResource,
    run_settings: RunSettingsResource,
):
    """`dbt build` of the ChartMogul staging models and the reconciliation marts (with their
    tests), after the ChartMogul load and the MRR marts they compare with."""
    warehouse, settings = run_settings.target(), run_settings.settings(context)
    args = dbt_args("build", settings, threads=run_settings.threads)
    yield from dbt.cli(
        args,
        env=dbt_env(warehouse, settings),
        context=context,
        target_path=warehouse.artifacts_dir / "target",
    ).stream()


def model_key(name: str) -> AssetKey:
    """The asset key of a reconciliation model."""
    matches = [key for key in reconciliation_models.keys if key.path[-1] == name]
    if len(matches) != 1:
        raise KeyError(f"no single reconciliation model named {name!r} among the dbt assets")
    return matches[0]


def reconciliation_key() -> AssetKey:
    return model_key(ASSET_NAME)


@asset_check(
    asset=reconciliation_key(),
    name=CHECK_NAME,
    description="Every day compared in marts.chartmogul_reconciliation for the run's as-of date "
    "has status ok: our MRR within the threshold (var reconciliation_threshold_percent, "
    "default 1 %) of ChartMogul's, on both sides. Sends its own alert when it fails.",
    additional_deps=[model_key("chartmogul_reconciliation_customers")],
    # reads the DuckDB file: never beside a step that writes it
    pool=WAREHOUSE_POOL,
)
def mrr_within_threshold(
    context: AssetCheckExecutionContext,
    run_settings: RunSettingsResource,
    alerts: AlertsResource,
) -> AssetCheckResult:
    from alerts.reconciliation import ReconciliationUnavailable, alert_for, read_result

    as_of = run_settings.settings(context.op_execution_context).as_of
    try:
        result = read_result(run_settings.target(), as_of)
    except ReconciliationUnavailable as exc:
        # nothing judged: the check-failure sensor alerts (alert_sent false)
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=f"ChartMogul reconciliation could not run: {exc}",
            metadata={
                "as_of": MetadataValue.text(as_of.isoformat()),
                "alert_sent": MetadataValue.bool(False),
            },
        )
    context.log.info(result.message())
    worst = result.worst_day
    top = [
        {
            "customer_id": c.customer_id,
            "name": c.customer_name,
            "our_mrr": str(c.our_mrr),
            "chartmogul_mrr": str(c.chartmogul_mrr),
            "variance": str(c.variance),
        }
        for c in result.top_customers
    ]
    metadata = {
        "as_of": MetadataValue.text(as_of.isoformat()),
        "currency": MetadataValue.text(result.currency),
        "days_compared": MetadataValue.int(len(result.rows)),
        "max_abs_variance_percent": MetadataValue.text(str(result.max_abs_variance_percent)),
        "threshold_percent": MetadataValue.text(str(result.threshold_percent)),
        "worst_day": MetadataValue.text(worst.metric_date.isoformat() if worst else ""),
        "top_customers": MetadataValue.json(top),
    }
    alert = alert_for(result)
    if alert is not None:
        report = alerts.send(alert, logger=context.log)
        metadata["alert_delivery"] = MetadataValue.text(report.summary())
    return AssetCheckResult(
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR,
        description=result.message(),
        # the check-failure sensor leaves this one to the alert above, which names customers
        metadata={**metadata, "alert_sent": MetadataValue.bool(alert is not None)},
    )
