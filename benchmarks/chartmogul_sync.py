"""Benchmark: the ChartMogul sync of the medium world into the stand-in, full and incremental.

    uv run python -m benchmarks.chartmogul_sync [--rps 40] [--latency-ms 50] [--rebuild]
        [--prepare-only]

Built warehouses are prepared once and cached under warehouse/bench/chartmogul/ (about 5
minutes; `--rebuild` redoes them): the medium world (seed 42, about 20,000 accounts) as of
2026-11-15 and the same world one day later (same seed and start: the simulator is
prefix-stable, a later as-of only extends history), each through the project's own
`revwh run` (every loader, Stripe replayed through its stand-in, every dbt model): day 0
into a fresh warehouse, day 1 as the incremental run on that warehouse.

Then, on scratch copies:

- full sync: an EMPTY ChartMogul stand-in (in this process, a thread) at `--rps` requests/s
  (token bucket, 429 beyond) and `--latency-ms` per response, with the world's exchange
  rates; `sync_chartmogul` of the day-0 warehouse in a child process at the same request
  budget and 20 connections. Prints requests, requests/s achieved against the allowed
  (goal: at least 90 %), 429s answered, wall time, the peak memory of the sync's process
  and of this process (the stand-in: what was imported, kept in memory), and checks that
  the stand-in's MRR on the as-of date equals `marts.mrr_summary_daily`'s within 0.1 %;
- a second sync with nothing changed: what every run costs whatever changed (reading the
  export marts and the state, planning);
- an hour of changes: the world changes by the day, so an hour is emulated as the day's
  changes of a 24th of the customers they reach (chosen by a hash of their id): a copy of
  the day-1 warehouse whose export marts hold day 0's rows for every other customer, given
  the sync state the full sync left (schema `chartmogul_sync`, copied over: what the sync
  of day 0 followed by `revwh run` of day 1 on the same file would leave), synced into the
  same stand-in; then the rest of the day: the day-1 warehouse itself, given the state the
  hourly sync left. The changed objects of each are counted by diffing the export marts
  before and after, by the keys the sync uses (customer, plan, invoice with its lines and
  transactions, subscription for cancellations; new, changed and gone; only the columns the
  sync sends); goal: at most 2 requests per changed object. Afterwards the stand-in's MRR
  on the next day is checked against day 1's `marts.mrr_summary_daily`.

Figures are printed in a table and written to warehouse/bench/chartmogul/results.json; the
sync's progress lines go to warehouse/bench/chartmogul/sync_*.log."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from benchmarks.memory import TreePeak

AS_OF = date(2026, 11, 15)
NEXT_DAY = AS_OF + timedelta(days=1)
SEED = 42
SCALE = "medium"
BASE = Path("warehouse/bench/chartmogul")
ROOT = Path(__file__).resolve().parent.parent
API_KEY = "cm_test_bench"  # the stand-in's own key: nothing real is ever sent
RATE, LATENCY_MS, CONCURRENCY = 40.0, 50.0, 20
# Goals (issue 16)
RATE_GOAL_SHARE = 0.9  # 36 of 40 requests/s
REQUESTS_PER_CHANGE_GOAL = 2
MRR_TOLERANCE = Decimal("0.001")  # 0.1 %

console = Console(width=140)


def _say(message: str) -> None:
    console.print(f"  {message}", highlight=False, markup=False)


# ---------------------------------------------------------------------------------------
# Preparing the built warehouses
# ---------------------------------------------------------------------------------------

MARKER = BASE / "built.json"
DAY0, DAY1 = BASE / "day0.duckdb", BASE / "day1.duckdb"
WORLD0, WORLD1 = BASE / "world_day0", BASE / "world_day1"


def _cached() -> bool:
    if not (MARKER.exists() and DAY0.exists() and DAY1.exists()):
        return False
    made = json.loads(MARKER.read_text())
    return made.get("as_of") == AS_OF.isoformat() and made.get("seed") == SEED


def _revwh_env() -> dict[str, str]:
    """The environment `revwh run` gets: nothing real (no key, no instance, no alert)."""
    hidden = (
        "REVWH_WAREHOUSE",
        "REVWH_PIPELINES_DIR",
        "STRIPE_API_KEY",
        "STRIPE_API_BASE",
        "CHARTMOGUL_API_KEY",
        "CHARTMOGUL_API_BASE",
        "DAGSTER_HOME",
    )
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env = {k: v for k, v in env.items() if not k.startswith("REVWH_ALERT")}
    env["COLUMNS"] = "140"
    env["PYTHONPATH"] = str(ROOT)
    return env


def _revwh_run(world: Path, as_of: date, warehouse: Path, log: Path, label: str) -> float:
    """`revwh run` of every input of `world` into `warehouse`; seconds, or exit on failure."""
    world = world.resolve()
    command = [
        sys.executable, "-m", "revwh.cli", "run",
        "--stripe-fixtures", str(world / "stripe"),
        "--app-db", str(world / "app.sqlite"),
        "--fx-rates", str(world / "fx_rates.csv"),
        "--cost-sheets", str(world / "cost_sheets"),
        "--as-of", as_of.isoformat(),
        "--warehouse", str(warehouse.resolve()),
        "--no-publish",
    ]  # fmt: skip
    started = time.perf_counter()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with (
        log.open("w") as out,
        Progress(*columns, console=console, transient=True) as progress,
    ):
        task = progress.add_task(label, total=None)
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_revwh_env(),
            cwd=warehouse.parent,
        )
        assert process.stdout is not None  # piped above
        for line in process.stdout:
            out.write(line)
            out.flush()
            if line.strip():
                progress.update(task, description=f"{label}: {line.strip()[:100]}")
        rc = process.wait()
    seconds = time.perf_counter() - started
    if rc:
        tail = log.read_text().splitlines()[-25:]
        for line in tail:
            _say(line)
        raise SystemExit(f"{label} failed (exit {rc}); its output: {log}")
    _say(f"{label}: done in {seconds:.0f} s (output: {log})")
    return seconds


def _accounts(world: Path) -> int:
    """The world's accounts (app accounts and Stripe customers without one)."""
    return json.loads((world / "bench.json").read_text())["accounts"]


