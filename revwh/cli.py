"""`revwh`: the revenue warehouse's command line."""

from __future__ import annotations

import os
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from core.settings import SettingsError, check_not_in_the_future, parse_as_of, today
from core.warehouse import Warehouse, WarehouseLockedError

app = typer.Typer(
    help="Revenue warehouse: MRR, movements and KPIs you own.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
sandbox_app = typer.Typer(
    help="The simulated SaaS business and its local API stand-ins.", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")
kpis_app = typer.Typer(help="The KPI table (marts.kpis).", no_args_is_help=True)
app.add_typer(kpis_app, name="kpis")
chartmogul_app = typer.Typer(
    help="ChartMogul: the warehouse feeds a custom data source.", no_args_is_help=True
)
app.add_typer(chartmogul_app, name="chartmogul")
# a message is one line however narrow the terminal, and in a log (a pipe wraps at 80)
console = Console(soft_wrap=True)
# dlt warns about every all-null Stripe field it cannot type yet; nothing for a user to do
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")


def _bad(option: str, message: str) -> typer.BadParameter:
    """A bad value, shown as `Invalid value for '--option': message`."""
    return typer.BadParameter(message, param_hint=f"'{option}'")


def _parse_date(
    value: str | None, default: date | None = None, option: str = "--as-of"
) -> date | None:
    try:
        return parse_as_of(value) or default
    except SettingsError:
        raise _bad(option, f"{value!r} is not a date: write it as YYYY-MM-DD") from None


def _parse_as_of(value: str | None, default: date | None = None) -> date | None:
    """--as-of: a date (`default` when not given), never a day in the future."""
    day = _parse_date(value, default)
    try:
        return day and check_not_in_the_future(day)
    except SettingsError as error:
        raise _bad("--as-of", str(error)) from None


def _check_warehouse(value: str | None) -> str | None:
    """--warehouse, or REVWH_WAREHOUSE when it is not given: a DuckDB file or a PostgreSQL
    URL (a mistyped URL would otherwise become a folder named after its scheme)."""
    from core.warehouse import target_problem

    text = value or os.environ.get("REVWH_WAREHOUSE")
    problem = text and target_problem(text)
    if problem:
        if value:
            raise _bad("--warehouse", problem)
        raise typer.BadParameter(problem, param_hint="REVWH_WAREHOUSE")
    return value


def _positive(option: str, unit: str):
    """A callback refusing zero and negative numbers for `option`."""

    def check(value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise _bad(option, f"{value:g} is not a positive number of {unit}")
        return value

    return check


AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Simulated today, YYYY-MM-DD (default: today).")
]


ChartMogulApiBase = Annotated[
    str | None,
    typer.Option(
        metavar="URL",
        help="ChartMogul API base URL, e.g. the sandbox stand-in (env CHARTMOGUL_API_BASE).",
    ),
]


@sandbox_app.command("generate")
def sandbox_generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the world into.")],
    scale: Annotated[str, typer.Option(help="tiny | small | medium | large")] = "small",
    seed: Annotated[int, typer.Option(help="Random seed; same seed and dates, same bytes.")] = 42,
    as_of: AsOf = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="First day of the world (default: first of the month, scale's years before)."
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: CPU count).")] = None,
) -> None:
    """Generate the simulated business: Stripe fixtures, app database, cost sheets, FX
    rates and the ground truth."""
    from sandbox.world.generate import generate_world

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} chunks"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress:
            manifest = generate_world(
                scale,
                seed,
                _parse_as_of(as_of, today()),
                out,
                start=_parse_date(start, option="--start"),
                workers=workers,
                progress=progress,
            )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(
        f"[bold green]World written[/] to {out} in {manifest['seconds']['total']} s: "
        f"{manifest['accounts']:,} accounts, {manifest['paying_customers']:,} paying, "
        f"MRR ${manifest['mrr_usd']}"
    )
    for resource, count in manifest["stripe_objects"].items():
        console.print(f"  stripe/{resource}.jsonl: {count:,}")
    for table, count in manifest["app_rows"].items():
        console.print(f"  app.sqlite {table}: {count:,}")


