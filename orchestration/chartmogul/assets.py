"""ChartMogul reconciliation: our daily MRR against ChartMogul's for the same days, written to
marts.chartmogul_reconciliation(_customers); a variance over the threshold fails the check
(severity ERROR) and sends an alert naming the customers that explain the gap."""

from datetime import UTC, date, datetime
from decimal import Decimal

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from orchestration.chartmogul.alert import ASSET_NAME, CHECK_NAME
from orchestration.dbt.assets import model_key
from orchestration.ingestion.factory import WAREHOUSE_POOL
from orchestration.resources import AlertsResource, ChartMogulResource, DbtSettingsResource

RECONCILIATION_GROUP = "reconciliation"


class ReconciliationConfig(Config):
    days: int = Field(default=30, description="Days back from the as-of date to compare.")
    month_ends: int = Field(default=12, description="Past month ends compared as well.")
    threshold_percent: str = Field(
        default="1.0", description="Largest absolute variance, in percent, that still passes."
    )
    top_customers: int = Field(default=10, description="Customers kept to explain a gap.")


def reconciliation_as_of(settings: DbtSettingsResource) -> date:
    """The build's as-of date (dbt var), else today in UTC: the marts' day boundaries."""
    return date.fromisoformat(settings.as_of) if settings.as_of else datetime.now(UTC).date()


@asset(
    group_name=RECONCILIATION_GROUP,
    deps=[model_key("mrr_summary_daily"), model_key("dim_customers")],
    pool=WAREHOUSE_POOL,
    kinds={"chartmogul", "duckdb"},
    check_specs=[
        AssetCheckSpec(
            CHECK_NAME,
            asset=ASSET_NAME,
            description="Every compared day's MRR is within the threshold of ChartMogul's.",
        )
    ],
    metadata={"dagster/table_name": "marts.chartmogul_reconciliation"},
)
def chartmogul_mrr_reconciliation(
    context: AssetExecutionContext,
    config: ReconciliationConfig,
    chartmogul: ChartMogulResource,
    dbt_settings: DbtSettingsResource,
    alerts: AlertsResource,
):
    """Reads ChartMogul's MRR for the last N days and month ends through its SDK and compares
    it with marts.mrr_summary_daily in the same currency and day boundaries; per customer,
    ChartMogul's customer list (matched by external id) against marts.dim_customers."""
    from ingestion.warehouse import is_postgres, warehouse_target
    from orchestration.chartmogul.alert import alert_for
    from orchestration.chartmogul.client import ChartMogulError
    from orchestration.chartmogul.reconcile import reconcile

    warehouse = warehouse_target(dbt_settings.warehouse)
    if is_postgres(warehouse):
        raise Failure(
            "the ChartMogul reconciliation reads a DuckDB warehouse; PostgreSQL is not supported yet"
        )
    as_of = reconciliation_as_of(dbt_settings)
    threshold = Decimal(config.threshold_percent)
    try:
        result = reconcile(
            warehouse,
            chartmogul.client(),
            as_of,
            days=config.days,
            threshold_percent=threshold,
            top=config.top_customers,
            month_ends=config.month_ends,
        )
    except ChartMogulError as exc:
        # the run fails with this message; the run-failure sensor sends the alert
        raise Failure(description=f"ChartMogul reconciliation could not run: {exc}") from exc

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
        "threshold_percent": MetadataValue.text(str(threshold)),
        "worst_day": MetadataValue.text(worst.metric_date.isoformat() if worst else ""),
        "top_customers": MetadataValue.json(top),
    }
    yield MaterializeResult(metadata=metadata)

    alert = alert_for(result)
    if alert is not None:
        report = alerts.send(alert, logger=context.log)
        metadata["alert_delivery"] = MetadataValue.text(report.summary())
    yield AssetCheckResult(
        check_name=CHECK_NAME,
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR,
        description=result.message(),
        # the check-failure sensor leaves this one to the alert above, which names customers
        metadata={**metadata, "alert_sent": MetadataValue.bool(alert is not None)},
    )