def prepare(rebuild: bool = False) -> dict:
    """The medium world built as of AS_OF (day 0) and one day later (day 1), cached."""
    if not rebuild and _cached():
        console.print(f"built warehouses: cached ({DAY0}, {DAY1})")
        return json.loads(MARKER.read_text())
    from sandbox.world.catalog import SCALES, default_start
    from sandbox.world.generate import generate_world

    console.print(f"[bold]Preparing the built {SCALE} warehouses[/] (seed {SEED}, as of {AS_OF})")
    BASE.mkdir(parents=True, exist_ok=True)
    for stale in (MARKER, DAY0, DAY1):
        stale.unlink(missing_ok=True)
    start = default_start(AS_OF, SCALES[SCALE].years)  # the same start for both days
    for world, as_of in ((WORLD0, AS_OF), (WORLD1, NEXT_DAY)):
        made_here = world / "bench.json"
        wanted = {"scale": SCALE, "seed": SEED, "as_of": as_of.isoformat(), "start": str(start)}
        made = json.loads(made_here.read_text()) if made_here.exists() else {}
        if not rebuild and {k: made.get(k) for k in wanted} == wanted:
            _say(f"world as of {as_of}: cached ({world})")
            continue
        shutil.rmtree(world, ignore_errors=True)
        began = time.perf_counter()
        manifest = generate_world(SCALE, SEED, as_of, world, start=start)
        made_here.write_text(json.dumps(wanted | {"accounts": manifest["accounts"]}))
        _say(
            f"world as of {as_of} generated in {time.perf_counter() - began:.0f} s: "
            f"{manifest['accounts']:,} accounts -> {world}"
        )
    build = BASE / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    warehouse = build / "warehouse.duckdb"
    day0_seconds = _revwh_run(WORLD0, AS_OF, warehouse, BASE / "run_day0.log", "revwh run, day 0")
    shutil.copyfile(warehouse, DAY0)
    day1_seconds = _revwh_run(
        WORLD1, NEXT_DAY, warehouse, BASE / "run_day1.log", "revwh run, day 1 (incremental)"
    )
    shutil.move(warehouse, DAY1)  # build/ keeps dbt's and dlt's folders of the two runs
    made = {
        "as_of": AS_OF.isoformat(),
        "seed": SEED,
        "start": start.isoformat(),
        "accounts": _accounts(WORLD0),
        "built_at": datetime.now(UTC).isoformat(),
        "run_seconds": {"day0": round(day0_seconds, 1), "day1": round(day1_seconds, 1)},
    }
    MARKER.write_text(json.dumps(made, indent=1))
    return made