@sandbox_app.command("serve-stripe")
def sandbox_serve_stripe(
    fixtures: Annotated[Path, typer.Option(help="A world folder or its stripe/ folder.")],
    port: Annotated[int, typer.Option(help="Port to listen on (0: a free one).")] = 12111,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    rate_limit: Annotated[
        float,
        typer.Option(help="Requests per second before 429 (Stripe sandbox: 25; 0: unlimited)."),
    ] = 25,
    latency_ms: Annotated[float, typer.Option(help="Added to every response.")] = 0,
    fault_rate: Annotated[float, typer.Option(help="Share of requests answered 500.")] = 0,
    request_log: Annotated[Path | None, typer.Option(help="Append requests as JSONL.")] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="REVWH_STRIPE_STANDIN_API_KEY",
            help="Accept only this test key (default: any key in Stripe's test-key format).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve Stripe fixtures over HTTP so the real `stripe` SDK can run against them."""
    from sandbox.stripe.behaviour import STRIPE_KEY
    from sandbox.stripe.server import serve

    if not 0 <= fault_rate <= 1:
        raise typer.BadParameter("--fault-rate must be between 0 and 1")
    if api_key is not None and not STRIPE_KEY.fullmatch(api_key):
        raise typer.BadParameter(
            "--api-key must look like a Stripe test key: sk_test_ or rk_test_, then letters "
            "and digits"
        )
    if not fixtures.exists():
        raise typer.BadParameter(f"no fixtures at {fixtures}")
    serve(
        fixtures,
        host,
        port,
        rate_limit=rate_limit or None,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        request_log_path=request_log,
        api_key=api_key,
    )


@sandbox_app.command("serve-chartmogul")
def sandbox_serve_chartmogul(
    world: Annotated[
        Path | None,
        typer.Option(help="A world folder (with ground_truth/): serve its business as imported."),
    ] = None,
    empty: Annotated[
        bool,
        typer.Option("--empty", help="Start with no data: MRR comes only from what is imported."),
    ] = False,
    as_of: AsOf = None,
    port: Annotated[int, typer.Option(help="Port to listen on (0: a free one).")] = 12112,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    fx_rates: Annotated[
        Path | None,
        typer.Option(
            metavar="CSV",
            help="Exchange rates as date,currency,rate (1 unit = rate USD) for imported "
            "invoices (default: the world's fx_rates.csv).",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="CHARTMOGUL_API_KEY",
            show_envvar=True,
            help="Accept only this key (default: any).",
        ),
    ] = None,
    rate_limit: Annotated[
        float,
        typer.Option(help="Requests per second before 429 (ChartMogul: 40; 0: unlimited)."),
    ] = 40,
    max_connections: Annotated[
        int,
        typer.Option(help="Parallel requests before 503 (ChartMogul: 20; 0: unlimited)."),
    ] = 0,
    fault_rate: Annotated[
        float, typer.Option(help="Share of requests answered 500, 502, 503 or 429.")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the random faults.")] = 0,
    latency_ms: Annotated[float, typer.Option(help="Added to every response.")] = 0,
    request_log: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Append one JSON line per request (never the key)."),
    ] = None,
    drift_percent: Annotated[
        float, typer.Option(help="Report MRR this many percent above the truth.")
    ] = 0,
) -> None:
    """Serve ChartMogul's API for the real `chartmogul` SDK: the world's business as
    ChartMogul would report it (--world), or an empty account that computes MRR from the
    invoices imported into it (--empty), for the sync and the reconciliation
    (`revwh reconcile --chartmogul-api-base ...`)."""
    from sandbox.chartmogul import load_fx_rates, serve

    if (world is None) == (not empty):
        raise typer.BadParameter("give either --world DIR or --empty", param_hint="'--world'")
    if world is not None and not (world / "ground_truth" / "customers.csv").exists():
        raise _bad("--world", f"no world at {world} (run `revwh sandbox generate` first)")
    rates = None
    if fx_rates is not None:
        if not fx_rates.is_file():
            raise _bad("--fx-rates", f"no such file: {fx_rates}")
        try:
            rates = load_fx_rates(fx_rates)
        except ValueError as error:
            raise _bad("--fx-rates", str(error)) from None
    if not 0 <= fault_rate <= 1:
        raise _bad("--fault-rate", "must be between 0 and 1")
    if rate_limit < 0:
        raise _bad("--rate-limit", "must be >= 0")
    if max_connections < 0:
        raise _bad("--max-connections", "must be >= 0")
    serve(
        world,
        host,
        port,
        as_of=_parse_as_of(as_of),
        fx_rates=rates,
        api_key=api_key,
        drift_percent=drift_percent,
        latency_ms=latency_ms,
        rate_limit=rate_limit or None,
        max_connections=max_connections or None,
        fault_rate=fault_rate,
        seed=seed,
        request_log_path=request_log,
    )


@app.command("load")
def load_command(
    source: Annotated[str, typer.Argument(help="stripe | app | costs | fx | all")] = "all",
    warehouse: Annotated[
        str | None,
        typer.Option(
            help="DuckDB file or postgresql:// URL (env REVWH_WAREHOUSE; default "
            "warehouse/revenue.duckdb)."
        ),
    ] = None,
    stripe_api_base: Annotated[
        str | None,
        typer.Option(help="Stripe API base URL, e.g. the sandbox stand-in (env STRIPE_API_BASE)."),
    ] = None,
    stripe_rps: Annotated[
        float | None,
        typer.Option(
            help="Request budget per second (default: 25 for test keys, 100 for live).",
            callback=_positive(
                "--stripe-rps", "requests per second (Stripe allows 25 in test mode, 100 live)"
            ),
        ),
    ] = None,
    app_db: Annotated[
        str | None,
        typer.Option(help="App database: SQLAlchemy URL or SQLite file (env REVWH_APP_DB)."),
    ] = None,
    cost_sheets: Annotated[
        str | None,
        typer.Option(help="Folder or fsspec URL of cost sheets (env REVWH_COST_SHEETS)."),
    ] = None,
    fx_rates: Annotated[
        str | None, typer.Option(help="fx_rates.csv path or URL (env REVWH_FX_RATES).")
    ] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Reload everything instead of what changed.")
    ] = False,
) -> None:
    """Load sources into the warehouse's raw datasets (raw_stripe, raw_app, raw_costs,
    raw_fx). The Stripe key comes from STRIPE_API_KEY or .dlt/secrets.toml."""
    from core.sources import LOADED_SOURCE_NAMES as SOURCES
    from ingestion.app_db import AppDatabaseError
    from ingestion.run import LoadOptions, load
    from ingestion.stripe.api import StripeConfigError, StripeLoadError

    chosen = list(SOURCES) if source == "all" else [source]
    if not set(chosen) <= set(SOURCES):
        raise typer.BadParameter(f"unknown source {source!r}: choose {', '.join(SOURCES)} or all")
    options = LoadOptions.from_env(
        target=_check_warehouse(warehouse),
        stripe_api_base=stripe_api_base,
        stripe_requests_per_second=stripe_rps,
        app_db=app_db,
        cost_sheets=cost_sheets,
        fx_rates=fx_rates,
        full_refresh=full_refresh,
    )
    failed = False
    with ExitStack() as stack:
        try:  # one writing run at a time on a DuckDB file
            stack.enter_context(Warehouse.of(options.target).writer())
        except WarehouseLockedError as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from None
        for name in chosen:
            console.print(f"[bold]Loading {name}[/]")
            try:
                report = load(name, options, required=source != "all")
            except (StripeConfigError, StripeLoadError, AppDatabaseError) as exc:
                console.print(f"[red]{name} failed:[/] {exc}")
                failed = True
                continue
            except WarehouseLockedError as exc:
                console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
                raise typer.Exit(1) from None
            console.print(report.summary())
            for note in report.notes:
                console.print(f"  note: {note}")
            for reason, count in report.rejected.most_common():
                console.print(f"  rejected {count:,}: {reason}")
            for error in report.errors:
                console.print(f"  [red]error:[/] {error}")
            failed = failed or not report.ok
    if failed:
        raise typer.Exit(1)


