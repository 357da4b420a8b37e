"""Benchmark: Stripe backfill and incremental loads through the stand-in.

    uv run python -m benchmarks.stripe_load [--scale medium|large] [--repeat 3]

Backfills the world from the stand-in set to 100 requests/s with 50 ms latency, each load
in a process of its own (the stand-in in another), and prints extraction, normalize and
load times, objects per second next to the ceiling that rate allows (100 requests/s x 100
objects a page) and the peak memory of the loader's process tree. Then advances the world
by one day and runs the incremental load twice: with the local dlt pipeline folder, and
from a copy of the warehouse with no pipeline folder (a new machine, state restored from
the warehouse), printing requests next to what the changed objects strictly need: one
retrieve per changed object that already existed, one list page per 100 new ones. Times
and memory are medians of `--repeat` runs."""

from __future__ import annotations

import math
import os
import shutil
import statistics
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

from benchmarks.memory import TreePeak
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


LOAD_IN_CHILD = (
    "import json, sys\n"
    "from ingestion.stripe.load import load_stripe\n"
    "r = load_stripe('sk_test_bench', sys.argv[1], sys.argv[2], requests_per_second=float(sys.argv[3]), progress=None)\n"
    "print(json.dumps({'rows': r.rows, 'requests': r.requests, 'notes': r.notes,"
    " 'extract': r.extract_seconds, 'normalize': r.normalize_seconds, 'load': r.load_seconds}))\n"
)


def load_in_child(url: str, warehouse: Path, pipelines: Path) -> dict:
    """One `load_stripe` in a process of its own: wall time and the peak resident memory of
    that process and its normalize workers (the stand-in is not counted)."""
    env = {**os.environ, "REVWH_PIPELINES_DIR": str(pipelines), "RUNTIME__LOG_LEVEL": "ERROR"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", LOAD_IN_CHILD, url, str(warehouse), str(RATE)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    with TreePeak(process.pid) as peak:
        out, _ = process.communicate()
    if process.returncode:
        raise RuntimeError(f"the load failed (exit {process.returncode})")
    result = orjson.loads(out.strip().splitlines()[-1])
    result["seconds"] = time.perf_counter() - started
    result["peak_mb"] = peak.mb
    return result


def _fresh(base: Path, *names: str) -> None:
    """Remove what an earlier run left: folders, and files with their DuckDB companions."""
    for name in names:
        for stale in base.glob(name + "*"):
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()


def run_once(base: Path, day0: Path, day1: Path) -> dict:
    """Backfill day 0, then the day-1 incremental twice: with the local pipeline folder,
    and from a copy of the warehouse with no pipeline folder (a new machine)."""
    _fresh(base, "pipelines", "pipelines_new_machine", "stripe.duckdb", "stripe_copy.duckdb")
    for log in base.glob("*.log"):
        log.unlink()  # the stand-in appends to its request log
    warehouse, copy = base / "stripe.duckdb", base / "stripe_copy.duckdb"
    with standin_process(day0 / "stripe", base / "day0.log") as url:
        backfill = load_in_child(url, warehouse, base / "pipelines")
    backfill["throttled"] = _statuses(base / "day0.log")[429]
    shutil.copy(warehouse, copy)
    with standin_process(day1 / "stripe", base / "day1.log") as url:
        incremental = load_in_child(url, warehouse, base / "pipelines")
    with standin_process(day1 / "stripe", base / "day1_new_machine.log") as url:
        new_machine = load_in_child(url, copy, base / "pipelines_new_machine")
    return {"backfill": backfill, "incremental": incremental, "new_machine": new_machine}


def _median(runs: list[dict], step: str, key: str) -> float:
    return statistics.median(run[step][key] for run in runs)


def main(argv: list[str]) -> None:
    scale = argv[argv.index("--scale") + 1] if "--scale" in argv else "medium"
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 3
    console = Console(width=140)
    base = Path("warehouse/bench/stripe")
    day0, day1 = base / "day0", base / "day1"
    for folder, as_of in ((day0, AS_OF), (day1, AS_OF + timedelta(days=1))):
        manifest = folder / "stripe" / "manifest.json"
        if not manifest.exists() or orjson.loads(manifest.read_bytes())["scale"] != scale:
            console.print(f"generating the {scale} world as of {as_of}...")
            generate_world(scale, 42, as_of, folder, start=START)
    runs = []
    for n in range(repeat):
        console.print(
            f"run {n + 1} of {repeat}: backfill, incremental, incremental on a new machine"
        )
        runs.append(run_once(base, day0, day1))
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
    backfill = runs[0]["backfill"]
    objects = sum(n for t, n in backfill["rows"].items() if t in TOP_LEVEL)
    rows = sum(backfill["rows"].values())
    extract = _median(runs, "backfill", "extract")
    total = _median(runs, "backfill", "seconds")
    table = Table(
        title=f"Stripe load, {scale} world, stand-in at {RATE} req/s + {LATENCY_MS} ms latency, "
        f"median of {repeat}"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target / reference", justify="right")
    table.add_row("backfill: objects fetched / rows loaded", f"{objects:,} / {rows:,}", "")
    table.add_row(
        "backfill: requests (429 answered)",
        f"{backfill['requests']:,} ({backfill['throttled']})",
        f"{math.ceil(objects / 100):,} full pages minimum",
    )
    table.add_row(
        "backfill: extraction",
        f"{extract:.1f} s, {objects / extract:,.0f} objects/s",
        f">= 8,000 objects/s (ceiling {RATE * 100:,})",
    )
    table.add_row("backfill: normalize", f"{_median(runs, 'backfill', 'normalize'):.1f} s", "")
    table.add_row("backfill: load", f"{_median(runs, 'backfill', 'load'):.1f} s", "")
    table.add_row(
        "backfill: end to end",
        f"{total:.1f} s, {objects / total:,.0f} objects/s",
        ">= 5,000 objects/s (under 40 s)",
    )
    table.add_row(
        "backfill: peak memory", f"{_median(runs, 'backfill', 'peak_mb'):,.0f} MB", "<= 2,048 MB"
    )
    table.add_row(
        "incremental: new / changed objects",
        f"{sum(map(len, new.values())):,} / {len(changed_existing):,}",
        "",
    )
    for step, label in (
        ("incremental", "incremental"),
        ("new_machine", "incremental, new machine"),
    ):
        table.add_row(
            f"{label}: requests",
            f"{runs[0][step]['requests']:,}",
            f"strictly needed {needed:,}; target <= {2 * needed:,}",
        )
        table.add_row(
            f"{label}: time, peak memory",
            f"{_median(runs, step, 'seconds'):.1f} s, {_median(runs, step, 'peak_mb'):,.0f} MB",
            "",
        )
    console.print(table)
    for note in runs[0]["new_machine"]["notes"]:
        console.print(f"note: {note}")


if __name__ == "__main__":
    main(sys.argv[1:])
