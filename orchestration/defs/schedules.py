"""Jobs and their schedules. Times are in REVWH_SCHEDULE_TIMEZONE (default UTC); every job
writes the warehouse, and the run queue lets one such run go at a time (dagster.yaml).

The schedules start stopped unless REVWH_SCHEDULES=running (the production compose file sets
it): `dagster dev` on a laptop never starts loading on its own. Switch them on in the UI
(Automation) or with `dagster schedule start --start-all`. REVWH_<HOURLY|DAILY|WEEKLY>_CRON
replace a job's cron. Each job's dbt models are the dbt selector of its name
(dbt_project/selectors.yml), the ones `dbt build --selector <name>` builds."""

import os

from dagster import (
    AssetSelection,
    DagsterInvalidDefinitionError,
    DefaultScheduleStatus,
    ScheduleDefinition,
    define_asset_job,
)
from dagster_dbt import build_dbt_asset_selection

from core.dbt_scope import HOURLY_SELECTOR
from orchestration.defs.app_db.assets import app_db_load
from orchestration.defs.chartmogul.sync import chartmogul_sync
from orchestration.defs.cost_sheets.assets import cost_sheets_load
from orchestration.defs.dbt.assets import DBT_SCOPE_TAG, warehouse_models
from orchestration.defs.fx.assets import fx_load
from orchestration.defs.serving.assets import dbt_docs, published_marts
from orchestration.defs.stripe.assets import stripe_load

# run tag limited to one concurrent run by the run queue (see dagster.yaml)
WRITES_WAREHOUSE = {"revwh/writes_warehouse": "true"}

DAILY_SELECTOR = "daily"
WEEKLY_SELECTOR = "weekly"


def dbt_selection(selector: str) -> AssetSelection:
    """The dbt assets (models, their tests as checks) of a selector of selectors.yml."""
    return build_dbt_asset_selection([warehouse_models], dbt_selector=selector)


SCHEDULES_ENV = "REVWH_SCHEDULES"


def timezone() -> str:
    return os.environ.get("REVWH_SCHEDULE_TIMEZONE", "UTC")


def default_status() -> DefaultScheduleStatus:
    """REVWH_SCHEDULES: `running` or `stopped` (the default)."""
    value = os.environ.get(SCHEDULES_ENV, "stopped").strip().lower()
    if value not in ("running", "stopped"):
        raise ValueError(f"{SCHEDULES_ENV} must be 'running' or 'stopped', not {value!r}")
    return DefaultScheduleStatus.RUNNING if value == "running" else DefaultScheduleStatus.STOPPED


def schedule(job, variable: str, default_cron: str) -> ScheduleDefinition:
    """The job's schedule on the cron in environment variable `variable`, else
    `default_cron`."""
    try:
        return ScheduleDefinition(
            job=job,
            cron_schedule=os.environ.get(variable, default_cron).strip(),
            execution_timezone=timezone(),
            default_status=default_status(),
        )
    except DagsterInvalidDefinitionError as error:
        # Dagster's message says which, the cron or the time zone; name where each comes from
        raise ValueError(f"{variable} / REVWH_SCHEDULE_TIMEZONE: {error}") from None


hourly_job = define_asset_job(
    "hourly_refresh",
    # the raw tables' contract validations run daily, not each hour
    selection=AssetSelection.assets(stripe_load, app_db_load).without_checks()
    | dbt_selection(HOURLY_SELECTOR)
    | AssetSelection.assets(chartmogul_sync, published_marts),
    description="Incremental Stripe and app database loads, then the operational models that "
    "new rows reach, the ChartMogul sync of what changed, and the published copy.",
    tags={**WRITES_WAREHOUSE, DBT_SCOPE_TAG: "changed"},
)

daily_job = define_asset_job(
    "daily_build",
    selection=AssetSelection.assets(fx_load, cost_sheets_load)
    # the contract validations of the hourly loads' raw tables
    | AssetSelection.checks_for_assets(stripe_load, app_db_load)
    | dbt_selection(DAILY_SELECTOR)
    | AssetSelection.groups("reconciliation", "reports")
    | AssetSelection.assets(dbt_docs),
    description="Cost sheets and FX, the contract checks of every raw table, the full dbt "
    "build with every test (cohorts, CLV, KPIs, the KPI snapshot), the ChartMogul "
    "reconciliation, the published copy and the dbt docs site beside it.",
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
    schedule(hourly_job, "REVWH_HOURLY_CRON", HOURLY_CRON),
    schedule(daily_job, "REVWH_DAILY_CRON", DAILY_CRON),
    schedule(weekly_job, "REVWH_WEEKLY_CRON", WEEKLY_CRON),
]