def _stripe_api_wanted(api_base: str | None) -> bool:
    """Load Stripe from its API? Yes when a key is set; no (Stripe is skipped) when neither a
    key nor an API base is; an API base without a key stops the run in one line."""
    from ingestion.stripe.api import StripeConfigError, resolve_api_key

    try:
        resolve_api_key(None)
    except StripeConfigError as exc:
        if api_base is None:
            return False
        console.print(
            f"[bold red]error:[/] {escape(str(exc).rstrip('.'))}; the Stripe API at "
            f"{escape(api_base)} needs one.",
            highlight=False,
        )
        raise typer.Exit(1) from None
    return True


def _parse_vars(value: str | None) -> dict:
    if not value:
        return {}
    import yaml

    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise _bad(
            "--vars",
            f"not YAML or JSON ({problem}{where}): give a mapping such as "
            "'{churn_recognition: requested}'",
        ) from None
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise _bad(
            "--vars",
            f"{value!r} is not a mapping: give one such as '{{churn_recognition: requested}}'",
        )
    if "as_of" in parsed:
        raise _bad("--vars", "give the as-of date with --as-of, not in --vars")
    return parsed


@app.command("run")
def run_command(
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of", metavar="YYYY-MM-DD", help="The as-of date the models are built for."
        ),
    ],
    stripe_fixtures: Annotated[
        Path | None,
        typer.Option(
            "--stripe-fixtures",
            metavar="DIR",
            help="Stripe objects as <resource>.jsonl (a sandbox world's stripe/ folder or an "
            "export), served through the Stripe stand-in and loaded by the Stripe source. "
            "Without it, Stripe is loaded from its API when a key is set (STRIPE_API_KEY or "
            ".dlt/secrets.toml).",
        ),
    ] = None,
    stripe_api_base: Annotated[
        str | None,
        typer.Option(
            "--stripe-api-base",
            metavar="URL",
            help="The Stripe API to load from, e.g. `revwh sandbox serve-stripe` "
            "(env STRIPE_API_BASE; default Stripe's own).",
        ),
    ] = None,
    stripe_rps: Annotated[
        float | None,
        typer.Option(
            "--stripe-rps",
            metavar="N",
            help="Stripe API requests per second (default: 25 for test keys, 100 for live; "
            "0: no limit).",
        ),
    ] = None,
    fx_rates: Annotated[
        str | None,
        typer.Option(
            "--fx-rates", metavar="CSV", help="fx_rates.csv path or URL (env REVWH_FX_RATES)."
        ),
    ] = None,
    app_db: Annotated[
        str | None,
        typer.Option(
            "--app-db",
            metavar="URL",
            help="App database: SQLAlchemy URL or SQLite file (env REVWH_APP_DB).",
        ),
    ] = None,
    cost_sheets: Annotated[
        str | None,
        typer.Option(
            "--cost-sheets",
            metavar="DIR",
            help="Folder or fsspec URL of cost sheets (env REVWH_COST_SHEETS).",
        ),
    ] = None,
    warehouse: Annotated[
        str | None,
        typer.Option(
            "--warehouse",
            metavar="PATH",
            help="DuckDB file or postgresql:// URL (env REVWH_WAREHOUSE; default "
            "warehouse/revenue.duckdb).",
        ),
    ] = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh", help="Reload every source and rebuild every model from scratch."
        ),
    ] = False,
    dbt_vars: Annotated[
        str | None,
        typer.Option(
            "--vars",
            metavar="YAML",
            help="Extra dbt vars as YAML or JSON, e.g. '{churn_recognition: requested}'.",
        ),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="dbt threads (default: the profile's, 4).")
    ] = None,
    reconcile: Annotated[
        bool,
        typer.Option(
            "--reconcile",
            help="Also compare the MRR with ChartMogul's (key: env CHARTMOGUL_API_KEY) and "
            "alert over the threshold.",
        ),
    ] = False,
    chartmogul_api_base: ChartMogulApiBase = None,
    sync_chartmogul: Annotated[
        bool,
        typer.Option(
            "--sync-chartmogul",
            help="Also send the export marts to the ChartMogul custom data source (new and "
            "changed objects; key: env CHARTMOGUL_API_KEY), before --reconcile reads it back.",
        ),
    ] = False,
    publish: Annotated[
        bool,
        typer.Option(help="Publish a read-only copy of the marts for analysts and BI tools."),
    ] = True,
) -> None:
    """The whole pipeline, as the Dagster graph in this process: load Stripe from its API
    (or replay fixture files through the Stripe stand-in) and the other inputs given here or
    in the environment (none is required), build and test every dbt model as of a date, run
    the quality checks, optionally sync to and reconcile with ChartMogul, and publish the
    marts. The same command serves the sandbox and production. Exits 1 when a load, a
    model, a test or a check fails."""
    from ingestion.run import LoadOptions
    from orchestration.run import DagsterHomeError
    from revwh.pipeline import Inputs, run_pipeline

    as_of_date = _parse_as_of(as_of)
    extra = _parse_vars(dbt_vars)
    warehouse = _check_warehouse(warehouse)
    if stripe_fixtures is not None and not stripe_fixtures.is_dir():
        raise _bad("--stripe-fixtures", f"no such folder: {stripe_fixtures}")
    if stripe_fixtures is not None and (stripe_api_base or stripe_rps is not None):
        raise _bad(
            "--stripe-fixtures",
            "give either --stripe-fixtures (a replay) or the API's --stripe-api-base / "
            "--stripe-rps, not both",
        )
    # what is not given comes from the environment, as `revwh load` and Dagster read it
    configured = LoadOptions.from_env(
        stripe_api_base=stripe_api_base, app_db=app_db, cost_sheets=cost_sheets, fx_rates=fx_rates
    )
    stripe_api = stripe_fixtures is None and _stripe_api_wanted(configured.stripe_api_base)
    inputs = Inputs(
        stripe_fixtures=stripe_fixtures,
        stripe_api=stripe_api,
        stripe_api_base=configured.stripe_api_base if stripe_api else None,
        stripe_requests_per_second=stripe_rps,
        app_db=configured.app_db,
        cost_sheets=configured.cost_sheets,
        fx_rates=configured.fx_rates,
    )
    try:
        result = run_pipeline(
            inputs,
            as_of_date,
            warehouse,
            full_refresh=full_refresh,
            vars=extra,
            threads=threads,
            console=console,
            reconcile=reconcile,
            sync_chartmogul=sync_chartmogul,
            chartmogul_api_base=chartmogul_api_base,
            publish=publish,
        )
    except (WarehouseLockedError, DagsterHomeError) as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    if result.dagster_home:
        console.print(
            f"Run {result.run_id} recorded in the Dagster instance {escape(result.dagster_home)}"
            " (DAGSTER_HOME): its UI shows it",
            highlight=False,
        )
    if result.build is not None and not result.build.success:
        console.print(escape(result.build.describe_failures()), highlight=False)
    if not result.ok:
        for problem in result.problems():
            console.print(f"[bold red]error:[/] {escape(problem)}", highlight=False)
        raise typer.Exit(1)
    console.print(
        f"[bold green]Pipeline done[/] in {result.seconds:.1f} s: {escape(result.outline())}",
        highlight=False,
    )


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option(help="Where the sandbox world goes.")] = Path(
        "warehouse/sandbox"
    ),
    seed: Annotated[int, typer.Option()] = 42,
    as_of: AsOf = None,
    scale: Annotated[str, typer.Option()] = "small",
    warehouse: Annotated[
        Path | None,
        typer.Option(
            "--warehouse",
            metavar="PATH",
            help="The DuckDB file to write (default: the one every command reads, env "
            "REVWH_WAREHOUSE or warehouse/revenue.duckdb); never one the demo did not write.",
        ),
    ] = None,
) -> None:
    """The main job on the embedded default: simulate the business (as of yesterday, the
    last whole day, unless --as-of says otherwise), then run the whole
    pipeline on it as `revwh run` does (Stripe through the stand-in, every other source,
    dbt build) into the default warehouse, print the last months of the MRR bridge with the
    warehouse's MRR next to the ground truth, and the next steps. With DAGSTER_HOME set
    (`make demo` sets the project's .dagster), Dagster's UI shows the run."""
    from orchestration.run import DagsterHomeError
    from revwh.demo import DemoError, run_demo

    # the last whole day: a world as of today holds events of later today, which the
    # loaders rightly quarantine as in the future, and what refers to them then fails
    day = _parse_as_of(as_of, today() - timedelta(days=1))
    try:
        run_demo(out, seed, day, scale, console, warehouse=warehouse)
    except (DemoError, DagsterHomeError, WarehouseLockedError) as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None


