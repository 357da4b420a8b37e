"""Progress of an in-process Dagster run on the terminal: a line when a step starts and
ends (named by what it checks when it is a check), the assets' own log lines (load
summaries, notes), every check that did not pass, a tally per step, and during the long dbt
step a line of counts every few seconds, as plain lines that a log or a pipe shows too."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from dagster import LoggerDefinition, logger
from dagster._core.log_manager import get_log_record_metadata, has_log_record_metadata
from rich.console import Console
from rich.markup import escape

# the dbt steps: dagster-dbt logs each dbt event; the tally and the failures say what matters
QUIET_STEPS = ("warehouse_models", "reconciliation_models")
# during a quiet step, a line of counts at most this often
PROGRESS_SECONDS = 10.0


class RunProgressHandler(logging.Handler):
    def __init__(
        self,
        console: Console,
        labels: dict[str, str] | None = None,
        every_seconds: float = PROGRESS_SECONDS,
    ):
        # Dagster's events (step start, checks) come at DEBUG; messages print from INFO up
        super().__init__(level=logging.DEBUG)
        self.console = console
        self.labels = labels or {}  # step key -> what it does, when its key does not say
        self.every_seconds = every_seconds
        self._started: dict[str, float] = {}
        self._last_line: dict[str, float] = {}
        self.materialized: Counter[str] = Counter()
        self.checks: Counter[tuple[str, str]] = Counter()
        # (step, "<asset>:<check>", severity): only ERROR ones fail a run
        self.failed_checks: list[tuple[str, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit(record)
        except Exception:  # progress output must never break a run
            self.handleError(record)

    def _emit(self, record: logging.LogRecord) -> None:
        meta: Mapping[str, Any] = (
            get_log_record_metadata(record) if has_log_record_metadata(record) else {}
        )
        step = meta.get("step_key") or ""
        event = meta.get("dagster_event")
        if event is None:
            if step and not step.startswith(QUIET_STEPS) and record.levelno >= logging.INFO:
                text = meta.get("orig_message") or record.getMessage()
                self.console.print(f"  {escape(text)}", highlight=False)
            return
        kind = event.event_type_value
        name = self.labels.get(step, step)
        if kind == "STEP_START":
            self._started[step] = self._last_line[step] = time.monotonic()
            self.console.print(f"[bold]▶ {escape(name)}[/]", highlight=False)
        elif kind == "ASSET_MATERIALIZATION":
            self.materialized[step] += 1
            self._counts_line(step)
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.asset_check_evaluation_data
            outcome = "passed" if evaluation.passed else "failed"
            self.checks[(step, outcome)] += 1
            if not evaluation.passed:
                name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                severity = getattr(evaluation.severity, "value", str(evaluation.severity))
                self.failed_checks.append((step, name, severity))
                detail = (evaluation.description or "").strip().splitlines()
                self.console.print(
                    f"  [red]check failed[/] {escape(name)}"
                    + (f": {escape(detail[0][:200])}" if detail else ""),
                    highlight=False,
                )
            self._counts_line(step)
        elif kind == "STEP_SUCCESS":
            seconds = event.event_specific_data.duration_ms / 1000
            self.console.print(
                f"[green]✓ {escape(name)}[/] {self._tally(step)} [dim]{seconds:.1f} s[/]",
                highlight=False,
            )
        elif kind == "STEP_FAILURE":
            error = event.event_specific_data.error
            message = (error.message if error else "failed").strip().splitlines()
            self.console.print(
                f"[red]✗ {escape(name)}[/] {escape(message[0] if message else 'failed')}",
                highlight=False,
            )
        elif kind == "STEP_SKIPPED":
            self.console.print(f"[dim]- {escape(name)} skipped (an upstream step failed)[/]")

    def _counts_line(self, step: str) -> None:
        """In a quiet step (dbt), what is done so far, every `every_seconds` at most."""
        if not step.startswith(QUIET_STEPS) or step not in self._started:
            return
        now = time.monotonic()
        if now - self._last_line[step] < self.every_seconds:
            return
        self._last_line[step] = now
        self.console.print(
            f"  … {self._tally(step, brackets=False)}, {now - self._started[step]:.0f} s so far",
            highlight=False,
        )

    def _tally(self, step: str, brackets: bool = True) -> str:
        parts = []
        if self.materialized[step]:
            parts.append(f"{self.materialized[step]:,} assets")
        passed, failed = self.checks[(step, "passed")], self.checks[(step, "failed")]
        if passed or failed:
            parts.append(f"{passed:,} checks passed" + (f", {failed:,} failed" if failed else ""))
        if not parts:
            return ""
        return escape(f"({'; '.join(parts)})" if brackets else "; ".join(parts))


def progress_logger(handler: RunProgressHandler) -> LoggerDefinition:
    """A Dagster logger that prints through `handler` (and nothing else)."""

    @logger(description="revwh's terminal progress")
    def _progress(_init_context):
        log = logging.getLogger(f"revwh.progress.{id(handler)}")
        log.handlers = [handler]
        log.setLevel(logging.DEBUG)
        log.propagate = False
        return log

    return _progress
