"""Generate the simulated business: Stripe fixtures, app database, cost sheets, FX, truth.

Accounts are simulated in fixed chunks (in parallel processes when there are several) that
stream their output to part files; the parts are joined in chunk order, so the result is
byte-identical for the same seed, scale, start and as-of date whatever the worker count.
"""

from __future__ import annotations

import csv
import math
import multiprocessing
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import orjson

from . import app_db, costs
from . import stripe_shapes as shapes
from .account import AccountSimulation, WorldContext
from .catalog import SCALES, default_start
from .fx import FxRates
from .ground_truth import CHANGE_COLUMNS, MOVEMENT_COLUMNS, customer_history
from .pricebook import PriceBook
from .timeutil import DAY, iso, ts_of

STRIPE_RESOURCES = (
    "customers",
    "products",
    "prices",
    "coupons",
    "subscriptions",
    "invoices",
    "charges",
    "refunds",
    "credit_notes",
    "events",
)
SIMULATED_RESOURCES = (
    "customers",
    "subscriptions",
    "invoices",
    "charges",
    "refunds",
    "credit_notes",
    "events",
)
CHUNK_SIZE = 1_000
CUSTOMER_COLUMNS = (
    "customer_id",
    "account_id",
    "stripe_customer_id",
    "gateway",
    "acquisition_channel",
    "country",
    "currency",
    "signed_up_at",
    "path",
    "trial_started_at",
    "trial_converted",
    "first_paid_date",
    "cohort_month",
    "status",
    "current_mrr",
    "current_mrr_original",
)
SUBSCRIPTION_COLUMNS = (
    "subscription_id",
    "customer_id",
    "gateway",
    "plan_id",
    "billing_interval",
    "quantity",
    "currency",
    "status",
    "started_at",
    "trial_end",
    "canceled_at",
    "ended_at",
    "cancellation_reason",
    "coupon_id",
    "current_mrr",
)


@dataclass(frozen=True)
class WorldSpec:
    scale: str
    seed: int
    as_of: date
    start: date

    @property
    def years(self) -> int:
        return SCALES[self.scale].years

    @property
    def nominal_end(self) -> date:
        """Where the scale's nominal span ends; fixed by the start, not by the as-of date."""
        return self.start.replace(year=self.start.year + self.years)

    @property
    def cutoff(self) -> int:
        return ts_of(self.as_of + timedelta(days=1))

    def context(self) -> WorldContext:
        usage_from = self.nominal_end - timedelta(days=SCALES[self.scale].usage_days)
        return WorldContext(
            seed=self.seed,
            start_ts=ts_of(self.start),
            cutoff=self.cutoff,
            usage_from_ts=ts_of(usage_from),
            pricebook=PriceBook(ts_of(self.start)),
            fx=FxRates(self.seed, self.start, self.as_of),
        )


def signup_schedule(spec: WorldSpec) -> list[tuple[int, int]]:
    """(account index, sign-up ts): growing about 3x over the nominal span, drawn day by day
    so that a later as-of date only appends accounts."""
    nominal_days = (spec.nominal_end - spec.start).days
    days = (spec.as_of - spec.start).days + 1
    growth = np.exp(math.log(3) * np.arange(max(days, nominal_days)) / nominal_days)
    per_day = SCALES[spec.scale].accounts / growth[:nominal_days].sum()
    counts = np.random.default_rng([spec.seed, 1]).poisson(per_day * growth[:days])
    seconds = np.random.default_rng([spec.seed, 2]).integers(0, DAY, size=int(counts.sum()))
    start_ts = ts_of(spec.start)
    schedule, cursor = [], 0
    for day, count in enumerate(counts.tolist()):
        for second in sorted(seconds[cursor : cursor + count].tolist()):
            schedule.append((len(schedule), start_ts + day * DAY + second))
        cursor += count
    return [(i, ts) for i, ts in schedule if ts < spec.cutoff]


def _write_csv(path: Path, columns, rows) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)