# ---------------------------------------------------------------------------------------
# Changed objects: the export marts of two warehouses, diffed by the sync's keys
# ---------------------------------------------------------------------------------------

# kind -> (table, its key, the customer it belongs to): an invoice is its header, its
# lines and its transactions; a cancellation is keyed by its subscription
OBJECT_ROWS = {
    "customer": [("chartmogul_export_customers", "external_id", "external_id")],
    "plan": [("chartmogul_export_plans", "external_id", "null")],
    "invoice": [
        ("chartmogul_export_invoices", "external_id", "customer_external_id"),
        ("chartmogul_export_line_items", "invoice_external_id", "customer_external_id"),
        ("chartmogul_export_transactions", "invoice_external_id", "customer_external_id"),
    ],
    "cancellation": [
        ("chartmogul_export_cancellations", "subscription_external_id", "customer_external_id")
    ],
}
KINDS = tuple(OBJECT_ROWS)
OWNED_TABLES = {  # the export tables of one customer's objects, by their customer column
    "chartmogul_export_customers": "external_id",
    "chartmogul_export_invoices": "customer_external_id",
    "chartmogul_export_line_items": "customer_external_id",
    "chartmogul_export_transactions": "customer_external_id",
    "chartmogul_export_cancellations": "customer_external_id",
}


def _fingerprint_sql(database: str) -> str:
    """(kind, key, owner, hash of every row of that object): only the columns the sync
    reads (a column it does not send changes nothing in ChartMogul)."""
    from serving.chartmogul_sync.exports import EXPORT_TABLES

    parts = []
    for kind, tables in OBJECT_ROWS.items():
        for table, key, owner in tables:
            columns = ", ".join(f"{c} := {c}" for c in EXPORT_TABLES[table])
            parts.append(
                f"select '{kind}' as kind, {key} as key, {owner} as owner, "
                f"'{table}' || struct_pack({columns})::varchar as row_text "
                f"from {database}.marts.{table}"
            )
    return (
        "select kind, key, any_value(owner) as owner, "
        "md5(string_agg(row_text, '|' order by row_text)) as fingerprint "
        f"from ({' union all '.join(parts)}) group by kind, key"
    )


def changed_objects(before: Path, after: Path) -> dict:
    """Objects new, changed and gone between two warehouses' export marts, per kind, and
    the customers they belong to."""
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        for name, path in (("before_db", before), ("after_db", after)):
            con.execute(f"ATTACH '{path}' AS {name} (READ_ONLY)")
            con.execute(f"CREATE TEMP TABLE {name}_objects AS {_fingerprint_sql(name)}")
        rows = con.execute(
            "select coalesce(a.kind, b.kind) as kind, "
            "  case when b.key is null then 'new' when a.key is null then 'gone' "
            "       else 'changed' end as change, count(*), "
            "  list(distinct coalesce(a.owner, b.owner)) "
            "from after_db_objects a full join before_db_objects b "
            "  on a.kind = b.kind and a.key = b.key "
            "where a.fingerprint is distinct from b.fingerprint group by all"
        ).fetchall()
    counts: dict[str, dict[str, int]] = {k: {"new": 0, "changed": 0, "gone": 0} for k in KINDS}
    owners: set[str] = set()
    for kind, change, count, kind_owners in rows:
        counts[kind][change] = count
        owners.update(o for o in kind_owners if o is not None)
    return {
        "by_kind": counts,
        "total": sum(sum(c.values()) for c in counts.values()),
        "owners": sorted(owners),
    }


