"""Send one alert to the log (always) and to every destination through apprise, each
independently: one failing never hides the others. Failures are logged and reported per
destination, secrets masked."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from alerts.config import (
    AlertConfigError,
    Destination,
    apprise_asset,
    destination,
    destinations_from_env,
    secrets_of_env,
)
from alerts.model import Alert, CustomerVariance, Severity, clip
from alerts.redact import Redactor, redacting_loggers, secrets_from_env

ALERT_LOGGER = "alerts"
# Loggers that may print a request URL or a payload while apprise sends (records of a child
# logger do not pass its parent's filters: urllib3 logs as urllib3.connectionpool).
LIBRARY_LOGGERS = ("apprise", "urllib3", "urllib3.connectionpool", "requests", "smtplib")
# apprise's NotifyType values: the colour and icon a service shows
NOTIFY_TYPE = {Severity.ERROR: "failure", Severity.WARNING: "warning"}
# Slack Block Kit limits: a header's plain text, a section's text
SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3000
REASON_MAX = 300


@dataclass(frozen=True)
class Outcome:
    destination: str
    delivered: bool
    reason: str | None = None
    attempts: int = 1
    seconds: float = 0.0


@dataclass
class DeliveryReport:
    alert_title: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def delivered(self) -> list[str]:
        return [o.destination for o in self.outcomes if o.delivered]

    @property
    def failed(self) -> list[tuple[str, str]]:
        """(destination, reason) for every destination that could not deliver."""
        return [(o.destination, o.reason or "failed") for o in self.outcomes if not o.delivered]

    @property
    def ok(self) -> bool:
        return all(o.delivered for o in self.outcomes)

    def summary(self) -> str:
        parts = [f"delivered: {', '.join(self.delivered) or 'none'}"]
        if self.failed:
            parts.append(
                "failed: " + "; ".join(f"{name} ({reason})" for name, reason in self.failed)
            )
        return "; ".join(parts)


def default_logger() -> logging.Logger:
    return logging.getLogger(ALERT_LOGGER)


def redact_alert(alert: Alert, redact: Redactor) -> Alert:
    if not redact:
        return alert
    return dataclasses.replace(
        alert,
        title=redact(alert.title),
        summary=redact(alert.summary),
        fields=tuple((redact(label), redact(value)) for label, value in alert.fields),
        top_customers=tuple(
            CustomerVariance(
                redact(c.customer_id),
                redact(c.name) if c.name is not None else None,
                c.our_mrr,
                c.chartmogul_mrr,
                c.variance,
            )
            for c in alert.top_customers
        ),
    )


def _log(logger: Any, level: str, message: str) -> None:
    try:
        getattr(logger, level)(message)
    except Exception:  # a broken run logger must not stop the alert
        getattr(default_logger(), level)(message)


class _Propagate(logging.Handler):
    """Hands a record to the parent loggers' handlers when it reaches `threshold`."""

    def __init__(self, logger: logging.Logger, threshold: int):
        super().__init__()
        self.logger, self.threshold = logger, threshold

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= self.threshold and self.logger.parent is not None:
            self.logger.parent.callHandlers(record)


@contextlib.contextmanager
def _apprise_details() -> Iterator[None]:
    """apprise logs why a delivery failed (the SMTP or connection error) at DEBUG only: let
    its logger create DEBUG records for the result's capture, while the application's
    handlers still see only what its logging configuration lets through."""
    log = logging.getLogger("apprise")
    threshold = log.getEffectiveLevel()
    if threshold <= logging.DEBUG:
        yield
        return
    level, propagate = log.level, log.propagate
    forward = _Propagate(log, threshold) if propagate else None
    log.setLevel(logging.DEBUG)
    log.propagate = False
    if forward:
        log.addHandler(forward)
    try:
        yield
    finally:
        if forward:
            log.removeHandler(forward)
        log.setLevel(level)
        log.propagate = propagate


