"""Alerts: a failing ChartMogul reconciliation, a failed run, a failed data-quality check or a
stale asset, sent to the log (always) and, through apprise, to every destination configured
in the REVWH_ALERT_* variables (alerts/config.py): Slack, email, or any apprise URL.

    report = send_alert(reconciliation_alert(...), logger=context.log)
"""

from alerts.config import AlertConfigError, Destination, destination, destinations_from_env
from alerts.messages import (
    chartmogul_sync_parked_alert,
    check_failure_alert,
    freshness_failure_alert,
    reconciliation_alert,
    run_failure_alert,
    sensor_failure_alert,
)
from alerts.model import Alert, AlertKind, CustomerVariance, Severity
from alerts.redact import Redactor
from alerts.send import DeliveryReport, Outcome, send_alert

__all__ = [
    "Alert",
    "AlertConfigError",
    "AlertKind",
    "CustomerVariance",
    "DeliveryReport",
    "Destination",
    "Outcome",
    "Redactor",
    "Severity",
    "chartmogul_sync_parked_alert",
    "check_failure_alert",
    "destination",
    "destinations_from_env",
    "freshness_failure_alert",
    "reconciliation_alert",
    "run_failure_alert",
    "send_alert",
    "sensor_failure_alert",
]
