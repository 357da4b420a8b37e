"""The whole pipeline in one call: materialize the Dagster graph of the code location in
this process (the loads of the inputs given, every dbt model with its tests as checks, the
contract and freshness checks, optionally the ChartMogul reconciliation, the published copy
of the marts). Stripe comes from its API (the live account, or any server speaking it such as
the stand-in started by `revwh sandbox serve-stripe`) or from fixture files replayed through
the Stripe stand-in. `revwh run` and `revwh demo` both go through `run_pipeline`."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack, redirect_stdout
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from core.dbt import BuildResult, result_from_artifacts
from core.settings import RunSettings
from core.sources import SOURCES
from core.warehouse import Warehouse

# The key the stand-in is started with and the loader sends: a replay is offline, so any
# test-mode key does; a fixed one keeps a real STRIPE_API_KEY out of the replay entirely.
REPLAY_API_KEY = "sk_test_revwhreplay"


@dataclass
class Inputs:
    """What to load; none is required. Paths or URLs as `revwh load` accepts them."""

    stripe_fixtures: Path | None = None  # a folder of <resource>.jsonl (or a world folder)
    # the Stripe API (when no fixtures): key from STRIPE_API_KEY or dlt's secrets, read by the
    # loader when it runs; base None: Stripe's own (or STRIPE_API_BASE)
    stripe_api: bool = False
    stripe_api_base: str | None = None
    stripe_requests_per_second: float | None = None  # None: 25 for test keys, 100 for live
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
class Reconciliation:
    """What the reconciliation step said (None fields: it did not get that far)."""

    passed: bool | None
    message: str


@dataclass
class PipelineResult:
    warehouse: str
    failed_loads: dict[str, str] = field(default_factory=dict)  # source -> what went wrong
    build: BuildResult | None = None  # None: not built (a load failed)
    failed_steps: dict[str, str] = field(default_factory=dict)  # other steps -> error
    failed_checks: list[str] = field(default_factory=list)  # "<asset>:<check>"
    checks_passed: int = 0
    reconciliation: Reconciliation | None = None  # None: not asked for
    published: str | None = None  # path of the published copy
    docs: str | None = None  # path of the dbt docs site, when asked for
    seconds: float = 0.0
    run_id: str | None = None  # the Dagster run
    dagster_home: str | None = None  # where the run is recorded (None: an ephemeral instance)

    @property
    def ok(self) -> bool:
        return (
            not self.failed_loads
            and self.build is not None
            and self.build.success
            and not self.failed_steps
            and not self.failed_checks
        )

    def problems(self) -> list[str]:
        """One line per failed step or check, for the end of a run."""
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
        lines += [f"{step} failed: {error}" for step, error in self.failed_steps.items()]
        lines += [f"check failed: {name}" for name in self.failed_checks]
        return lines

    def outline(self) -> str:
        """The last line of a successful run."""
        parts = [f"{self.checks_passed:,} checks passed"]
        if self.reconciliation is not None:
            parts.append(
                "reconciled with ChartMogul" if self.reconciliation.passed else "NOT reconciled"
            )
        if self.published:
            parts.append(f"marts published to {self.published}")
        if self.docs:
            parts.append(f"dbt docs at {self.docs}")
        return "; ".join(parts)


def run_pipeline(
    inputs: Inputs,
    as_of: date | None,
    warehouse: str | None = None,
    *,
    full_refresh: bool = False,
    vars: dict | None = None,
    threads: int | None = None,
    console: Console | None = None,
    reconcile: bool = False,
    chartmogul_api_base: str | None = None,
    chartmogul_api_key: str | None = None,
    reconciliation_config: dict | None = None,
    publish: bool = True,
    docs: bool = False,
    sync_chartmogul: bool = False,
    chartmogul_sync_rps: float | None = None,
) -> PipelineResult:
    """Load what `inputs` names into `warehouse` (DuckDB path or postgresql:// URL; default
    `REVWH_WAREHOUSE` or warehouse/revenue.duckdb), then build every model with var
    `as_of`, run the checks, reconcile with ChartMogul when asked (key from
    CHARTMOGUL_API_KEY unless given) and publish the marts. `reconciliation_config`
    ({days, month_ends, threshold_percent, top_customers}) overrides the reconciliation's
    dbt vars (ingestion/chartmogul/settings.py). `docs`: also publish the dbt docs site
    beside the published copy (as the daily job does; 30 s and more). `sync_chartmogul`:
    send the export marts to ChartMogul (serving/chartmogul_sync) before reconciling, at
    `chartmogul_sync_rps` requests per second (default CHARTMOGUL_SYNC_RPS, else 40; 0: no
    budget, for a local stand-in).

    A load that fails is reported and the others still run, but the models are then not
    built (marts from partial data would be wrong without saying so). Never raises for a
    failed step: check `ok`."""
    console = console or Console()
    started = time.perf_counter()
    target = Warehouse.of(warehouse)
    if reconcile and reconciliation_config:
        vars = {**(vars or {}), **_reconciliation_vars(reconciliation_config)}
    # one "today" for every step of the run
    settings = RunSettings.of(as_of, vars)
    result = PipelineResult(warehouse=target.target)
    shown = str(target)
    console.print(
        f"[bold]Warehouse[/] {escape(shown)}" + (", full refresh" if full_refresh else "")
    )
    given = {
        "stripe": inputs.stripe_fixtures or (inputs.stripe_api or None),
        "app": inputs.app_db,
        "costs": inputs.cost_sheets,
        "fx": inputs.fx_rates,
    }
    # the other inputs are named as `revwh load` names them
    flags = {s.name: f"{s.input_option} or {s.input_env}" for s in SOURCES} | {
        "stripe": "--stripe-fixtures, or STRIPE_API_KEY for the API"
    }
    for source, value in given.items():
        if value is None:
            console.print(f"[dim]{source}: skipped (no {flags[source]})[/]")
    sources = [s for s, value in given.items() if value is not None]

    # Dagster, dbt, dlt and the definitions take seconds to load (tens on a busy machine):
    # say so first, not silently
    console.print("Loading the pipeline (Dagster definitions)...", highlight=False)
    loading = time.perf_counter()
    from orchestration.definitions import load
    from orchestration.defs.resources import run_resources
    from orchestration.lib.resources import (
        AlertsResource,
        ChartMogulResource,
        IngestionResource,
        RunSettingsResource,
    )
    from orchestration.run import loads, materialize_warehouse, recording_instance, step_labels

    from .progress import RunProgressHandler, progress_logger

    load()
    console.print(f"  loaded in {time.perf_counter() - loading:.1f} s", highlight=False)

    with ExitStack() as stack:
        # DAGSTER_HOME's instance (so `make dagster` shows the run), else an ephemeral one
        instance = stack.enter_context(recording_instance())
        # one writing run at a time on a DuckDB file, and none while a reader holds it
        stack.enter_context(target.writer())
        target.check_writable()
        stripe_base = replay = None
        if inputs.stripe_fixtures is not None:
            stripe_base = replay = _start_stripe(
                Path(inputs.stripe_fixtures), stack, result, console
            )
            if stripe_base is None:
                sources.remove("stripe")
        elif inputs.stripe_api:
            stripe_base = inputs.stripe_api_base
            console.print(f"[bold]Stripe API[/] {escape(stripe_base or 'https://api.stripe.com')}")
        build_models = not result.failed_loads
        if not build_models:
            console.print("[red]Not building the models:[/] the Stripe stand-in did not start.")
        if not sources and not build_models:
            result.seconds = time.perf_counter() - started
            return result
        out = target.artifacts_dir
        (out / "target" / "run_results.json").unlink(missing_ok=True)  # not last run's
        # dagster-dbt echoes every dbt event to sys.stdout: into a file beside dbt's log, while
        # the progress prints to the terminal the console writes to now
        handler = RunProgressHandler(
            Console(
                file=console.file,
                width=console.width,
                force_terminal=console.is_terminal,
                color_system=console.color_system,
                soft_wrap=console.soft_wrap,
            ),
            labels=step_labels(),
        )
        (out / "logs").mkdir(parents=True, exist_ok=True)
        dbt_events = stack.enter_context((out / "logs" / "dbt_events.log").open("w"))
        stack.enter_context(redirect_stdout(dbt_events))
        run = materialize_warehouse(
            run_resources(
                ingestion=IngestionResource(
                    warehouse=target.target,
                    # the API: the loader reads the key when it runs (never in the run's
                    # config); a replay: the stand-in's own key, and no request budget
                    stripe_api_key=REPLAY_API_KEY if replay else None,
                    stripe_api_base=stripe_base,
                    stripe_requests_per_second=0 if replay else inputs.stripe_requests_per_second,
                    app_db=inputs.app_db,
                    cost_sheets=inputs.cost_sheets,
                    fx_rates=inputs.fx_rates,
                    full_refresh=full_refresh,
                    required=True,
                ),
                run_settings=RunSettingsResource(
                    warehouse=target.target,
                    as_of=settings.as_of.isoformat(),
                    vars_json=json.dumps(vars or {}),
                    threads=threads,
                    full_refresh=full_refresh,
                ),
                chartmogul=ChartMogulResource(
                    api_key=chartmogul_api_key,
                    api_base=chartmogul_api_base,
                    sync_requests_per_second=chartmogul_sync_rps,
                ),
                alerts=AlertsResource(),
            ),
            sources=sources,
            reconcile=reconcile,
            publish=publish,
            docs=docs,
            sync_chartmogul=sync_chartmogul,
            models=build_models,
            loggers={"console": progress_logger(handler)},
            instance=instance,
        )
        result.run_id = run.run_id
        if not instance.is_ephemeral:
            result.dagster_home = instance.root_directory
    _collect(run, result, handler, target, {a.op.name: s for s, a in loads().items()})
    result.seconds = time.perf_counter() - started
    return result


def _reconciliation_vars(config: dict) -> dict:
    """{days, month_ends, threshold_percent, top_customers} -> the dbt vars they are."""
    from ingestion.chartmogul.settings import VARS

    unknown = set(config) - set(VARS)
    if unknown:
        raise ValueError(f"unknown reconciliation settings {sorted(unknown)}: use {sorted(VARS)}")
    return {VARS[name]: value for name, value in config.items()}


def _start_stripe(fixtures: Path, stack: ExitStack, result: PipelineResult, console: Console):
    """Serve the fixtures through the Stripe stand-in; its URL, or None when it cannot."""
    from sandbox.stripe.server import StripeStandIn

    console.print(f"[bold]Stripe fixtures[/] {escape(str(fixtures))}")
    started = time.perf_counter()
    try:
        standin = StripeStandIn(fixtures, rate_limit=None, api_key=REPLAY_API_KEY)
    except (OSError, ValueError) as exc:  # no such folder, no fixtures, a broken JSONL line
        result.failed_loads["stripe"] = f"cannot serve {fixtures}: {exc}"
        console.print(f"  [red]stripe failed:[/] {escape(result.failed_loads['stripe'])}")
        return None
    counts = standin.store.counts()
    stack.enter_context(standin)
    console.print(
        f"  Stripe stand-in on {standin.url}: {sum(counts.values()):,} objects "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return standin.url


def _failure_text(event) -> str:
    data = event.event_specific_data
    user = getattr(data, "user_failure_data", None)
    if user is not None and user.description:
        return user.description.strip()
    error = getattr(data, "error", None)
    if error is None:
        return "failed"
    # a Failure raised inside dagster-dbt or a loader: the innermost message says why
    while error.cause is not None and not error.message.strip():
        error = error.cause
    return error.message.strip().splitlines()[0] if error.message.strip() else "failed"


def _collect(run, result: PipelineResult, handler, target: Warehouse, load_steps: dict) -> None:
    from dagster import DagsterEventType

    from alerts.reconciliation import CHECK_NAME
    from orchestration.run import RECONCILIATION_SOURCE

    started_steps, failures = set(), {}
    for event in run.all_events:
        step = event.step_key or ""
        if event.event_type == DagsterEventType.STEP_START:
            started_steps.add(step)
        elif event.event_type == DagsterEventType.STEP_FAILURE:
            failures[step] = _failure_text(event)
    build_error = failures.pop("warehouse_models", None)
    for step, text in failures.items():
        if step in load_steps:
            result.failed_loads[load_steps[step]] = text
        else:
            result.failed_steps[step] = text
    if "warehouse_models" in started_steps:
        result.build = result_from_artifacts(target.artifacts_dir, target.engine, build_error)
    # a failed dbt test already fails the build (and is listed with it)
    result.failed_checks = [
        name
        for step, name, severity in handler.failed_checks
        if severity == "ERROR" and step != "warehouse_models"
    ]
    result.checks_passed = sum(
        n for (_, outcome), n in handler.checks.items() if outcome == "passed"
    )
    for evaluation in run.get_asset_check_evaluations():
        if evaluation.check_name == CHECK_NAME:
            result.reconciliation = Reconciliation(
                evaluation.passed, (evaluation.description or "").strip()
            )
    # ChartMogul could not be read (its load failed): nothing was judged
    if RECONCILIATION_SOURCE in result.failed_loads and result.reconciliation is None:
        result.reconciliation = Reconciliation(None, result.failed_loads[RECONCILIATION_SOURCE])
    for event in run.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        name = materialization.asset_key.to_user_string()
        if name in ("published_marts", "dbt_docs"):
            path = materialization.metadata.get("path")
            value = str(path.value) if path is not None else None
            if name == "published_marts":
                result.published = value
            else:
                result.docs = value
