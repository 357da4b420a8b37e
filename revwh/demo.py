"""The demo job: build the small sandbox world, serve it as Stripe, load every source into
the warehouse through the real pipelines (Stripe through the official SDK), and summarise
what landed next to what the simulator knows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import orjson
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ingestion.run import SOURCES, load, sandbox_options
from sandbox.stripe.server import StripeStandIn
from sandbox.world.generate import STRIPE_RESOURCES, generate_world

RAW_DATASETS = ("raw_stripe", "raw_app", "raw_costs", "raw_fx")


def _table_counts(warehouse: Path) -> dict[tuple[str, str], int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN (?, ?, ?, ?) AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\' "
            "ORDER BY 1, 2",
            list(RAW_DATASETS),
        ).fetchall()
        return {
            (s, t): con.execute(f'SELECT count(*) FROM {s}."{t}"').fetchone()[0] for s, t in tables
        }


def run_demo(
    out: Path,
    seed: int,
    as_of: date,
    scale: str = "small",
    console: Console | None = None,
    warehouse: Path | None = None,
) -> dict:
    console = console or Console()
    warehouse = warehouse or out.parent / "demo.duckdb"
    with Progress(console=console, transient=True) as progress:
        manifest = generate_world(scale, seed, as_of, out, progress=progress)
    console.print(
        f"[bold]Sandbox world[/] {scale}, seed {seed}, as of {as_of}: "
        f"{manifest['accounts']:,} accounts in {manifest['seconds']['total']} s -> {out}"
    )
    options = sandbox_options(
        out, target=str(warehouse), stripe_api_key="sk_test_sandbox", full_refresh=True
    )
    reports = []
    with StripeStandIn(out / "stripe", rate_limit=None) as standin:
        options.stripe_api_base = standin.url
        for source in SOURCES:
            console.print(f"loading {source}...")
            reports.append(load(source, options, required=True))
    for report in reports:
        console.print(f"  {report.summary()}")
        for reason, count in report.rejected.most_common():
            console.print(f"    rejected {count:,}: {reason}")
    counts = _table_counts(warehouse)
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
    summary = orjson.loads((out / "ground_truth" / "summary.json").read_bytes())
    mrr = Decimal(summary["mrr_usd"])
    console.print(
        f"MRR of the simulated business on {as_of}: [bold]${mrr:,.2f}[/] "
        f"(ARR ${mrr * 12:,.2f}) from {summary['paying_customers']:,} paying "
        f"customers across Stripe, PayPal and the local gateway (ground truth; "
        f"the warehouse computes its own from the next milestone on)."
    )
    missing = [
        r
        for r in STRIPE_RESOURCES
        if counts.get(("raw_stripe", r), 0) != manifest["stripe_objects"][r]
    ]
    if missing or not all(r.ok for r in reports):
        raise SystemExit(f"the load is incomplete: {', '.join(missing) or 'see errors above'}")
    return {"manifest": manifest, "counts": counts, "reports": reports}