def _failure_reason(service_result: Any) -> str:
    """What apprise logged on the last attempt: its warnings and the exception behind them
    (an SMTP error, a refused connection), e.g. `Failed to send to Slack: error=404.`"""
    attempts = list(service_result) if service_result is not None else []
    entries = list(attempts[-1].logs) if attempts else []
    warnings = [
        e.message.strip()
        for e in entries
        if e.level in ("WARNING", "ERROR", "CRITICAL") and not e.message.startswith("Attempt ")
    ]
    details = [
        e.message.removeprefix("Socket Exception:").strip()
        for e in entries
        if e.message.startswith("Socket Exception:")
    ]
    reason = "; ".join(dict.fromkeys(warnings))
    if details:
        reason += (": " if reason else "") + "; ".join(dict.fromkeys(details))
    reason = reason or "apprise reported a failure"
    if len(attempts) > 1:
        reason = f"gave up after {len(attempts)} attempts: {reason}"
    return clip(reason, REASON_MAX)


def _notify(target: Destination, alert: Alert) -> tuple[bool, str | None, int]:
    """(delivered, reason, attempts) of one destination."""
    import apprise
    from apprise.plugins.slack import NotifySlack

    plugin = target.plugin()
    title, body = alert.subject, alert.body()
    if isinstance(plugin, NotifySlack) and plugin.use_blocks:
        title, body = clip(title, SLACK_HEADER_MAX), clip(body, SLACK_SECTION_MAX)
    service = apprise.Apprise(plugin, asset=apprise_asset())
    with service.notify(
        body=body,
        title=title,
        notify_type=NOTIFY_TYPE[alert.severity],
        body_format="text",
        log_level=logging.DEBUG,  # the exception behind a failure is logged at DEBUG
    ) as result:
        results = list(result)
        if not results:
            calls = [e.message for e in result.call_logs() if e.level != "DEBUG"]
            return False, clip("; ".join(calls) or str(result.status.name), REASON_MAX), 0
        [service_result] = results
        if service_result:
            return True, None, len(service_result)
        return False, _failure_reason(service_result), len(service_result)


def send_alert(
    alert: Alert,
    destinations: Sequence[Destination | str] | None = None,
    *,
    logger: Any = None,
) -> DeliveryReport:
    """Log `alert`, then deliver it to `destinations` (Destination objects or apprise URLs;
    default: destinations_from_env(); []: the log only). `logger` is a python logger or a
    Dagster log manager (context.log). Returns one outcome per destination, the log first."""
    logger = logger or default_logger()
    problems: list[Outcome] = []
    targets: list[Destination] = []
    try:
        listed = destinations_from_env() if destinations is None else destinations
        for item in listed:
            targets.append(item if isinstance(item, Destination) else destination(item))
    except AlertConfigError as exc:
        # a broken configuration must not swallow the alert: log it, report it, send the rest
        problems.append(Outcome("config", False, str(exc), attempts=0))

    redact = Redactor(
        [secret for target in targets for secret in target.secrets]
        + secrets_from_env(os.environ)
        + secrets_of_env(os.environ)
    )
    safe_alert = redact_alert(alert, redact)
    report = DeliveryReport(safe_alert.title)

    started = time.perf_counter()
    level = "error" if safe_alert.severity is Severity.ERROR else "warning"
    _log(logger, level, redact(f"ALERT {safe_alert.text()}"))
    report.outcomes.append(Outcome("log", True, None, 1, time.perf_counter() - started))

    for problem in problems:
        reason = redact(problem.reason)
        report.outcomes.append(dataclasses.replace(problem, reason=reason))
        _log(logger, "error", f"alert configuration error: {reason}")

    with redacting_loggers(redact, LIBRARY_LOGGERS), _apprise_details():
        for target in targets:
            name = redact(target.name)
            started = time.perf_counter()
            try:
                delivered, reason, attempts = _notify(target, safe_alert)
            except Exception as exc:  # one destination's bug never hides the others
                delivered, reason, attempts = False, f"{type(exc).__name__}: {exc}", 1
            outcome = Outcome(
                name,
                delivered,
                redact(reason) if reason else None,
                attempts,
                time.perf_counter() - started,
            )
            report.outcomes.append(outcome)
            if not delivered:
                _log(
                    logger,
                    "error",
                    f"alert {safe_alert.title!r} not delivered to {name}: {outcome.reason}",
                )
    if len(report.outcomes) > 1:
        _log(
            logger,
            "info" if report.ok else "warning",
            f"alert {safe_alert.title!r}: {report.summary()}",
        )
    return report
