"""Progress of an in-process Dagster run on the terminal: a line when a step starts and
ends, the assets' own log lines (load summaries, notes), every check that did not pass,
and a tally per step."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

from dagster import LoggerDefinition, logger
from dagster._core.log_manager import get_log_record_metadata, has_log_record_metadata
from rich.console import Console
from rich.markup import escape

# dagster-dbt logs each dbt event; the tally and the failures say what matters
QUIET_STEPS = ("warehouse_models",)


class RunProgressHandler(logging.Handler):
    def __init__(self, console: Console):
        # Dagster's events (step start, checks) come at DEBUG; messages print from INFO up
        super().__init__(level=logging.DEBUG)
        self.console = console
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
        if kind == "STEP_START":
            self.console.print(f"[bold]▶ {escape(step)}[/]", highlight=False)
        elif kind == "ASSET_MATERIALIZATION":
            self.materialized[step] += 1
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
        elif kind == "STEP_SUCCESS":
            seconds = event.event_specific_data.duration_ms / 1000
            self.console.print(
                f"[green]✓ {escape(step)}[/] {self._tally(step)} [dim]{seconds:.1f} s[/]",
                highlight=False,
            )
        elif kind == "STEP_FAILURE":
            error = event.event_specific_data.error
            message = (error.message if error else "failed").strip().splitlines()
            self.console.print(
                f"[red]✗ {escape(step)}[/] {escape(message[0] if message else 'failed')}",
                highlight=False,
            )
        elif kind == "STEP_SKIPPED":
            self.console.print(f"[dim]- {escape(step)} skipped (an upstream step failed)[/]")

    def _tally(self, step: str) -> str:
        parts = []
        if self.materialized[step]:
            parts.append(f"{self.materialized[step]:,} assets")
        passed, failed = self.checks[(step, "passed")], self.checks[(step, "failed")]
        if passed or failed:
            parts.append(f"{passed:,} checks passed" + (f", {failed:,} failed" if failed else ""))
        return escape(f"({'; '.join(parts)})") if parts else ""


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
