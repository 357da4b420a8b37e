"""The outbound side of ChartMogul: `chartmogul_sync` sends what the export marts hold
(models/marts/chartmogul_export/: customers, plans, invoices with their lines and
transactions, cancellations) to a ChartMogul custom data source, new and changed objects
only (serving/chartmogul_sync). It runs after those marts and before the reconciliation
reads ChartMogul back, on the hourly schedule (changes only) and in the daily job.

Health shows as the asset's metadata (counts per object type, requests per second,
duration, backlog of failed and parked objects). A ChartMogul that stops answering fails
the step with one line (the run-failure sensor alerts); objects newly parked after three
failed runs send an alert of their own."""

from dagster import (
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.defs.dbt.assets import warehouse_models
from orchestration.lib.resources import AlertsResource, ChartMogulResource, RunSettingsResource
from orchestration.lib.sources import WAREHOUSE_POOL

SYNC_GROUP = "reconciliation"
EXPORT_PREFIX = "chartmogul_export_"
EXPORT_KEYS = sorted(
    (key for key in warehouse_models.keys if key.path[-1].startswith(EXPORT_PREFIX)),
    key=lambda key: key.to_user_string(),
)


@asset(
    group_name=SYNC_GROUP,
    deps=EXPORT_KEYS,
    pool=WAREHOUSE_POOL,
    kinds={"python"},
    description="Send the export marts (marts.chartmogul_export_*) to ChartMogul's custom data "
    "source: new and changed objects only, batched, parallel within ChartMogul's limits, "
    "retried; the state and the log in schema chartmogul_sync.",
)
def chartmogul_sync(
    context: AssetExecutionContext,
    chartmogul: ChartMogulResource,
    run_settings: RunSettingsResource,
    alerts: AlertsResource,
) -> MaterializeResult:
    from alerts import chartmogul_sync_parked_alert
    from ingestion.chartmogul.client import ChartMogulError
    from serving.chartmogul_sync import ChartMogulSyncError, sync_chartmogul

    warehouse = run_settings.target()
    try:
        report = sync_chartmogul(
            warehouse,
            settings=chartmogul.sync_settings(),
            progress=context.log.info,
            run_id=context.run_id,
        )
    except (ChartMogulSyncError, ChartMogulError, ValueError) as exc:
        # one line (the run-failure sensor alerts); the next run finishes the work
        raise Failure(description=f"ChartMogul sync failed: {exc}") from exc
    for line in report.summary():
        context.log.info(line)
    metadata = {
        "enabled": MetadataValue.bool(report.skipped is None),
        **{
            name: MetadataValue.float(float(value))
            if isinstance(value, float)
            else MetadataValue.int(int(value))
            if isinstance(value, int) and not isinstance(value, bool)
            else MetadataValue.text(str(value))
            for name, value in report.metadata().items()
        },
    }
    if report.skipped:
        metadata["skipped"] = MetadataValue.text(report.skipped)
    if report.newly_parked:
        alert = chartmogul_sync_parked_alert(
            report.newly_parked,
            backlog_failed=report.backlog["failed"],
            backlog_parked=report.backlog["parked"],
            data_source=report.data_source_name,
        )
        delivery = alerts.send(alert, logger=context.log)
        metadata["alert_delivery"] = MetadataValue.text(delivery.summary())
    return MaterializeResult(metadata=metadata)