# ---------------------------------------------------------------------------------------
# Scratch warehouses
# ---------------------------------------------------------------------------------------


def _scratch(source: Path, name: str) -> Path:
    scratch = BASE / f"{name}.scratch.duckdb"
    _drop(scratch)
    shutil.copyfile(source, scratch)
    return scratch


def _drop(scratch: Path) -> None:
    for path in (scratch, scratch.with_name(scratch.name + ".wal")):
        path.unlink(missing_ok=True)


def copy_sync_state(source: Path, target: Path) -> None:
    """The sync's state (schema chartmogul_sync) of `source` into `target`, replacing any:
    what `target` holds had its models been rebuilt on `source` after that sync."""
    from serving.chartmogul_sync.state import DDL, LOG_TABLE, SCHEMA, STATE_TABLE

    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH '{source}' AS source_db (READ_ONLY)")
        con.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        for statement in DDL:
            con.execute(statement)
        for table in (STATE_TABLE, LOG_TABLE):
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM source_db.{table}")


def hour_of_changes(day0: Path, day1: Path, owners: list[str], target: Path) -> list[str]:
    """`target` (a copy of day 1) made an hour after day 0: the day's changes of a 24th of
    the customers they reach (chosen by a hash of their id), day 0's rows for the others;
    the plans of day 1 (plans are everyone's). Returns the customers chosen."""
    share = max(1, round(len(owners) / 24))
    chosen = sorted(owners, key=lambda o: hashlib.sha256(o.encode()).hexdigest())[:share]
    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH '{day0}' AS day0_db (READ_ONLY)")
        con.execute("CREATE TEMP TABLE hour_customers (id varchar)")
        con.executemany("INSERT INTO hour_customers VALUES (?)", [[o] for o in chosen])
        for table, owner in OWNED_TABLES.items():
            others = f"coalesce({owner}, '') NOT IN (SELECT id FROM hour_customers)"
            con.execute(f"DELETE FROM marts.{table} WHERE {others}")
            con.execute(
                f"INSERT INTO marts.{table} BY NAME SELECT * FROM day0_db.marts.{table} "
                f"WHERE {others}"
            )
    return chosen


# ---------------------------------------------------------------------------------------
# One sync, in a process of its own
# ---------------------------------------------------------------------------------------

