"""Benchmark: Stripe backfill and incremental load through the stand-in.

    uv run python -m benchmarks.stripe_load [--scale medium]

Backfills the world from the stand-in set to 100 requests/s with 50 ms latency and
prints the objects fetched per second of extraction next to the ceiling that rate allows
(100 requests/s x 100 objects per page). Then advances the world by one day and runs an
incremental load, printing its requests next to what the changed objects strictly need:
one retrieve per changed object that already existed, one list page per 100 new ones."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

from ingestion.stripe.load import load_stripe
from ingestion.stripe.resources import BY_OBJECT, RESOURCES
from sandbox.world.generate import generate_world

AS_OF = date(2026, 11, 15)
START = date(2023, 11, 1)
RATE, LATENCY_MS = 100, 50
TOP_LEVEL = {spec.name for spec in RESOURCES} | {"events"}


def _ids(world: Path) -> dict[str, set[str]]:
    out = {}
    for resource in TOP_LEVEL:
        lines = (world / "stripe" / f"{resource}.jsonl").read_bytes().splitlines()
        out[resource] = {orjson.loads(line)["id"] for line in lines}
    return out


@contextmanager
def standin_process(fixtures: Path, log: Path):
    """The stand-in in a process of its own, as Stripe is: the client's parsing and dlt's
    work must not share a GIL with the server. Yields (url, request-log path)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "revwh.cli",
            "sandbox",
            "serve-stripe",
            "--fixtures",
            str(fixtures),
            "--port",
            "0",
            "--rate-limit",
            str(RATE),
            "--latency-ms",
            str(LATENCY_MS),
            "--request-log",
            str(log),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        for line in process.stdout:
            if line.startswith("listening on "):
                yield line.split()[-1]
                break
        else:
            raise RuntimeError("the stand-in did not start")
    finally:
        process.terminate()
        process.wait(timeout=30)


def _statuses(log: Path) -> Counter:
    return Counter(orjson.loads(line)["status"] for line in log.read_bytes().splitlines())


def main(argv: list[str]) -> None:
    scale = argv[argv.index("--scale") + 1] if "--scale" in argv else "medium"
    console = Console(width=140)
    base = Path("warehouse/bench/stripe")
    day0, day1 = base / "day0", base / "day1"
    for folder, as_of in ((day0, AS_OF), (day1, AS_OF + timedelta(days=1))):
        manifest = folder / "stripe" / "manifest.json"
        if not manifest.exists() or orjson.loads(manifest.read_bytes())["scale"] != scale:
            console.print(f"generating the {scale} world as of {as_of}...")
            generate_world(scale, 42, as_of, folder, start=START)
    shutil.rmtree(base / "pipelines", ignore_errors=True)
    for log in base.glob("*.log"):
        log.unlink()  # the stand-in appends to its request log
    for stale in base.glob("stripe.duckdb*"):
        stale.unlink()
    os.environ["REVWH_PIPELINES_DIR"] = str(base / "pipelines")
    warehouse = str(base / "stripe.duckdb")
    with standin_process(day0 / "stripe", base / "day0.log") as url:
        console.print("backfilling...")
        started = time.perf_counter()
        backfill = load_stripe(
            "sk_test_bench", url, warehouse, requests_per_second=RATE, progress=None
        )
        backfill_total = time.perf_counter() - started
    throttled = _statuses(base / "day0.log")[429]
    objects = sum(n for t, n in backfill.rows.items() if t in TOP_LEVEL)
    rate = objects / backfill.extract_seconds
    before, after = _ids(day0), _ids(day1)
    cutoff = orjson.loads((day0 / "stripe" / "manifest.json").read_bytes())["as_of_ts"]
    events = [
        orjson.loads(line) for line in (day1 / "stripe" / "events.jsonl").read_bytes().splitlines()
    ]
    touched = {
        (BY_OBJECT[e["data"]["object"]["object"]].name, e["data"]["object"]["id"])
        for e in events
        if e["created"] >= cutoff and e["data"]["object"].get("object") in BY_OBJECT
    }
    new = {r: after[r] - before[r] for r in TOP_LEVEL}
    changed_existing = {(r, i) for r, i in touched if i not in new[r]}
    needed = len(changed_existing) + sum(math.ceil(len(ids) / 100) for ids in new.values())
    with standin_process(day1 / "stripe", base / "day1.log") as url:
        console.print("incremental run after one simulated day...")
        started = time.perf_counter()
        incremental = load_stripe(
            "sk_test_bench", url, warehouse, requests_per_second=RATE, progress=None
        )
        incremental_total = time.perf_counter() - started
    table = Table(
        title=f"Stripe load, {scale} world, stand-in at {RATE} req/s + {LATENCY_MS} ms latency"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target / reference", justify="right")
    table.add_row("backfill: objects fetched", f"{objects:,}", "")
    table.add_row(
        "backfill: requests (429 answered)",
        f"{backfill.requests:,} ({throttled})",
        f"{math.ceil(objects / 100):,} full pages minimum",
    )
    table.add_row("backfill: extraction time", f"{backfill.extract_seconds:.1f} s", "")
    table.add_row(
        "backfill: objects/s while fetching",
        f"{rate:,.0f}",
        f"ceiling {RATE * 100:,}; target {RATE * 90:,}",
    )
    table.add_row("backfill: end to end (normalize + load)", f"{backfill_total:.1f} s", "")
    table.add_row(
        "incremental: new / changed objects",
        f"{sum(map(len, new.values())):,} / {len(changed_existing):,}",
        "",
    )
    table.add_row(
        "incremental: requests",
        f"{incremental.requests:,}",
        f"strictly needed {needed:,}; target <= {2 * needed:,}",
    )
    table.add_row("incremental: time", f"{incremental_total:.1f} s", "")
    console.print(table)
    for note in incremental.notes:
        console.print(f"note: {note}")


if __name__ == "__main__":
    main(sys.argv[1:])
