"""The demo job: build the small sandbox world, then run the whole pipeline on it exactly as
`revwh run --reconcile` does (the Dagster graph in-process: Stripe through the stand-in and
the official SDK, the app database, cost sheets and FX rates, `dbt build`, the quality
checks, the reconciliation against the ChartMogul stand-in holding the same business, the
published copy), and show what landed next to what the simulator knows: raw row counts, the
last months of the MRR bridge, the headline KPIs, the warehouse's MRR next to the ground
truth and the reconciliation status, then what to do next.

The demo writes the warehouse every other command reads by default (REVWH_WAREHOUSE, else
warehouse/revenue.duckdb), so `revwh kpis export` and the rest work right after it; it marks
the file as the demo's and never writes over a warehouse it did not write."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from core.warehouse import Warehouse
from sandbox.chartmogul import ChartMogulStandIn
from sandbox.world.generate import STRIPE_RESOURCES, generate_world

from .pipeline import Inputs, PipelineResult, run_pipeline

RAW_DATASETS = ("raw_stripe", "raw_app", "raw_costs", "raw_fx")
BRIDGE_MONTHS = 6
BRIDGE_COLUMNS = (
    "month",
    "mrr_start",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churned_mrr",
    "fx_adjustment",
    "mrr_end",
    "paying_customers_end",
)
CENT = Decimal("0.01")
# a table in the warehouse's main schema: the file holds the demo's sandbox business
DEMO_MARKER = "revwh_demo"
# the demo's ChartMogul is the local stand-in: this key never leaves the machine
DEMO_CHARTMOGUL_KEY = "cm_demo_standin"
# the demo's ChartMogul learns the business from the sync alone: every day within this
DEMO_THRESHOLD_PERCENT = "0.1"
# (kpi, label) of the company-wide headline, from marts.kpis on the as-of date
HEADLINE_KPIS = (
    ("mrr", "MRR"),
    ("mrr_growth_rate", "MRR growth (month to date)"),
    ("arpa", "ARPA"),
    ("customer_churn_rate", "Customer churn (month to date)"),
    ("nrr", "Net revenue retention"),
)


def _table_counts(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN (?, ?, ?, ?) AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\' "
        "ORDER BY 1, 2",
        list(RAW_DATASETS),
    ).fetchall()
    return {(s, t): con.execute(f'SELECT count(*) FROM {s}."{t}"').fetchone()[0] for s, t in tables}


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
            "AND table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def mrr_bridge(con: duckdb.DuckDBPyConnection, months: int = BRIDGE_MONTHS) -> list[tuple] | None:
    """The last `months` rows of marts.mrr_summary_monthly, oldest first (None: not built)."""
    if not _has_table(con, "marts", "mrr_summary_monthly"):
        return None
    rows = con.execute(
        f"SELECT {', '.join(BRIDGE_COLUMNS)} FROM marts.mrr_summary_monthly "
        "ORDER BY month DESC LIMIT ?",
        [months],
    ).fetchall()
    return rows[::-1]


def warehouse_mrr(con: duckdb.DuckDBPyConnection, as_of: date) -> tuple[Decimal, int] | None:
    """(mrr_end, paying_customers_end) of the as-of day in marts.mrr_summary_daily (None:
    not built or no row)."""
    if not _has_table(con, "marts", "mrr_summary_daily"):
        return None
    row = con.execute(
        "SELECT mrr_end, paying_customers_end FROM marts.mrr_summary_daily WHERE summary_date = ?",
        [as_of],
    ).fetchone()
    return None if row is None or row[0] is None else (Decimal(str(row[0])), int(row[1] or 0))


def headline_kpis(con: duckdb.DuckDBPyConnection, as_of: date) -> list[tuple]:
    """(label, value, unit, data_quality, reason) of the headline KPIs on `as_of`, company
    wide (segment `all`), in HEADLINE_KPIS order; empty when marts.kpis is not built."""
    if not _has_table(con, "marts", "kpis"):
        return []
    rows = {
        kpi: rest
        for kpi, *rest in con.execute(
            "SELECT kpi, value, unit, data_quality, reason FROM marts.kpis "
            "WHERE date = ? AND segment = 'all'",
            [as_of],
        ).fetchall()
    }
    return [(label, *rows[kpi]) for kpi, label in HEADLINE_KPIS if kpi in rows]


def _forget_chartmogul_sync(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("drop schema if exists chartmogul_sync cascade")


def chartmogul_sync_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What the last ChartMogul sync sent, per object type (chartmogul_sync.sync_log)."""
    if not _has_table(con, "chartmogul_sync", "sync_log"):
        return []
    rows = con.execute(
        """
        select object_type, created, updated, deleted, unchanged, failed, refused, requests,
               epoch(finished_at - started_at)
        from chartmogul_sync.sync_log
        where run_id = (select max_by(run_id, started_at) from chartmogul_sync.sync_log
                        where not dry_run)
        order by array_position(
            ['data_source', 'plan', 'customer', 'invoice', 'transaction', 'cancellation'],
            object_type)
        """
    ).fetchall()
    lines = []
    for kind, created, updated, deleted, unchanged, failed, refused, _requests, _seconds in rows:
        if kind == "data_source":
            continue
        parts = [f"{created:,} created"]
        parts += [f"{n:,} {label}" for n, label in (
            (updated, "updated"), (deleted, "deleted and re-imported"), (unchanged, "unchanged"),
            (failed, "failed"), (refused, "refused")) if n]  # fmt: skip
        lines.append(f"{kind}s: {', '.join(parts)}")
    if rows:
        requests = sum(r[7] for r in rows)
        seconds = max(r[8] or 0 for r in rows)
        lines.append(f"{requests:,} requests in {seconds:.1f} s")
    return lines