@app.command("reconcile")
def reconcile_command(
    warehouse: Annotated[
        str | None,
        typer.Option(
            "--warehouse",
            metavar="PATH",
            help="DuckDB file or postgresql:// URL (env REVWH_WAREHOUSE; default "
            "warehouse/revenue.duckdb).",
        ),
    ] = None,
    as_of: AsOf = None,
    days: Annotated[
        int, typer.Option(min=1, help="Days back from the as-of date to compare.")
    ] = 30,
    month_ends: Annotated[int, typer.Option(min=0, help="Past month ends compared as well.")] = 12,
    threshold: Annotated[
        str, typer.Option(help="Largest absolute variance in percent that still passes.")
    ] = "1.0",
    top: Annotated[int, typer.Option(min=0, help="Customers listed to explain a gap.")] = 10,
    chartmogul_api_base: ChartMogulApiBase = None,
    alert: Annotated[
        bool, typer.Option(help="Send an alert (REVWH_ALERT_* sinks) when it does not pass.")
    ] = False,
) -> None:
    """Compare the warehouse's daily MRR with ChartMogul's (key: env CHARTMOGUL_API_KEY):
    load ChartMogul into raw_chartmogul and build marts.chartmogul_reconciliation(_customers)
    with dbt (the models of a `revwh run`, which must exist). Exits 1 over the threshold or
    when ChartMogul cannot be read."""
    from decimal import Decimal, InvalidOperation

    from rich.table import Table

    from alerts.reconciliation import ReconciliationUnavailable
    from ingestion.chartmogul.client import ChartMogulClient, ChartMogulError
    from revwh.reconcile import reconcile

    try:
        threshold_percent = Decimal(threshold)
    except InvalidOperation:
        raise _bad("--threshold", f"{threshold!r} is not a number of percent, e.g. 1.0") from None
    day = _parse_as_of(as_of, today())
    target = Warehouse.of(_check_warehouse(warehouse))
    if not target.is_postgres and not target.path.is_file():
        console.print(f"[bold red]error:[/] no DuckDB warehouse at {escape(str(target))}")
        raise typer.Exit(1)
    try:
        client = ChartMogulClient(api_base=chartmogul_api_base)
        with target.writer():  # it loads ChartMogul and builds the reconciliation marts
            result = reconcile(
                target,
                client,
                day,
                days=days,
                threshold_percent=threshold_percent,
                top=top,
                month_ends=month_ends,
            )
    except (ChartMogulError, ReconciliationUnavailable, ValueError, WarehouseLockedError) as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None

    table = Table(title=f"MRR: the warehouse against ChartMogul ({result.currency})")
    for column in ("date", "period", "ours", "ChartMogul", "variance", "variance %", "status"):
        table.add_column(
            column, justify="left" if column in ("date", "period", "status") else "right"
        )
    for row in result.rows:
        colour = "green" if row.status == "ok" else "red"
        table.add_row(
            row.metric_date.isoformat(),
            row.period,
            "" if row.our_mrr is None else f"{row.our_mrr:,}",
            "" if row.chartmogul_mrr is None else f"{row.chartmogul_mrr:,}",
            "" if row.variance is None else f"{row.variance:+,}",
            "" if row.variance_percent is None else f"{row.variance_percent:+}",
            f"[{colour}]{row.status}[/]",
        )
    console.print(table)
    if result.top_customers:
        customers = Table(title="Customers that explain the gap (as-of day)")
        for column in ("rank", "customer", "name", "ours", "ChartMogul", "variance", "share"):
            customers.add_column(column, justify="right" if column != "name" else "left")
        for c in result.top_customers:
            customers.add_row(
                str(c.rank),
                c.customer_id,
                c.customer_name,
                f"{c.our_mrr:,}",
                f"{c.chartmogul_mrr:,}",
                f"{c.variance:+,}",
                f"{c.abs_share_of_gap:.1%}",
            )
        console.print(customers)
    console.print(escape(result.message()), highlight=False)
    if not result.passed:
        if alert:
            from alerts import send_alert
            from alerts.reconciliation import alert_for

            console.print(escape(send_alert(alert_for(result)).summary()), highlight=False)
        raise typer.Exit(1)


