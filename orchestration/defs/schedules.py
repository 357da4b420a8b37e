"""Jobs and their schedules. Times are in REVWH_SCHEDULE_TIMEZONE (default UTC); every job
writes the warehouse, and the run queue lets one such run go at a time (dagster.yaml). Each
job's dbt models are the dbt selector of its name (dbt_project/selectors.yml), the ones
`dbt build --selector <name>` builds."""

import os

from dagster import AssetSelection, ScheduleDefinition, define_asset_job
from dagster_dbt import build_dbt_asset_selection

from core.dbt_scope import HOURLY_SELECTOR
from orchestration.defs.app_db.assets import app_db_load
from orchestration.defs.cost_sheets.assets import cost_sheets_load
from orchestration.defs.dbt.assets import DBT_SCOPE_TAG, warehouse_models
from orchestration.defs.fx.assets import fx_load
from orchestration.defs.serving.assets import published_marts
from orchestration.defs.stripe.assets import stripe_load

# run tag limited to one concurrent run by the run queue (see dagster.yaml)
WRITES_WAREHOUSE = {"revwh/writes_warehouse": "true"}

DAILY_SELECTOR = "daily"
WEEKLY_SELECTOR = "weekly"


def dbt_selection(selector: str) -> AssetSelection:
    """The dbt assets (models, their tests as checks) of a selector of selectors.yml."""
    return build_dbt_asset_selection([warehouse_models], dbt_selector=selector)


def timezone() -> str:
    return os.environ.get("REVWH_SCHEDULE_TIMEZONE", "UTC")


hourly_job = define_asset_job(
    "hourly_refresh",
    # the raw tables' contract validations run daily, not each hour
    selection=AssetSelection.assets(stripe_load, app_db_load).without_checks()
    | dbt_selection(HOURLY_SELECTOR)
    | AssetSelection.assets(published_marts),
    description="Incremental Stripe and app database loads, then the operational models that "
    "new rows reach, and the published copy.",
    tags={**WRITES_WAREHOUSE, DBT_SCOPE_TAG: "changed"},
)

daily_job = define_asset_job(
    "daily_build",
    selection=AssetSelection.assets(fx_load, cost_sheets_load)
    # the contract validations of the hourly loads' raw tables
    | AssetSelection.checks_for_assets(stripe_load, app_db_load)
    | dbt_selection(DAILY_SELECTOR)
    | AssetSelection.groups("reconciliation", "reports"),
    description="Cost sheets and FX, the contract checks of every raw table, the full dbt "
    "build with every test (cohorts, CLV, KPIs, the KPI snapshot), the ChartMogul "
    "reconciliation and the published copy.",
    tags=WRITES_WAREHOUSE,
)

weekly_job = define_asset_job(
    "weekly_health",
    selection=dbt_selection(WEEKLY_SELECTOR) | AssetSelection.assets(published_marts),
    description="Health scores, churn-risk segments and the cohort and lifetime-value trends.",
    tags=WRITES_WAREHOUSE,
)

HOURLY_CRON = "15 * * * *"
DAILY_CRON = "30 5 * * *"
WEEKLY_CRON = "0 6 * * 1"

schedules = [
    ScheduleDefinition(job=hourly_job, cron_schedule=HOURLY_CRON, execution_timezone=timezone()),
    ScheduleDefinition(job=daily_job, cron_schedule=DAILY_CRON, execution_timezone=timezone()),
    ScheduleDefinition(job=weekly_job, cron_schedule=WEEKLY_CRON, execution_timezone=timezone()),
]