def _kpi_value(value, unit: str) -> str:
    if value is None:
        return "n/a"
    value = Decimal(str(value))
    if unit == "ratio":
        return f"{value * 100:.2f} %"
    return f"{_cents(value):,} {unit}"


def _headline_table(rows: list[tuple], as_of: date) -> Table:
    table = Table(title=f"Headline KPIs on {as_of} (marts.kpis, segment all)")
    for column in ("KPI", "value", "data quality"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for label, value, unit, quality, reason in rows:
        table.add_row(label, _kpi_value(value, unit), quality + (f": {reason}" if reason else ""))
    return table


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _money(value: object) -> str:
    return "" if value is None else f"{_cents(Decimal(str(value))):,}"


def _bridge_table(rows: list[tuple]) -> Table:
    table = Table(title=f"MRR bridge, last {len(rows)} months (marts.mrr_summary_monthly, USD)")
    for column in BRIDGE_COLUMNS:
        table.add_column(
            column.removesuffix("_mrr"), justify="left" if column == "month" else "right"
        )
    for row in rows:
        month, *amounts, paying = row
        shown = month.strftime("%Y-%m") if hasattr(month, "strftime") else str(month)
        table.add_row(shown, *(_money(a) for a in amounts), f"{paying:,}")
    return table


class DemoError(RuntimeError):
    """The demo cannot start: the message says why and what to pass."""


def demo_warehouse(given: Path | str | None = None) -> Path:
    """The DuckDB file the demo writes: `given`, else the default warehouse of every command.
    Refuses a PostgreSQL warehouse and a file the demo did not write."""
    target = Warehouse.of(given)
    if target.is_postgres:
        raise DemoError(
            "the demo writes a DuckDB file, and REVWH_WAREHOUSE is a PostgreSQL URL: pass "
            "--warehouse PATH (e.g. warehouse/demo.duckdb)"
        )
    if target.path.exists() and not _written_by_demo(target.path):
        raise DemoError(
            f"{_shown(target.path)} holds a warehouse the demo did not write, and the demo "
            "would reload it with the sandbox business: pass --warehouse PATH (e.g. "
            "warehouse/demo.duckdb) to run the demo elsewhere"
        )
    return target.path


def _written_by_demo(path: Path) -> bool:
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            return _has_table(con, "main", DEMO_MARKER)
    except duckdb.Error:
        # held by a writer, or not a DuckDB file: the run's own checks stop and say which
        return True


def _mark_as_demo(path: Path, scale: str, seed: int, as_of: date, world: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(
            f"CREATE OR REPLACE TABLE main.{DEMO_MARKER} AS SELECT ? AS scale, ? AS seed, "
            "?::DATE AS as_of, ? AS world, now() AS written_at",
            [scale, seed, as_of, str(world.resolve())],
        )


def _shown(path: Path | str) -> str:
    """A path as a user in this folder would type it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _uv_run() -> str:
    """How to run a project command here: uv on PATH, else the uv `make` bootstrapped."""
    if shutil.which("uv") is None and Path(".tools/bin/uv").exists():
        return ".tools/bin/uv run"
    return "uv run"


def next_steps(warehouse: Path, result: PipelineResult, as_of: date) -> list[str]:
    """What to do after a demo: where the published copy is and how to query it with what
    the project installs, the KPI export, Dagster's UI and dbt's docs."""
    uv = _uv_run()
    lines = []
    default = Warehouse.of(None)
    pass_warehouse = (
        "" if default.target == str(warehouse.resolve()) else f" --warehouse {_shown(warehouse)}"
    )
    if result.published:
        published = _shown(result.published)
        query = "select * from marts.mrr_summary_monthly order by month desc limit 3"
        lines += [
            f"The marts for BI tools and notebooks (read-only copy): {published}",
            f"  query it: {uv} python -c \"import duckdb; duckdb.connect('{published}', "
            f"read_only=True).sql('{query}').show()\"",
        ]
    start = (as_of - timedelta(days=6)).isoformat()
    lines.append(
        f"The KPIs as JSON: {uv} revwh kpis export --start {start} --end {as_of}{pass_warehouse}"
    )
    if result.run_id and result.dagster_home:
        lines.append(
            f"Dagster's UI with this run ({result.run_id[:8]}) and the whole graph: make dagster, "
            "then http://127.0.0.1:3000/runs"
        )
    else:
        lines.append(
            "Dagster's UI on the whole graph: make dagster (a demo started by `make demo` "
            "shows there as a run)"
        )
    docs = warehouse.parent / "published" / "docs" / "index.html"
    if docs.exists():
        lines.append(f"dbt's docs (models, columns, lineage): open {_shown(docs)} in a browser")
    return lines


def run_demo(
    out: Path,
    seed: int,
    as_of: date,
    scale: str = "small",
    console: Console | None = None,
    warehouse: Path | str | None = None,
) -> dict:
    """Raises DemoError (nothing written) when the warehouse is not the demo's to write."""
    console = console or Console()
    warehouse = demo_warehouse(warehouse)
    with Progress(console=console, transient=True) as progress:
        manifest = generate_world(scale, seed, as_of, out, progress=progress)
    if warehouse.exists():
        # a new, empty ChartMogul each time: what an earlier demo sent went to another one
        _forget_chartmogul_sync(warehouse)
    console.print(
        f"[bold]Sandbox world[/] {scale}, seed {seed}, as of {as_of}: "
        f"{manifest['accounts']:,} accounts in {manifest['seconds']['total']} s -> {out}"
    )
    # The world is generated afresh, so everything is reloaded and rebuilt. ChartMogul is the
    # stand-in, started EMPTY: the run syncs the warehouse's export marts into it, and the
    # reconciliation compares our MRR with what it computes from nothing but that, on every
    # day of the history, within 0.1 %.
    history_days = (as_of - date.fromisoformat(str(manifest["start"]))).days + 1
    with ChartMogulStandIn(
        as_of=as_of, api_key=DEMO_CHARTMOGUL_KEY, fx_rates=out / "fx_rates.csv"
    ) as chartmogul:
        result = run_pipeline(
            Inputs.from_world(out),
            as_of,
            str(warehouse),
            full_refresh=True,
            console=console,
            reconcile=True,
            sync_chartmogul=True,
            # the stand-in is local: no need to keep to ChartMogul's 40 requests/s
            chartmogul_sync_rps=0,
            chartmogul_api_base=chartmogul.url,
            chartmogul_api_key=DEMO_CHARTMOGUL_KEY,
            reconciliation_config={
                "days": history_days,
                "month_ends": 0,
                "threshold_percent": DEMO_THRESHOLD_PERCENT,
            },
        )
    if warehouse.exists():
        _mark_as_demo(warehouse, scale, seed, as_of, out)

    counts: dict[tuple[str, str], int] = {}
    bridge = mrr = None
    headline: list[tuple] = []
    sync_lines: list[str] = []
    has_daily = False
    if warehouse.exists():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            counts = _table_counts(con)
            if result.build is not None and result.build.success:
                bridge = mrr_bridge(con)
                has_daily = _has_table(con, "marts", "mrr_summary_daily")
                mrr = warehouse_mrr(con, as_of)
                headline = headline_kpis(con, as_of)
            sync_lines = chartmogul_sync_lines(con)

    table = Table(title=f"Warehouse {warehouse}: raw tables after the load")
    for column in ("dataset", "table", "rows", "in the sandbox files"):
        table.add_column(column, justify="right" if column != "table" else "left")
    for (schema, name), rows in counts.items():
        expected = ""
        if schema == "raw_stripe" and name in manifest["stripe_objects"]:
            expected = f"{manifest['stripe_objects'][name]:,}"
        elif schema == "raw_app" and name in manifest["app_rows"]:
            expected = f"{manifest['app_rows'][name]:,}"
        table.add_row(schema, name, f"{rows:,}", expected)
    console.print(table)

    if bridge:
        # ten money columns need about 130 characters; piped output defaults to 80
        wide = Console(
            file=console.file,
            width=max(console.width, 132),
            force_terminal=console.is_terminal,
            color_system=console.color_system,
        )
        wide.print(_bridge_table(bridge))
    elif result.ok:
        console.print("[yellow]marts.mrr_summary_monthly is not built by this dbt project yet.[/]")

    summary = orjson.loads((out / "ground_truth" / "summary.json").read_bytes())
    truth = Decimal(summary["mrr_usd"])
    console.print(
        f"MRR of the simulated business on {as_of}: [bold]${truth:,.2f}[/] "
        f"(ARR ${truth * 12:,.2f}) from {summary['paying_customers']:,} paying "
        f"customers across Stripe, PayPal and the local gateway (ground truth)."
    )
    mismatch = False
    if mrr is not None:
        amount, paying = mrr
        mismatch = _cents(amount) != _cents(truth)
        verdict = (
            f"[red]{_cents(amount - truth):+,} USD off the ground truth[/]"
            if mismatch
            else "[green]matching the ground truth to the cent[/]"
        )
        console.print(
            f"MRR in the warehouse on {as_of} (marts.mrr_summary_daily): "
            f"[bold]${_cents(amount):,}[/] from {paying:,} paying customers, {verdict}."
        )
    elif has_daily:
        console.print(f"[red]marts.mrr_summary_daily has no row for {as_of}.[/]")
        mismatch = True
    elif result.ok:
        console.print("[yellow]marts.mrr_summary_daily is not built by this dbt project yet.[/]")

    if headline:
        console.print(_headline_table(headline, as_of))
    if sync_lines:
        console.print(
            "[bold]ChartMogul sync[/] (the warehouse's export marts into an empty stand-in)"
        )
        for line in sync_lines:
            console.print(f"  {escape(line)}", highlight=False)
    if result.reconciliation is not None:
        colour = "green" if result.reconciliation.passed else "red"
        console.print(
            f"[bold {colour}]Reconciliation with ChartMogul:[/] "
            f"{escape(result.reconciliation.message)}",
            highlight=False,
        )

    missing = [
        r
        for r in STRIPE_RESOURCES
        if counts.get(("raw_stripe", r), 0) != manifest["stripe_objects"][r]
    ]
    problems = _problems(result, missing, mismatch)
    if problems:
        raise SystemExit("the demo failed:\n  " + "\n  ".join(problems))
    console.print("[bold]Next steps[/]")
    for line in next_steps(warehouse, result, as_of):
        console.print(f"  {escape(line)}", highlight=False)
    return {
        "manifest": manifest,
        "counts": counts,
        "build": result.build,
        "headline": headline,
        "reconciliation": result.reconciliation,
        "bridge": bridge,
        "mrr": mrr[0] if mrr else None,
        "warehouse": warehouse,
        "result": result,
    }


def _problems(result: PipelineResult, missing: list[str], mismatch: bool) -> list[str]:
    problems = result.problems()
    if missing:
        problems.append(f"Stripe objects missing from raw_stripe: {', '.join(missing)}")
    if mismatch:
        problems.append("the warehouse's MRR does not match the ground truth")
    return problems
