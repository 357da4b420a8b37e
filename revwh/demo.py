"""The demo job: build the small sandbox world, serve it as Stripe, page through it with the
real `stripe` SDK and summarise what came back next to what the simulator knows."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import orjson
import stripe
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from sandbox.stripe.server import StripeStandIn
from sandbox.world.generate import STRIPE_RESOURCES, generate_world

# Parameters that undo Stripe's list defaults, which would otherwise hide objects.
LIST_PARAMS = {
    "subscriptions": [{"status": "all"}],
    "prices": [{"active": True}, {"active": False}],
}


def page_all(client: stripe.StripeClient, resource: str, progress=None) -> Counter:
    """Objects per resource (and invoice lines) fetched through the SDK's auto-paging."""
    service = getattr(client.v1, resource)
    counts: Counter = Counter()
    task = progress.add_task(f"stripe {resource}", total=None) if progress else None
    for params in LIST_PARAMS.get(resource, [{}]):
        for obj in service.list(params={"limit": 100, **params}).auto_paging_iter():
            counts[resource] += 1
            if resource == "invoices":
                lines = obj.lines
                counts["invoice_lines"] += len(lines.data)
                if lines.has_more:
                    counts["invoice_lines"] += sum(
                        1
                        for _ in client.v1.invoices.line_items.list(
                            obj.id, params={"limit": 100, "starting_after": lines.data[-1].id}
                        ).auto_paging_iter()
                    )
            if progress:
                progress.advance(task)
    return counts


def run_demo(
    out: Path, seed: int, as_of: date, scale: str = "small", console: Console | None = None
) -> dict:
    console = console or Console()
    with Progress(console=console, transient=True) as progress:
        manifest = generate_world(scale, seed, as_of, out, progress=progress)
    console.print(
        f"[bold]Sandbox world[/] {scale}, seed {seed}, as of {as_of}: "
        f"{manifest['accounts']:,} accounts in {manifest['seconds']['total']} s -> {out}"
    )
    fetched: Counter = Counter()
    with StripeStandIn(out / "stripe", rate_limit=None) as standin:
        client = stripe.StripeClient(
            "sk_test_sandbox", base_addresses={"api": standin.url}, max_network_retries=3
        )
        with Progress(console=console, transient=True) as progress:
            for resource in STRIPE_RESOURCES:
                fetched.update(page_all(client, resource, progress))
        requests = len(standin.requests)
    table = Table(
        title=f"Stripe stand-in at {standin.url}, paged with stripe "
        f"{stripe.VERSION} ({requests:,} requests)"
    )
    table.add_column("resource")
    table.add_column("in fixtures", justify="right")
    table.add_column("fetched via SDK", justify="right")
    for resource in STRIPE_RESOURCES:
        table.add_row(
            resource, f"{manifest['stripe_objects'][resource]:,}", f"{fetched[resource]:,}"
        )
    table.add_row("invoice lines", "", f"{fetched['invoice_lines']:,}")
    console.print(table)
    summary = orjson.loads((out / "ground_truth" / "summary.json").read_bytes())
    mrr = Decimal(summary["mrr_usd"])
    console.print(
        f"MRR of the simulated business on {as_of}: [bold]${mrr:,.2f}[/] "
        f"(ARR ${mrr * 12:,.2f}) from {summary['paying_customers']:,} paying "
        f"customers across Stripe, PayPal and the local gateway (ground truth)."
    )
    missing = {r for r in STRIPE_RESOURCES if fetched[r] != manifest["stripe_objects"][r]}
    if missing:
        raise SystemExit(f"the SDK did not get every object back for: {', '.join(missing)}")
    return {"manifest": manifest, "fetched": dict(fetched)}
