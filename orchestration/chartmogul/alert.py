"""The alert a failed reconciliation sends: the latest failing day's numbers, the variance
and the customers that explain the gap (or, when a day has no figure, what is missing)."""

from __future__ import annotations

from orchestration.alerts import Alert, check_failure_alert, reconciliation_alert

from .reconcile import ReconciliationResult

CHECK_NAME = "mrr_within_threshold"
ASSET_NAME = "chartmogul_mrr_reconciliation"


def alert_for(result: ReconciliationResult) -> Alert | None:
    """None when the reconciliation passed."""
    day = result.alert_day
    if result.passed or day is None:
        return None
    if day.status == "missing":
        return check_failure_alert(CHECK_NAME, ASSET_NAME, result.message())
    return reconciliation_alert(
        result.as_of,
        day.metric_date,
        day.our_mrr,
        day.chartmogul_mrr,
        currency=result.currency,
        threshold_percent=result.threshold_percent,
        top_customers=result.top_customers,
        days_over_threshold=sum(1 for r in result.rows if r.status != "ok"),
    )
