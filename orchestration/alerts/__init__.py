"""Alerts: a failing ChartMogul reconciliation, a failed run or a failed data-quality check,
sent to the log (always), a Slack incoming webhook and email (REVWH_ALERT_* variables).

    report = send_alert(reconciliation_alert(...), logger=context.log)
"""

from orchestration.alerts.config import AlertConfigError, sinks_from_env
from orchestration.alerts.messages import (
    check_failure_alert,
    reconciliation_alert,
    run_failure_alert,
)
from orchestration.alerts.model import Alert, AlertKind, CustomerVariance, Severity
from orchestration.alerts.redact import Redactor
from orchestration.alerts.send import DeliveryReport, SinkOutcome, send_alert
from orchestration.alerts.sinks import (
    DeliveryError,
    EmailSink,
    LogSink,
    Sink,
    SlackWebhookSink,
)

__all__ = [
    "Alert",
    "AlertConfigError",
    "AlertKind",
    "CustomerVariance",
    "DeliveryError",
    "DeliveryReport",
    "EmailSink",
    "LogSink",
    "Redactor",
    "Severity",
    "Sink",
    "SinkOutcome",
    "SlackWebhookSink",
    "check_failure_alert",
    "reconciliation_alert",
    "run_failure_alert",
    "send_alert",
    "sinks_from_env",
]