SYNC_IN_CHILD = """
import json, os, resource, sys
from serving.chartmogul_sync import SyncSettings, sync_chartmogul
warehouse, url, rps, concurrency = sys.argv[1:5]
settings = SyncSettings(
    api_key=os.environ["CHARTMOGUL_API_KEY"], api_base=url,
    requests_per_second=float(rps), concurrency=int(concurrency),
)
say = lambda line: print(line, file=sys.stderr, flush=True)
report = sync_chartmogul(warehouse, settings=settings, progress=say)
for line in report.summary():
    say(line)
counts = {t: {k: v for k, v in vars(c).items() if k != "errors"} for t, c in report.counts.items()}
print(json.dumps({
    "ok": report.ok, "requests": report.requests, "seconds": report.seconds,
    "sending_seconds": report.sending_seconds, "requests_per_second": report.requests_per_second,
    "planned_requests": report.planned_requests, "counts": counts,
    "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def run_sync(warehouse: Path, url: str, rps: float, log: Path, label: str) -> dict:
    """`sync_chartmogul` of `warehouse` into the stand-in at `url`, in a child process: its
    report, wall time, peak memory (the larger of the polled Pss and the kernel's peak), and
    the seconds of each phase from its progress lines."""
    env = {**os.environ, "CHARTMOGUL_API_KEY": API_KEY, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", SYNC_IN_CHILD, str(warehouse), url, str(rps)]
    command.append(str(CONCURRENCY))
    phases: dict[str, float] = {}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    assert process.stdout is not None and process.stderr is not None  # piped above
    piped_out, piped_err = process.stdout, process.stderr
    stdout: list[str] = []
    reader = threading.Thread(target=lambda: stdout.extend(piped_out), daemon=True)
    reader.start()
    with (
        log.open("w") as out,
        TreePeak(process.pid, every=0.5) as peak,
        Progress(*columns, console=console, transient=True) as progress,
    ):
        task = progress.add_task(label, total=None)
        for line in piped_err:
            out.write(f"{time.perf_counter() - started:8.1f} {line}")
            out.flush()
            text = line.strip()
            progress.update(task, description=f"{label}: {text[:100]}")
            # "chartmogul sync: customers done in 512.3 s: ..."
            if text.startswith("chartmogul sync: ") and " done in " in text:
                name, rest = text.removeprefix("chartmogul sync: ").split(" done in ", 1)
                phases[name] = float(rest.split(" s", 1)[0])
                _say(f"{label}: {text}")
        rc = process.wait()
    reader.join()
    wall = time.perf_counter() - started
    if rc or not stdout:
        for line in log.read_text().splitlines()[-20:]:
            _say(line)
        raise SystemExit(f"{label} failed (exit {rc}); its output: {log}")
    result = json.loads(stdout[-1])
    result["wall_seconds"] = wall
    result["peak_mb"] = max(peak.kb, result["peak_kb"]) / 1024
    result["phases"] = phases
    return result


# ---------------------------------------------------------------------------------------
# ChartMogul's MRR against ours
# ---------------------------------------------------------------------------------------


def compare_mrr(standin, warehouse: Path, day: date) -> dict:
    """The stand-in's MRR (computed from what was imported, by its own rules) against
    marts.mrr_summary_daily: on `day`, and the worst day of the history."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ours = {
            d: Decimal(str(m))
            for d, m in con.execute(
                "select summary_date, mrr_end from marts.mrr_summary_daily where summary_date <= ?",
                [day],
            ).fetchall()
        }
    index = standin.store.index()
    gaps = {}
    for d, mrr in ours.items():
        theirs = index.mrr(d)
        gaps[d] = (abs(theirs - mrr) / mrr) if mrr else Decimal(0 if theirs == 0 else 1)
    worst = max(gaps, key=lambda day: gaps[day])
    return {
        "day": day.isoformat(),
        "ours": str(ours[day].quantize(Decimal("0.01"))),
        "theirs": str(index.mrr(day).quantize(Decimal("0.01"))),
        "gap": float(gaps[day]),
        "days": len(gaps),
        "days_within": sum(1 for g in gaps.values() if g <= MRR_TOLERANCE),
        "worst_day": worst.isoformat(),
        "worst_gap": float(gaps[worst]),
        "ok": gaps[day] <= MRR_TOLERANCE,
    }


# ---------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------


def _self_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _served(standin) -> dict[str, int]:
    log = standin.requests
    return {
        "requests": log.count(),
        "throttled": log.count(status=429),
        "errors": sum(log.count(status=s) for s in (500, 502, 503, 504)),
    }


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after}


