"""The alerts the pipeline sends: a ChartMogul reconciliation over its threshold, a failed
Dagster run, a failed data-quality check, an asset gone stale (freshness FAIL) and objects
the ChartMogul sync parked after failing three runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from alerts.model import (
    Alert,
    AlertKind,
    CustomerVariance,
    Severity,
    clip,
    format_amount,
)

ERROR_TEXT_MAX = 2500
METADATA_VALUE_MAX = 500


def variance_percent(ours: Decimal, theirs: Decimal) -> Decimal | None:
    """(ours - theirs) / theirs in percent, two decimals; None when ChartMogul has zero."""
    if theirs == 0:
        return None
    return ((ours - theirs) / theirs * 100).quantize(Decimal("0.01"))


def format_percent(value: Decimal | None, *, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+f}%" if signed else f"{value:f}%"


def reconciliation_alert(
    as_of: date,
    metric_date: date,
    our_mrr: Decimal,
    chartmogul_mrr: Decimal,
    *,
    currency: str,
    threshold_percent: Decimal,
    top_customers: Iterable[Any] = (),
    days_over_threshold: int = 1,
) -> Alert:
    """Our MRR differs from ChartMogul's by more than the threshold on `metric_date` (the
    worst day compared in the reconciliation run as of `as_of`)."""
    ours, theirs = Decimal(our_mrr), Decimal(chartmogul_mrr)
    threshold = Decimal(threshold_percent)
    variance = ours - theirs
    percent = variance_percent(ours, theirs)
    day = metric_date.isoformat()
    summary = (
        f"On {day} our MRR of {format_amount(ours, currency)} differs from ChartMogul's "
        f"{format_amount(theirs, currency)} by {format_amount(variance, currency, signed=True)} "
        f"({format_percent(percent, signed=True)}), over the {format_percent(threshold)} "
        f"threshold."
    )
    if days_over_threshold > 1:
        summary += f" {days_over_threshold} days compared are over the threshold."
    customers = tuple(CustomerVariance.coerce(c) for c in top_customers)
    if customers:
        summary += f" The {len(customers)} customer(s) with the largest variance are listed."
    return Alert(
        kind=AlertKind.RECONCILIATION,
        severity=Severity.ERROR,
        title=f"MRR differs from ChartMogul by {format_percent(percent, signed=True)} on {day}",
        summary=summary,
        fields=(
            ("Date", day),
            ("As of", as_of.isoformat()),
            ("Our MRR", format_amount(ours, currency)),
            ("ChartMogul MRR", format_amount(theirs, currency)),
            ("Variance", format_amount(variance, currency, signed=True)),
            ("Variance %", format_percent(percent, signed=True)),
            ("Threshold", format_percent(threshold)),
            ("Days over threshold", str(days_over_threshold)),
        ),
        top_customers=customers,
        as_of=as_of,
        currency=currency,
    )


def run_failure_alert(
    job_name: str,
    run_id: str,
    error: str,
    *,
    failed_steps: Iterable[str] = (),
    url: str | None = None,
) -> Alert:
    steps = [str(step) for step in failed_steps]
    error_text = clip((error or "").strip() or "the run failed", ERROR_TEXT_MAX)
    fields: list[tuple[str, str]] = [("Job", job_name), ("Run", run_id)]
    if steps:
        fields.append(("Failed steps", ", ".join(steps)))
    if url:
        fields.append(("Run URL", url))
    return Alert(
        kind=AlertKind.RUN_FAILURE,
        severity=Severity.ERROR,
        title=f"Run failed: {job_name}",
        summary=f"Run {run_id} of job {job_name} failed: {error_text}",
        fields=tuple(fields),
    )


def check_failure_alert(
    check_name: str,
    asset_key: str,
    description: str,
    *,
    metadata: Mapping[str, Any] | None = None,
    severity: Severity = Severity.ERROR,
) -> Alert:
    fields: list[tuple[str, str]] = [
        ("Asset", asset_key),
        ("Check", check_name),
        ("Severity", Severity(severity).value),
    ]
    for key, value in (metadata or {}).items():
        fields.append((str(key), clip(str(value), METADATA_VALUE_MAX)))
    return Alert(
        kind=AlertKind.CHECK_FAILURE,
        severity=Severity(severity),
        title=f"Check failed: {asset_key} {check_name}",
        summary=f"{check_name} on {asset_key} failed: {description or 'the check failed'}",
        fields=tuple(fields),
    )


def format_duration(delta: timedelta) -> str:
    """`2h 30m`, `1d 4h`, `45m`: whole minutes."""
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return " ".join(parts) or "0m"


def freshness_failure_alert(
    asset_key: str,
    *,
    failed_at: datetime,
    previous_state: str | None = None,
    fail_window: timedelta | None = None,
    last_updated: datetime | None = None,
) -> Alert:
    """`asset_key` failed its freshness policy at `failed_at`: not updated within
    `fail_window` (last update `last_updated`, None when it never was)."""
    if fail_window is not None:
        summary = f"{asset_key} has not been updated for more than {format_duration(fail_window)}"
    else:
        summary = f"{asset_key} is failing its freshness policy"
    if last_updated is not None:
        age = format_duration(failed_at - last_updated)
        summary += f": last updated {last_updated.isoformat(timespec='seconds')}, {age} before."
    else:
        summary += ": it has never been updated."
    fields: list[tuple[str, str]] = [
        ("Asset", asset_key),
        ("Freshness", "FAIL" + (f" (was {previous_state})" if previous_state else "")),
        ("Since", failed_at.isoformat(timespec="seconds")),
    ]
    if fail_window is not None:
        fields.append(("Fail window", format_duration(fail_window)))
    fields.append(
        ("Last updated", last_updated.isoformat(timespec="seconds") if last_updated else "never")
    )
    return Alert(
        kind=AlertKind.FRESHNESS,
        severity=Severity.ERROR,
        title=f"Stale: {asset_key}",
        summary=summary,
        fields=tuple(fields),
    )


def sensor_failure_alert(sensor_name: str, failed_ticks: int, error: str) -> Alert:
    """A sensor (or schedule) whose last `failed_ticks` evaluations all failed: whatever it
    watches goes unwatched, and Dagster shows it only on its Automation page."""
    error_text = clip((error or "").strip() or "the evaluation failed", ERROR_TEXT_MAX)
    return Alert(
        kind=AlertKind.SENSOR_FAILURE,
        severity=Severity.ERROR,
        title=f"Sensor failing: {sensor_name}",
        summary=(
            f"The last {failed_ticks} evaluations of {sensor_name} failed, so what it watches "
            f"is not being watched: {error_text}"
        ),
        fields=(("Sensor", sensor_name), ("Failed evaluations in a row", str(failed_ticks))),
    )


PARKED_SHOWN = 20


def chartmogul_sync_parked_alert(
    parked: Iterable[tuple[str, str, str]],
    *,
    backlog_failed: int,
    backlog_parked: int,
    data_source: str,
) -> Alert:
    """Objects (object type, external id, last error) the ChartMogul sync gave up on after
    three failed runs: they are not sent again until their data changes or someone asks
    (`revwh chartmogul sync --retry-parked`)."""
    parked = list(parked)
    fields: list[tuple[str, str]] = [
        ("Data source", data_source),
        ("Newly parked", str(len(parked))),
        ("Parked in all", str(backlog_parked)),
        ("Failing, still retried", str(backlog_failed)),
    ]
    for object_type, external_id, error in parked[:PARKED_SHOWN]:
        fields.append((f"{object_type} {external_id}", clip(error, METADATA_VALUE_MAX)))
    if len(parked) > PARKED_SHOWN:
        fields.append(("...", f"{len(parked) - PARKED_SHOWN} more in chartmogul_sync.object_state"))
    return Alert(
        kind=AlertKind.CHARTMOGUL_SYNC,
        severity=Severity.ERROR,
        title=f"ChartMogul sync parked {len(parked)} objects",
        summary=(
            f"{len(parked)} objects failed to reach ChartMogul in three runs and are parked: "
            "fix the data or ChartMogul's refusal, then run `revwh chartmogul sync "
            "--retry-parked`."
        ),
        fields=tuple(fields),
    )