@chartmogul_app.command("sync")
def chartmogul_sync_command(
    warehouse: Annotated[
        str | None,
        typer.Option(
            "--warehouse",
            metavar="PATH",
            help="DuckDB file or postgresql:// URL (env REVWH_WAREHOUSE; default "
            "warehouse/revenue.duckdb).",
        ),
    ] = None,
    chartmogul_api_base: ChartMogulApiBase = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Say what would be sent; send and write nothing."),
    ] = False,
    retry_parked: Annotated[
        bool,
        typer.Option(
            "--retry-parked", help="Try again the objects parked after repeated failures."
        ),
    ] = False,
    reset_state: Annotated[
        bool,
        typer.Option(
            "--reset-state",
            help="Forget what was recorded as sent and send everything to the data source "
            "configured now (a new ChartMogul account or data source name).",
        ),
    ] = False,
) -> None:
    """Send the warehouse's export marts (marts.chartmogul_export_*) to a ChartMogul custom
    data source: only what is new or changed since the last sync, retried, recorded in
    schema chartmogul_sync (object_state, sync_log). Key: env CHARTMOGUL_API_KEY; the
    other settings: CHARTMOGUL_DATA_SOURCE_NAME, CHARTMOGUL_SYNC_* (see .env.example).
    Exits 1 when an object failed or the sync could not run."""
    from ingestion.chartmogul.client import ChartMogulError
    from serving.chartmogul_sync import SyncSettings, sync_chartmogul

    target = Warehouse.of(_check_warehouse(warehouse))
    if not target.is_postgres and not target.path.is_file():
        console.print(
            f"[bold red]error:[/] no DuckDB warehouse at {escape(str(target))}: run the "
            "pipeline first (`revwh run`), which builds what ChartMogul is sent",
            highlight=False,
        )
        raise typer.Exit(1)
    try:
        # asked for by name: a missing key is an error, not a skipped sync
        settings = SyncSettings.from_env(
            api_base=chartmogul_api_base, enabled=True, retry_parked=retry_parked or None
        )
        with ExitStack() as stack:
            if not dry_run:  # one writing run at a time on a DuckDB file
                stack.enter_context(target.writer())
            report = sync_chartmogul(
                target,
                settings=settings,
                dry_run=dry_run,
                reset_state=reset_state,
                progress=lambda line: console.print(escape(line), highlight=False),
            )
    except (ChartMogulError, WarehouseLockedError) as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    for line in report.summary():
        console.print(escape(line), highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@kpis_app.command("export")
def kpis_export(
    start: Annotated[str, typer.Option("--start", help="First date, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Last date, YYYY-MM-DD (included).")],
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write here (default: stdout).")
    ] = None,
    warehouse: Annotated[
        str | None,
        typer.Option(
            "--warehouse",
            metavar="PATH",
            help="DuckDB file or postgresql:// URL (env REVWH_WAREHOUSE; default "
            "warehouse/revenue.duckdb).",
        ),
    ] = None,
) -> None:
    """Write the KPIs dated START..END as JSON: per date, KPI and segment the value, unit,
    target, data_quality (actual | estimated | insufficient_data), reason and method."""
    from revwh.kpis import KpiExportError, export_document, write_export

    first, last = _parse_date(start, option="--start"), _parse_date(end, option="--end")
    if first > last:
        raise _bad("--start", f"{first} is after --end {last}: give the earlier date first")
    try:
        document = export_document(_check_warehouse(warehouse), first, last)
    except (KpiExportError, WarehouseLockedError) as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    text = write_export(document, out)
    if out is None:
        typer.echo(text, nl=False)
    else:
        console.print(f"{len(document['kpis'])} KPI rows written to {out}", highlight=False)


if __name__ == "__main__":
    app()