def measure(rps: float, latency_ms: float, built: dict) -> dict:
    from sandbox.chartmogul import ChartMogulStandIn

    results: dict = {"rps": rps, "latency_ms": latency_ms, "accounts": built["accounts"]}
    full_wh = _scratch(DAY0, "full")
    with ChartMogulStandIn(
        as_of=AS_OF,
        api_key=API_KEY,
        fx_rates=WORLD1 / "fx_rates.csv",  # day 0's and one more day's
        rate_limit=rps,
        latency_ms=latency_ms,
    ) as standin:
        console.print(
            f"[bold]Full sync[/] of {full_wh} into an empty stand-in at {rps:g} req/s, "
            f"{latency_ms:g} ms latency ({os.cpu_count()} cores; load average "
            f"{os.getloadavg()[0]:.1f} at the start)"
        )
        load_before = os.getloadavg()
        full = run_sync(full_wh, standin.url, rps, BASE / "sync_full.log", "full sync")
        full["load_average"] = [load_before[0], os.getloadavg()[0], os.getloadavg()[1]]
        full["served"] = _served(standin)
        # this process so far: the stand-in holding everything imported (the diffs below
        # take more than it in DuckDB, hence measured before them)
        full["standin_peak_mb"] = _self_peak_mb()
        full["mrr"] = compare_mrr(standin, full_wh, AS_OF)
        results["full"] = full
        _say(_sync_line("full sync", full))
        _say(_mrr_line(full["mrr"]))

        console.print("[bold]Second sync[/], nothing changed")
        served = _served(standin)
        again = run_sync(full_wh, standin.url, rps, BASE / "sync_again.log", "second sync")
        again["served"] = _delta(_served(standin), served)
        results["unchanged"] = again
        _say(_sync_line("second sync", again))

        console.print("[bold]Changed objects[/] between day 0 and day 1 (export marts diffed)")
        day = changed_objects(DAY0, DAY1)
        _say(f"{day['total']:,} objects, of {len(day['owners']):,} customers: {day['by_kind']}")
        hour_wh = _scratch(DAY1, "hour")
        chosen = hour_of_changes(DAY0, DAY1, day["owners"], hour_wh)
        copy_sync_state(full_wh, hour_wh)
        hour_changes = changed_objects(full_wh, hour_wh)
        console.print(
            f"[bold]Hourly sync[/]: the day's changes of {len(chosen):,} of its "
            f"{len(day['owners']):,} customers (a 24th): {hour_changes['total']:,} objects "
            f"{hour_changes['by_kind']}"
        )
        served = _served(standin)
        hour = run_sync(hour_wh, standin.url, rps, BASE / "sync_hour.log", "hourly sync")
        hour["served"] = _delta(_served(standin), served)
        hour["changes"] = hour_changes
        results["hour"] = hour
        _say(_sync_line("hourly sync", hour))

        rest_wh = _scratch(DAY1, "day1")
        copy_sync_state(hour_wh, rest_wh)
        rest_changes = changed_objects(hour_wh, rest_wh)
        console.print(
            f"[bold]Rest of the day[/]: the other customers' changes at once: "
            f"{rest_changes['total']:,} objects {rest_changes['by_kind']}"
        )
        served = _served(standin)
        rest = run_sync(rest_wh, standin.url, rps, BASE / "sync_rest.log", "rest-of-day sync")
        rest["served"] = _delta(_served(standin), served)
        rest["changes"] = rest_changes
        standin.store.as_of = NEXT_DAY
        rest["mrr"] = compare_mrr(standin, rest_wh, NEXT_DAY)
        results["rest"] = rest
        _say(_sync_line("rest-of-day sync", rest))
        _say(_mrr_line(rest["mrr"]))
    results["day_changes"] = {k: v for k, v in day.items() if k != "owners"}
    for scratch in (full_wh, hour_wh, rest_wh):
        _drop(scratch)
    return results


def _sync_line(label: str, run: dict) -> str:
    served = run["served"]
    return (
        f"{label}: {run['requests']:,} requests in {run['wall_seconds']:.1f} s "
        f"({run['requests_per_second']:.1f} req/s while sending), {served['throttled']:,} "
        f"answered 429, {served['errors']:,} 5xx; peak memory {run['peak_mb']:,.0f} MB; ok "
        f"{run['ok']}"
    )


def _mrr_line(mrr: dict) -> str:
    return (
        f"MRR on {mrr['day']}: ours {mrr['ours']}, the stand-in's {mrr['theirs']} "
        f"(gap {mrr['gap']:.5%}); {mrr['days_within']:,} of {mrr['days']:,} days within 0.1 %, "
        f"worst {mrr['worst_day']} ({mrr['worst_gap']:.4%})"
    )


def _verdict(ok: bool) -> str:
    return "[green]PASS[/]" if ok else "[red]MISS[/]"