def _simulate_chunk(job) -> dict:
    spec, chunk_no, accounts, parts = job
    ctx = spec.context()
    folder = parts / f"{chunk_no:05d}"
    folder.mkdir(parents=True, exist_ok=True)
    stripe_files = {r: (folder / f"{r}.jsonl").open("wb") for r in SIMULATED_RESOURCES}
    app_rows: dict[str, list] = {t: [] for t in app_db.TABLE_ORDER[1:]}
    customers, subscriptions, changes, movements = [], [], [], []
    stats: Counter = Counter()
    new_paying: Counter = Counter()
    for index, signup_ts in accounts:
        out = AccountSimulation(ctx, index, signup_ts).run()
        for resource, objects in out.stripe.items():
            if objects:
                stripe_files[resource].write(b"".join(orjson.dumps(o) + b"\n" for o in objects))
        for table, rows in out.app.items():
            app_rows[table].extend(rows)
        for kind, month, key, value in out.stats:
            stats[(kind, month, key)] += value
        truth = out.customer_truth
        if truth["stripe_customer_id"] is None and truth["account_id"] is None:
            continue
        history, moves, facts = customer_history(
            truth["customer_id"], truth["currency"], out.mrr_ledger, ctx.fx
        )
        changes.extend(history)
        movements.extend(moves)
        subscriptions.extend(
            tuple(s[c] for c in SUBSCRIPTION_COLUMNS) for s in out.subscriptions_truth
        )
        first_paid = facts["first_paid_date"]
        live = {s["status"] for s in out.subscriptions_truth}
        if facts["current_mrr"] > 0:
            status = "past_due" if live & {"past_due", "unpaid"} else "active"
        else:
            status = "churned" if first_paid else "lead"
        if first_paid:
            new_paying[(first_paid.strftime("%Y-%m"), truth["acquisition_channel"])] += 1
        customers.append(
            (
                truth["customer_id"],
                truth["account_id"],
                truth["stripe_customer_id"],
                truth["gateway"],
                truth["acquisition_channel"],
                truth["country"],
                truth["currency"],
                truth["signed_up_at"],
                truth["path"],
                truth["trial_started_at"],
                truth["trial_converted"],
                first_paid.isoformat() if first_paid else None,
                first_paid.replace(day=1).isoformat() if first_paid else None,
                status,
                facts["current_mrr"],
                facts["current_mrr_original"],
            )
        )
    for f in stripe_files.values():
        f.close()
    conn = app_db.create(folder / "app.sqlite")
    for table, rows in app_rows.items():
        app_db.insert(conn, table, rows)
    conn.commit()
    conn.close()
    _write_csv(folder / "customers.csv", CUSTOMER_COLUMNS, customers)
    _write_csv(folder / "subscriptions.csv", SUBSCRIPTION_COLUMNS, subscriptions)
    _write_csv(folder / "mrr_changes.csv", CHANGE_COLUMNS, changes)
    _write_csv(folder / "mrr_movements.csv", MOVEMENT_COLUMNS, movements)
    mrr = sum((c[14] for c in customers), Decimal(0))
    return {
        "chunk": chunk_no,
        "stats": stats,
        "new_paying": new_paying,
        "accounts": len(accounts),
        "mrr": mrr,
        "paying": sum(1 for c in customers if c[14] > 0),
    }


def _concat(parts: list[Path], target: Path, header: bool) -> int:
    """Join part files in order (CSV parts: keep the first header only). -> data lines."""
    lines = 0
    with target.open("wb") as out:
        for n, part in enumerate(parts):
            with part.open("rb") as f:
                if header and n > 0:
                    f.readline()
                for block in iter(lambda f=f: f.read(1 << 20), b""):
                    out.write(block)
                    lines += block.count(b"\n")
    return lines - (1 if header else 0)


