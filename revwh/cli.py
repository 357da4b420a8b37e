"""`revwh`: the revenue warehouse's command line."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(
    help="Revenue warehouse: MRR, movements and KPIs you own.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
sandbox_app = typer.Typer(
    help="The simulated SaaS business and its local API stand-ins.", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")
console = Console()


def _parse_date(value: str | None, default: date | None = None) -> date | None:
    if value is None:
        return default
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Simulated today, YYYY-MM-DD (default: today).")
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
                _parse_date(as_of, date.today()),
                out,
                start=_parse_date(start),
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
) -> None:
    """Serve Stripe fixtures over HTTP so the real `stripe` SDK can run against them."""
    from sandbox.stripe.server import serve

    if not 0 <= fault_rate <= 1:
        raise typer.BadParameter("--fault-rate must be between 0 and 1")
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
    )


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option(help="Where the sandbox world goes.")] = Path(
        "warehouse/sandbox"
    ),
    seed: Annotated[int, typer.Option()] = 42,
    as_of: AsOf = None,
    scale: Annotated[str, typer.Option()] = "small",
) -> None:
    """The main job on the embedded default: simulate, serve as Stripe, read back with the
    real SDK, summarise."""
    from revwh.demo import run_demo

    run_demo(out, seed, _parse_date(as_of, date.today()), scale, console)


if __name__ == "__main__":
    app()
