"""The code location: every load, model, check, schedule and sensor of the warehouse."""

import sys
from pathlib import Path

from dagster import Definitions, in_process_executor
from dagster_dbt import DbtCliResource

from orchestration.app_db.assets import app_database, app_db_load
from orchestration.chartmogul.assets import chartmogul_mrr_reconciliation
from orchestration.checks.contracts import contract_checks
from orchestration.checks.freshness import freshness_checks, freshness_sensor
from orchestration.cost_sheets.assets import cost_sheet_files, cost_sheets_load
from orchestration.dbt.assets import warehouse_models
from orchestration.dbt.project import dbt_project
from orchestration.fx.assets import fx_load, fx_rate_file
from orchestration.reports.assets import published_marts
from orchestration.resources import (
    AlertsResource,
    ChartMogulResource,
    DbtSettingsResource,
    IngestionResource,
)
from orchestration.schedules import daily_job, hourly_job, schedules, weekly_job
from orchestration.sensors import alert_on_check_failure, alert_on_run_failure
from orchestration.stripe.assets import stripe_api, stripe_load

ASSETS = [
    stripe_api,
    app_database,
    fx_rate_file,
    cost_sheet_files,
    stripe_load,
    app_db_load,
    fx_load,
    cost_sheets_load,
    warehouse_models,
    chartmogul_mrr_reconciliation,
    published_marts,
]
CHECKS = [*freshness_checks, *contract_checks()]


def resources(
    ingestion: IngestionResource | None = None,
    dbt_settings: DbtSettingsResource | None = None,
    chartmogul: ChartMogulResource | None = None,
    alerts: AlertsResource | None = None,
) -> dict:
    """The resources of a run; by default every setting comes from the environment."""
    return {
        "ingestion": ingestion or IngestionResource(),
        # dagster-dbt looks for `dbt` on PATH; the one installed beside this interpreter is ours
        "dbt": DbtCliResource(
            project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")
        ),
        "dbt_settings": dbt_settings or DbtSettingsResource(),
        "chartmogul": chartmogul or ChartMogulResource(),
        "alerts": alerts or AlertsResource(),
    }


defs = Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=[hourly_job, daily_job, weekly_job],
    schedules=schedules,
    sensors=[freshness_sensor, alert_on_run_failure, alert_on_check_failure],
    resources=resources(),
    # DuckDB takes one writer per file: a run's steps go one after another in one process
    # (which also spares a process start-up and the dbt manifest load per step)
    executor=in_process_executor,
)