def generate_world(
    scale: str,
    seed: int,
    as_of: date,
    out: Path,
    start: date | None = None,
    workers: int | None = None,
    progress=None,
) -> dict:
    """Write the world under `out` and return its manifest (counts, MRR, timings)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    began = time.perf_counter()
    spec = WorldSpec(scale, seed, as_of, start or default_start(as_of, SCALES[scale].years))
    if spec.start > as_of:
        raise ValueError(f"start {spec.start} is after the as-of date {as_of}")
    out = Path(out)
    for stale in ("stripe", "cost_sheets", "ground_truth", ".parts"):
        shutil.rmtree(out / stale, ignore_errors=True)
    parts = out / ".parts"
    for folder in ("stripe", "ground_truth", "cost_sheets"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    schedule = signup_schedule(spec)
    chunks = [schedule[i : i + CHUNK_SIZE] for i in range(0, len(schedule), CHUNK_SIZE)]
    jobs = [(spec, n, chunk, parts) for n, chunk in enumerate(chunks)]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    results = []
    task = (
        progress.add_task(f"Simulating {len(schedule):,} accounts", total=len(jobs))
        if progress
        else None
    )
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            results.append(_simulate_chunk(job))
            if progress:
                progress.advance(task)
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for result in pool.imap(_simulate_chunk, jobs):
                results.append(result)
                if progress:
                    progress.advance(task)
    simulated_at = time.perf_counter()

    chunk_dirs = [parts / f"{n:05d}" for n in range(len(jobs))]
    ctx = spec.context()
    counts: dict[str, int] = {}
    for resource in SIMULATED_RESOURCES:
        counts[resource] = _concat(
            [d / f"{resource}.jsonl" for d in chunk_dirs],
            out / "stripe" / f"{resource}.jsonl",
            header=False,
        )
    catalog = {
        "products": list(ctx.pricebook.stripe_products(spec.cutoff)),
        "prices": list(ctx.pricebook.stripe_prices(spec.cutoff)),
        "coupons": shapes.all_coupons(ctx.start_ts),
    }
    for resource, objects in catalog.items():
        (out / "stripe" / f"{resource}.jsonl").write_bytes(
            b"".join(orjson.dumps(o) + b"\n" for o in objects)
        )
        counts[resource] = len(objects)
    price_events = [
        shapes.event(f"evt_price_{price_id}", ts, "price.created", ctx.pricebook.get(price_id))
        for ts, price_id in ctx.pricebook.price_events(spec.cutoff)
        if ts >= spec.cutoff - 30 * DAY
    ]
    if price_events:
        with (out / "stripe" / "events.jsonl").open("ab") as f:
            f.write(b"".join(orjson.dumps(e) + b"\n" for e in price_events))
        counts["events"] += len(price_events)
    stripe_manifest = {
        "as_of": as_of.isoformat(),
        "as_of_ts": spec.cutoff - 1,
        "api_version": shapes.API_VERSION,
        "scale": scale,
        "seed": seed,
        "start": spec.start.isoformat(),
    }
    (out / "stripe" / "manifest.json").write_bytes(
        orjson.dumps(stripe_manifest, option=orjson.OPT_INDENT_2)
    )

    app_counts = app_db.merge_parts(
        out / "app.sqlite", [d / "app.sqlite" for d in chunk_dirs], iso(ctx.start_ts)
    )
    truth_counts = {}
    for name in ("customers", "subscriptions", "mrr_changes", "mrr_movements"):
        truth_counts[name] = _concat(
            [d / f"{name}.csv" for d in chunk_dirs],
            out / "ground_truth" / f"{name}.csv",
            header=True,
        )

    stats: Counter = Counter()
    new_paying: Counter = Counter()
    for result in results:
        stats.update(result["stats"])
        new_paying.update(result["new_paying"])
    scale_factor = SCALES[scale].accounts / 20_000
    cost_counts = costs.write_cost_sheets(
        out / "cost_sheets",
        costs.cost_rows(seed, spec.start, as_of, stats, new_paying, scale_factor),
        as_of,
    )
    with (out / "fx_rates.csv").open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("date", "currency", "rate"))
        for day, currency, rate in ctx.fx.rows():
            writer.writerow((day.isoformat(), currency.upper(), rate))
    shutil.rmtree(parts, ignore_errors=True)

    mrr = sum((r["mrr"] for r in results), Decimal(0))
    manifest = {
        **stripe_manifest,
        "accounts": len(schedule),
        "stripe_objects": counts,
        "app_rows": app_counts,
        "ground_truth_rows": truth_counts,
        "cost_sheets": cost_counts,
        "mrr_usd": str(mrr.quantize(Decimal("0.01"))),
        "paying_customers": sum(r["paying"] for r in results),
    }
    (out / "ground_truth" / "summary.json").write_bytes(
        orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    )
    manifest["seconds"] = {
        "simulate": round(simulated_at - began, 2),
        "total": round(time.perf_counter() - began, 2),
    }
    return manifest