def print_results(results: dict) -> None:
    rps = results["rps"]
    full, again, hour, rest = (results[k] for k in ("full", "unchanged", "hour", "rest"))
    table = Table(
        title=f"ChartMogul sync, {SCALE} world ({results['accounts']:,} accounts) into the "
        f"stand-in at {rps:g} req/s + {results['latency_ms']:g} ms latency, "
        f"{CONCURRENCY} connections, {os.cpu_count()} shared cores"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("goal", justify="right")
    created = ", ".join(f"{c['created']:,} {t}s" for t, c in full["counts"].items() if c["created"])
    table.add_row("full sync: objects created", created, "")
    rate_goal = RATE_GOAL_SHARE * rps
    table.add_row(
        "full sync: requests (429 / 5xx answered)",
        f"{full['requests']:,} ({full['served']['throttled']:,} / {full['served']['errors']:,})",
        "",
    )
    table.add_row(
        "full sync: requests/s while sending",
        f"{full['requests_per_second']:.1f} of {rps:g} "
        f"{_verdict(full['requests_per_second'] >= rate_goal)}",
        f">= {rate_goal:g}",
    )
    reading = full["seconds"] - full["sending_seconds"]
    table.add_row(
        "full sync: total time",
        f"{full['wall_seconds'] / 60:.1f} min ({full['sending_seconds']:.0f} s sending, "
        f"{reading:.0f} s reading, planning, recording; process {full['wall_seconds']:.0f} s)",
        "",
    )
    if full["phases"]:
        table.add_row(
            "full sync: phases",
            ", ".join(f"{name} {seconds:.0f} s" for name, seconds in full["phases"].items()),
            "",
        )
    table.add_row(
        "full sync: peak memory, sync / stand-in",
        f"{full['peak_mb']:,.0f} MB / {full['standin_peak_mb']:,.0f} MB",
        "",
    )
    table.add_row(
        "full sync: ChartMogul's MRR on the as-of date",
        f"{full['mrr']['theirs']} vs ours {full['mrr']['ours']} ({full['mrr']['gap']:.4%}) "
        + _verdict(full["mrr"]["ok"]),
        "within 0.1 %",
    )
    table.add_row(
        "second sync, nothing changed: requests, time",
        f"{again['requests']:,}, {again['wall_seconds']:.1f} s",
        "",
    )
    for label, run in (("hourly sync", hour), ("rest of the day at once", rest)):
        objects = run["changes"]["total"]
        ratio = run["requests"] / objects if objects else 0.0
        kinds = ", ".join(
            f"{sum(c.values()):,} {k}s"
            for k, c in run["changes"]["by_kind"].items()
            if any(c.values())
        )
        table.add_row(f"{label}: changed objects", f"{objects:,} ({kinds})", "")
        table.add_row(
            f"{label}: requests per changed object",
            f"{run['requests']:,} / {objects:,} = {ratio:.2f} "
            f"{_verdict(ratio <= REQUESTS_PER_CHANGE_GOAL)}",
            f"<= {REQUESTS_PER_CHANGE_GOAL}",
        )
        table.add_row(
            f"{label}: time, peak memory",
            f"{run['wall_seconds']:.1f} s ({run['requests_per_second']:.1f} req/s), "
            f"{run['peak_mb']:,.0f} MB",
            "",
        )
    table.add_row(
        "after the day: ChartMogul's MRR on the next day",
        f"{rest['mrr']['theirs']} vs ours {rest['mrr']['ours']} ({rest['mrr']['gap']:.4%}) "
        + _verdict(rest["mrr"]["ok"]),
        "within 0.1 %",
    )
    console.print(table)
    console.print(
        f"load average (1 min) at the full sync's start / end: {full['load_average'][0]:.1f} / "
        f"{full['load_average'][1]:.1f} (5 min at the end: {full['load_average'][2]:.1f})",
        highlight=False,
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chartmogul_sync")
    parser.add_argument(
        "--rps",
        type=float,
        default=RATE,
        help="the stand-in's rate limit and the sync's request budget",
    )
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS)
    parser.add_argument("--rebuild", action="store_true", help="redo the built warehouses")
    parser.add_argument("--prepare-only", action="store_true", help="build, do not sync")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    built = prepare(args.rebuild)
    if args.prepare_only:
        return
    results = measure(args.rps, args.latency_ms, built)
    results["as_of"] = AS_OF.isoformat()
    (BASE / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print_results(results)


if __name__ == "__main__":
    main(sys.argv[1:])
