"""Send one alert through every sink, each independently: one failing never hides the
others. The log always gets the alert; failures are logged and reported, secrets masked."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestration.alerts.config import AlertConfigError, sinks_from_env
from orchestration.alerts.model import Alert, CustomerVariance
from orchestration.alerts.redact import Redactor, redacting_loggers, secrets_from_env
from orchestration.alerts.sinks import DeliveryError, LogSink, Sink, default_logger

# Third-party loggers that may print a request URL while a sink runs.
LIBRARY_LOGGERS = ("httpx", "httpcore", "urllib3", "smtplib")


@dataclass(frozen=True)
class SinkOutcome:
    sink: str
    delivered: bool
    reason: str | None = None
    attempts: int = 1
    seconds: float = 0.0


@dataclass
class DeliveryReport:
    alert_title: str
    outcomes: list[SinkOutcome] = field(default_factory=list)

    @property
    def delivered(self) -> list[str]:
        return [o.sink for o in self.outcomes if o.delivered]

    @property
    def failed(self) -> list[tuple[str, str]]:
        """(sink, reason) for every sink that could not deliver."""
        return [(o.sink, o.reason or "failed") for o in self.outcomes if not o.delivered]

    @property
    def ok(self) -> bool:
        return all(o.delivered for o in self.outcomes)

    def summary(self) -> str:
        parts = [f"delivered: {', '.join(self.delivered) or 'none'}"]
        if self.failed:
            parts.append(
                "failed: " + "; ".join(f"{sink} ({reason})" for sink, reason in self.failed)
            )
        return "; ".join(parts)


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


def send_alert(
    alert: Alert, sinks: Sequence[Sink] | None = None, *, logger: Any = None
) -> DeliveryReport:
    """Deliver `alert` through `sinks` (default: sinks_from_env()) plus the log, which is
    always included. `logger` is a python logger or a Dagster log manager (context.log)."""
    logger = logger or default_logger()
    problems: list[SinkOutcome] = []
    if sinks is None:
        try:
            sinks = sinks_from_env()
        except AlertConfigError as exc:
            # a broken configuration must not swallow the alert: log it, report it
            problems.append(SinkOutcome("config", False, str(exc), attempts=0))
            sinks = [LogSink()]
    sinks = list(sinks)
    if not any(isinstance(s, LogSink) for s in sinks):
        sinks.insert(0, LogSink())

    redact = Redactor(
        [secret for sink in sinks for secret in sink.secrets()] + secrets_from_env(os.environ)
    )
    safe_alert = redact_alert(alert, redact)
    problems = [dataclasses.replace(p, reason=redact(p.reason)) for p in problems]
    report = DeliveryReport(safe_alert.title, list(problems))
    for problem in problems:
        _log(logger, "error", redact(f"alert configuration error: {problem.reason}"))

    with redacting_loggers(redact, LIBRARY_LOGGERS):
        for sink in sinks:
            started = time.perf_counter()
            name = redact(sink.name)
            try:
                attempts = sink.deliver(safe_alert, logger=logger, redact=redact)
            except DeliveryError as exc:
                outcome = SinkOutcome(
                    name, False, redact(exc.reason), exc.attempts, time.perf_counter() - started
                )
            except Exception as exc:  # one sink's bug never hides the others
                outcome = SinkOutcome(
                    name,
                    False,
                    redact(f"{type(exc).__name__}: {exc}"),
                    1,
                    time.perf_counter() - started,
                )
            else:
                outcome = SinkOutcome(name, True, None, attempts, time.perf_counter() - started)
            report.outcomes.append(outcome)
            if not outcome.delivered:
                _log(
                    logger,
                    "error",
                    f"alert {safe_alert.title!r} not delivered to {outcome.sink}: {outcome.reason}",
                )
    if report.delivered and len(report.outcomes) > 1:
        level = "info" if report.ok else "warning"
        _log(logger, level, f"alert {safe_alert.title!r}: {report.summary()}")
    return report
