"""`revwh reconcile` outside Dagster: load ChartMogul (raw_chartmogul), build the
reconciliation marts with dbt (`tag:chartmogul`: the ChartMogul staging models and
marts.chartmogul_reconciliation(_customers)) and read the as-of date's result back. The
warehouse's other marts must exist (revwh run); `revwh run --reconcile` does the same as
part of the whole graph."""

from __future__ import annotations

from contextlib import redirect_stdout
from datetime import date
from decimal import Decimal

from alerts.reconciliation import ReconciliationResult, read_result
from core.settings import RunSettings
from core.warehouse import Warehouse
from ingestion.chartmogul.client import ChartMogulClient, ChartMogulError
from ingestion.chartmogul.load import load_chartmogul
from ingestion.chartmogul.settings import ReconciliationSettings

DBT_SELECT = "tag:chartmogul"


class ReconciliationBuildError(ChartMogulError):
    """The reconciliation marts did not build."""


def reconcile(
    warehouse: Warehouse | str,
    client: ChartMogulClient,
    as_of: date,
    *,
    days: int = 30,
    threshold_percent: Decimal | str | float = Decimal("1.0"),
    top: int = 10,
    month_ends: int = 12,
    dbt_vars: dict | None = None,
) -> ReconciliationResult:
    """Compare our MRR with ChartMogul's for `as_of` (replacing an earlier check of the same
    date in the marts) and return the result. Raises ChartMogulError subclasses when
    ChartMogul cannot be read or the marts do not build, and
    alerts.reconciliation.ReconciliationUnavailable (CurrencyMismatch) when they cannot
    be compared."""
    from orchestration.lib.dbt import run_dbt

    target = Warehouse.of(warehouse)
    if not target.is_postgres and not target.path.is_file():
        raise FileNotFoundError(f"no warehouse at {target}: build it first (revwh run)")
    settings = ReconciliationSettings(
        days=days,
        month_ends=month_ends,
        threshold_percent=Decimal(str(threshold_percent)),
        top_customers=top,
    )
    load_chartmogul(client, as_of, settings, target.target)
    # the arguments are the settings: the loader read for them, dbt compares with them
    given = {k: v for k, v in (dbt_vars or {}).items() if not k.startswith("reconciliation_")}
    run = RunSettings.of(as_of, {**given, **_changed_vars(settings)})
    logs = target.artifacts_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # dagster-dbt echoes dbt's events to stdout: to a file beside dbt's own log
    with (logs / "dbt_reconcile_events.log").open("w") as events, redirect_stdout(events):
        build = run_dbt(target, run, "build", select=DBT_SELECT)
    if not build.success:
        failing = ", ".join(f"{f.resource_type} {f.name}" for f in build.failures)
        raise ReconciliationBuildError(
            f"the reconciliation marts did not build: {failing or build.error or 'see dbt log'}"
        )
    return read_result(target, as_of)


def _changed_vars(settings: ReconciliationSettings) -> dict:
    """The settings that differ from the project's defaults, as dbt vars: a var that changes
    makes dbt parse the whole project again, so the defaults are not passed."""
    defaults = ReconciliationSettings.from_vars().dbt_vars()
    return {k: v for k, v in settings.dbt_vars().items() if str(defaults.get(k)) != str(v)}
