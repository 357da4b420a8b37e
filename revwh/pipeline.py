"""The whole pipeline in one call: replay Stripe fixtures through the stand-in, load the
other inputs given, build every dbt model. `revwh run` and `revwh demo` both go through
`run_pipeline`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ingestion.report import LoadReport
from ingestion.warehouse import is_postgres, warehouse_target

from .transform import BuildResult, build_models

# The key the stand-in is started with and the loader sends: a replay is offline, so any
# test-mode key does; a fixed one keeps a real STRIPE_API_KEY out of the replay entirely.
REPLAY_API_KEY = "sk_test_revwh_replay"


@dataclass
class Inputs:
    """What to load; none is required. Paths or URLs as `revwh load` accepts them."""

    stripe_fixtures: Path | None = None  # a folder of <resource>.jsonl (or a world folder)
    app_db: str | None = None  # SQLAlchemy URL or SQLite file
    cost_sheets: str | None = None  # folder or fsspec URL
    fx_rates: str | None = None  # fx_rates.csv path or URL

    @classmethod
    def from_world(cls, world: Path) -> Inputs:
        """Every input of a sandbox world folder."""
        return cls(
            stripe_fixtures=world / "stripe",
            app_db=str(world / "app.sqlite"),
            cost_sheets=str(world / "cost_sheets"),
            fx_rates=str(world / "fx_rates.csv"),
        )


@dataclass
class PipelineResult:
    warehouse: str
    loads: list[LoadReport] = field(default_factory=list)
    failed_loads: dict[str, str] = field(default_factory=dict)  # source -> what went wrong
    build: BuildResult | None = None  # None: not built (a load failed)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed_loads and self.build is not None and self.build.success

    def problems(self) -> list[str]:
        """One line per failed step, for the end of a run."""
        lines = [
            f"{source} load failed: {message}" for source, message in self.failed_loads.items()
        ]
        if self.build is None:
            lines.append("the models were not built because a load failed")
        elif not self.build.success:
            failing = [f"{f.resource_type} {f.name}" for f in self.build.failures]
            if failing:
                more = f" and {len(failing) - 8} more" if len(failing) > 8 else ""
                lines.append(f"dbt build failed: {', '.join(failing[:8])}{more}")
            else:
                first = (self.build.error or "see dbt's log").strip().splitlines()[0]
                lines.append(f"dbt build failed: {first}")
        return lines


def run_pipeline(
    inputs: Inputs,
    as_of: date | None,
    warehouse: str | None = None,
    *,
    full_refresh: bool = False,
    vars: dict | None = None,
    threads: int | None = None,
    console: Console | None = None,
) -> PipelineResult:
    """Load what `inputs` names into `warehouse` (DuckDB path or postgresql:// URL; default
    `REVWH_WAREHOUSE` or warehouse/revenue.duckdb), then `dbt build` with var `as_of`.

    A load that fails is reported and the others still run, but the models are then not
    built (marts from partial data would be wrong without saying so). Never raises for a
    failed step: check `ok`."""
    from ingestion.run import LoadOptions

    console = console or Console()
    started = time.perf_counter()
    target = warehouse_target(warehouse)
    result = PipelineResult(warehouse=target)
    shown = "PostgreSQL" if is_postgres(target) else target
    console.print(
        f"[bold]Warehouse[/] {escape(shown)}" + (", full refresh" if full_refresh else "")
    )
    options = LoadOptions(
        target=target,
        app_db=inputs.app_db,
        cost_sheets=inputs.cost_sheets,
        fx_rates=inputs.fx_rates,
        full_refresh=full_refresh,
    )

    if inputs.stripe_fixtures is not None:
        _load_stripe(Path(inputs.stripe_fixtures), options, result, console)
    else:
        console.print("[dim]stripe: skipped (no --stripe-fixtures)[/]")
    for source, given, flag in (
        ("app", inputs.app_db, "--app-db"),
        ("costs", inputs.cost_sheets, "--cost-sheets"),
        ("fx", inputs.fx_rates, "--fx-rates"),
    ):
        if given is None:
            console.print(f"[dim]{source}: skipped (no {flag})[/]")
            continue
        _load(source, options, result, console)

    if result.failed_loads:
        console.print(
            f"[red]Not building the models:[/] the load of {', '.join(result.failed_loads)} failed."
        )
    else:
        console.print(f"[bold]Building the models[/] (as of {as_of or 'today'})")
        result.build = build_models(
            target, as_of, full_refresh=full_refresh, vars=vars, threads=threads, console=console
        )
    result.seconds = time.perf_counter() - started
    return result


def _load_stripe(fixtures: Path, options, result: PipelineResult, console: Console) -> None:
    from sandbox.stripe.server import StripeStandIn

    console.print(f"[bold]Loading stripe[/] from the fixtures in {escape(str(fixtures))}")
    started = time.perf_counter()
    try:
        standin = StripeStandIn(fixtures, rate_limit=None, api_key=REPLAY_API_KEY)
    except (OSError, ValueError) as exc:  # no such folder, no fixtures, a broken JSONL line
        _failed(result, console, "stripe", f"cannot serve {fixtures}: {exc}")
        return
    counts = standin.store.counts()
    with standin:
        console.print(
            f"  Stripe stand-in on {standin.url}: {sum(counts.values()):,} objects "
            f"({time.perf_counter() - started:.1f} s)"
        )
        options.stripe_api_key = REPLAY_API_KEY
        options.stripe_api_base = standin.url
        options.stripe_requests_per_second = 0  # local replay: no request budget
        _load("stripe", options, result, console)


def _load(source: str, options, result: PipelineResult, console: Console) -> None:
    from ingestion.app_db import AppDatabaseError
    from ingestion.run import load
    from ingestion.stripe.api import StripeConfigError, StripeLoadError

    if source != "stripe":
        console.print(f"[bold]Loading {source}[/]")
    try:
        report = load(source, options, required=True)
    except (StripeConfigError, StripeLoadError, AppDatabaseError, OSError) as exc:
        _failed(result, console, source, str(exc))
        return
    result.loads.append(report)
    console.print(f"  {escape(report.summary())}", highlight=False)
    for note in report.notes:
        console.print(f"  note: {escape(note)}", highlight=False)
    for reason, count in report.rejected.most_common():
        console.print(f"  rejected {count:,}: {escape(str(reason))}", highlight=False)
    for error in report.errors:
        console.print(f"  [red]error:[/] {escape(error)}", highlight=False)
    if report.skipped:
        # the input was given, so not finding it is an error, not a reason to skip
        _failed(result, console, source, f"input not found ({report.skipped})")
    elif report.errors:
        result.failed_loads[source] = "; ".join(report.errors)


def _failed(result: PipelineResult, console: Console, source: str, message: str) -> None:
    result.failed_loads[source] = message
    console.print(f"  [red]{source} failed:[/] {escape(message)}", highlight=False)
