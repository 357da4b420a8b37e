"""Load ChartMogul's account, MRR series and customers into `raw_chartmogul`, for the
reconciliation marts (dbt_project/models/marts/reconciliation/)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

from ..pipelines import pipeline, run_source
from ..report import LoadReport
from .client import ChartMogulClient
from .settings import ReconciliationSettings
from .source import REJECTS_TABLE, TABLES, chartmogul_source, read_chartmogul


def load_chartmogul(
    client: ChartMogulClient,
    as_of: date,
    settings: ReconciliationSettings | None = None,
    target: str | None = None,
    full_refresh: bool = False,
) -> LoadReport:
    """Read what the reconciliation of `as_of` compares (the window of `settings`) and load
    it. ChartMogul errors (ChartMogulError subclasses: no key, refused key, unavailable after
    the client's retries) are raised before anything is written."""
    started = time.perf_counter()
    settings = settings or ReconciliationSettings()
    report = LoadReport("chartmogul")
    requests_before = client.attempts
    read = read_chartmogul(client, settings.window(as_of), datetime.now(UTC))
    report.extract_seconds = time.perf_counter() - started
    report.requests = client.attempts - requests_before
    for reject in read.rejects:
        report.rejected[f"{reject['table_name']}: {reject['reasons']}"] += 1
    run_source(pipeline("chartmogul", target), chartmogul_source(read), full_refresh, report.notes)
    for table in TABLES:
        report.rows[table] = len(read.rows[table])
    report.rows[REJECTS_TABLE] = len(read.rejects)
    report.seconds = time.perf_counter() - started
    return report
