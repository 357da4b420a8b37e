"""The resources every run gets: where the warehouse and the inputs are, the run's settings,
dbt, ChartMogul and the alert sinks. Secrets are `EnvVar`s, resolved when a run starts, so
the definitions load on a machine without any secret (`dg check defs`)."""

import os
import sys
from pathlib import Path

import dagster as dg

from orchestration.lib.dbt import WarehouseDbtCliResource
from orchestration.lib.resources import (
    AlertsResource,
    ChartMogulResource,
    IngestionResource,
    RunSettingsResource,
)


def secret(name: str) -> dg.EnvVar | None:
    """The secret in environment variable `name`, as a reference Dagster resolves when a run
    starts (its value never reaches the definitions or the UI); None when it is not set, so
    the loader can look in dlt's secrets file or skip the source, saying why."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def dbt_resource() -> WarehouseDbtCliResource:
    from orchestration.defs.dbt.project import dbt_project

    # the dbt installed beside this interpreter, whatever PATH says
    return WarehouseDbtCliResource(
        project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")
    )


def run_resources(
    ingestion: IngestionResource | None = None,
    run_settings: RunSettingsResource | None = None,
    chartmogul: ChartMogulResource | None = None,
    alerts: AlertsResource | None = None,
) -> dict:
    """The resources of a run; by default every setting and secret comes from the
    environment when the run starts."""
    return {
        "ingestion": ingestion or IngestionResource(stripe_api_key=secret("STRIPE_API_KEY")),
        "dbt": dbt_resource(),
        "run_settings": run_settings or RunSettingsResource(),
        "chartmogul": chartmogul or ChartMogulResource(api_key=secret("CHARTMOGUL_API_KEY")),
        "alerts": alerts or AlertsResource(),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=run_resources())
