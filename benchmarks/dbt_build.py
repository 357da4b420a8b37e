"""Benchmark: `dbt build` time and peak memory on the medium and large worlds.

    uv run python -m benchmarks.dbt_build [medium] [large] [--as-of YYYY-MM-DD] [--rebuild]
        [--threads N] [--keep]

Raw warehouses are prepared once and cached under warehouse/bench/dbt/ (`--rebuild` redoes
those of the scales named; large alone re-replicates the cached medium):

- medium: the medium world (seed 42) loaded by the real loaders, Stripe through the
  stand-in over HTTP (about 10 minutes once);
- large: the loaded medium warehouse replicated ten times in SQL. Loading the real large
  world through the stand-in would take over an hour; ten shifted copies of medium have
  the same shapes and ten times the volume (about 203,000 accounts), which is what a
  build's time and memory depend on. See `replicate` for which columns are ids.

For each scale the raw warehouse is copied to a scratch file, `dbt build --full-refresh`
runs in a child process (wall time; peak memory: the larger of the polled resident memory
of dbt's whole process tree and the kernel's peak of its largest process), then one
simulated hour of new data is marked as a new dlt load (`simulate_hour`) and a plain
`dbt build` (the incremental run) is timed the same way. dbt gets a target and log folder
of its own under warehouse/bench/dbt/ and parses once before the timed runs. Prints the
figures next to the targets (2 cores), where each run's time went (models, data tests,
unit tests; the slowest nodes), and dbt's output in full to warehouse/bench/dbt/*.log;
`--keep` keeps the scratch warehouses."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from benchmarks.memory import TreePeak
from core.dbt_scope import HOURLY_SELECTOR, selector_arguments, stale_free_models
from core.settings import RunSettings
from core.warehouse import Warehouse

AS_OF = date(2026, 11, 15)
SEED = 42
BASE = Path("warehouse/bench/dbt")
ROOT = Path(__file__).resolve().parent.parent
PROJECT, PROFILES = ROOT / "dbt_project", ROOT / "profiles"
COPIES = 10  # large = medium x COPIES
RAW = ("raw_stripe", "raw_app", "raw_costs", "raw_fx")
REPLICATED = ("raw_stripe", "raw_app")  # raw_costs and raw_fx describe the business, not accounts
# Targets on 2 cores
FULL_TARGET_S = {"medium": 60, "large": 300}
PEAK_TARGET_MB = 4096
INCREMENTAL_TARGET = {"large": 0.10}  # share of the full build

console = Console(width=140)
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")  # dlt: no warnings per untyped field


def _say(message: str) -> None:
    console.print(f"  {message}", highlight=False)


# ---------------------------------------------------------------------------------------
# Preparing the raw warehouses
# ---------------------------------------------------------------------------------------


def _marker(scale: str) -> Path:
    return BASE / f"{scale}.json"


def _cached(scale: str, as_of: date) -> bool:
    """A raw warehouse for this as-of date exists (large: made from the current medium)."""
    marker = _marker(scale)
    if not marker.exists() or not (BASE / f"{scale}.duckdb").exists():
        return False
    made = json.loads(marker.read_text())
    if made.get("as_of") != as_of.isoformat():
        return False
    if scale == "large":
        return _cached("medium", as_of) and made.get("medium_built_at") == _built_at("medium")
    return True


def _built_at(scale: str) -> str | None:
    marker = _marker(scale)
    return json.loads(marker.read_text()).get("built_at") if marker.exists() else None


def _clear(scale: str) -> None:
    for path in BASE.glob(f"{scale}.*"):
        path.unlink()


def raw_counts(warehouse: Path) -> dict[str, int]:
    """Rows of every raw table (dlt's own tables left out), keyed `dataset.table`."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return _raw_counts(con)


def _raw_counts(con) -> dict[str, int]:
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        f"WHERE table_schema IN ({', '.join('?' * len(RAW))}) "
        "AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\' ORDER BY 1, 2",
        list(RAW),
    ).fetchall()
    return {
        f"{s}.{t}": con.execute(f'SELECT count(*) FROM {s}."{t}"').fetchone()[0] for s, t in tables
    }


def _stripe_progress(standin, stop: threading.Event) -> None:
    """A live line while Stripe loads: requests served, then dlt's normalize and load."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("stripe: extracting", total=None)
        last, quiet_since = -1, time.monotonic()
        while not stop.wait(1.0):
            served = len(standin.requests.snapshot())
            if served != last:
                last, quiet_since = served, time.monotonic()
            phase = (
                "extracting"
                if time.monotonic() - quiet_since < 5
                else "normalizing and loading into DuckDB (several minutes)"
            )
            progress.update(task, description=f"stripe: {served:,} requests served; {phase}")


def prepare_medium(as_of: date, rebuild: bool = False) -> Path:
    """The medium world loaded by the real loaders (Stripe through the stand-in)."""
    warehouse = BASE / "medium.duckdb"
    if not rebuild and _cached("medium", as_of):
        console.print(f"medium raw warehouse: cached ({warehouse})")
        return warehouse
    from ingestion.app_db.load import load_app_db
    from ingestion.cost_sheets.load import load_cost_sheets
    from ingestion.fx.load import load_fx_rates
    from ingestion.stripe.load import load_stripe
    from sandbox.stripe.server import StripeStandIn
    from sandbox.world.generate import STRIPE_RESOURCES, generate_world

    BASE.mkdir(parents=True, exist_ok=True)
    _clear("medium")
    world = BASE / "world_medium"
    shutil.rmtree(world, ignore_errors=True)
    console.print(f"[bold]Preparing the medium raw warehouse[/] (as of {as_of}, seed {SEED})")
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        manifest = generate_world("medium", SEED, as_of, world, progress=progress)
    console.print(
        f"  world generated in {manifest['seconds']['total']} s: "
        f"{manifest['accounts']:,} accounts -> {world}"
    )
    loading = BASE / "medium.loading.duckdb"
    target = str(loading)
    os.environ["REVWH_PIPELINES_DIR"] = str(BASE / "pipelines")
    shutil.rmtree(BASE / "pipelines", ignore_errors=True)
    started = time.perf_counter()
    with StripeStandIn(world / "stripe", rate_limit=None) as standin:
        console.print("  loading stripe through the stand-in (about 8 minutes)...")
        stop = threading.Event()
        ticker = threading.Thread(target=_stripe_progress, args=(standin, stop), daemon=True)
        ticker.start()
        try:
            report = load_stripe(
                "sk_test_bench", standin.url, target, full_refresh=True, progress=None
            )
        finally:
            stop.set()
            ticker.join()
    _say(report.summary())
    reports = [
        report,
        load_app_db(str(world / "app.sqlite"), target, True, progress=_say),
        load_cost_sheets(world / "cost_sheets", target, True, progress=None),
        load_fx_rates(world / "fx_rates.csv", target, True, progress=_say),
    ]
    _say(reports[2].summary())
    failed = [r for r in reports if not r.ok or r.skipped]
    if failed:
        raise SystemExit(f"loading the medium world failed: {[r.summary() for r in failed]}")
    counts = raw_counts(loading)
    for name in STRIPE_RESOURCES:
        got, expected = counts.get(f"raw_stripe.{name}", 0), manifest["stripe_objects"][name]
        if got != expected:
            raise SystemExit(f"raw_stripe.{name}: {got} rows loaded, the world has {expected}")
    loading.rename(warehouse)
    _marker("medium").write_text(
        json.dumps(
            {
                "as_of": as_of.isoformat(),
                "built_at": datetime.now(UTC).isoformat(),
                "seed": SEED,
                "accounts": manifest["accounts"],
                "load_seconds": round(time.perf_counter() - started, 1),
                "rows": counts,
            },
            indent=1,
        )
    )
    console.print(
        f"  medium raw warehouse ready in {time.perf_counter() - started:.0f} s: "
        f"{sum(counts.values()):,} raw rows -> {warehouse}"
    )
    return warehouse


# Which columns of a replicated table are ids. A text column is decided by its name alone
# (dlt flattens nested objects into `parent__child` names; the last part names the value):
#   - dlt's row keys `_dlt_id`, `_dlt_parent_id`, `_dlt_root_id` are ids (a child row must
#     still find its parent copy); `_dlt_load_id` is not (it names a load in `_dlt_loads`);
#   - a name with a catalog part (price, product, plan, coupon, tax rate, promotion code,
#     e.g. `price__id`, `pricing__price_details__price`, `discount__coupon__id`,
#     `tax_rate_details__tax_rate`, `plan_id`, `metadata__plan_id`) is NOT an id: the
#     catalog is one per business and its tables are not replicated;
#   - in a child table of catalog objects (`subscriptions__items__tax_rates`) `id` is the
#     catalog object's id, NOT suffixed;
#   - otherwise the column is an id when its last part is `id`, ends with `_id` (account_id,
#     user_id, owner_user_id, stripe_customer_id, gateway_subscription_id, transaction_id,
#     metadata__app_user_id, ...), ends with `_reference` or `number` (unique per object), or
#     names a per-customer Stripe object (customer, invoice, subscription, charge, ...,
#     `parent__subscription_item_details__subscription`); the `value` of a list of
#     discounts (`invoices__discounts`: `di_...` ids) is one too.
# As a safety net, a column chosen as an id that holds catalog-looking values (`price_`,
# `prod_`, `plan_`, `txr_`, `promo_`) is left alone and reported.
DLT_KEYS = {"_dlt_id", "_dlt_parent_id", "_dlt_root_id"}
CATALOG_PARTS = {
    "price",
    "prices",
    "default_price",
    "product",
    "products",
    "plan",
    "plans",
    "coupon",
    "coupons",
    "tax_rate",
    "tax_rates",
    "promotion_code",
    "price_id",
    "product_id",
    "plan_id",
    "coupon_id",
    "tax_rate_id",
}
CATALOG_TABLES = {
    "raw_stripe": {"prices", "products", "plans", "coupons", "tax_rates", "promotion_codes"},
    "raw_app": {"plans"},
}
STRIPE_OBJECT_NAMES = {
    "customer",
    "invoice",
    "latest_invoice",
    "subscription",
    "subscription_item",
    "schedule",
    "charge",
    "refund",
    "credit_note",
    "invoice_item",
    "invoice_line_item",
    "payment_intent",
    "payment_method",
    "default_payment_method",
    "balance_transaction",
    "discount",
}
CATALOG_PREFIXES = ("price_", "prod_", "plan_", "txr_", "promo_")


def is_id_column(table: str, column: str) -> bool:
    if column in DLT_KEYS:
        return True
    if column == "_dlt_load_id":
        return False
    parts = column.split("__")
    if any(part in CATALOG_PARTS for part in parts):
        return False
    table_parts = table.split("__")
    if len(table_parts) > 1 and table_parts[-1] in CATALOG_PARTS and column == "id":
        return False
    last = parts[-1]
    if last == "value" and table_parts[-1] == "discounts":
        return True
    return (
        last == "id"
        or last.endswith(("_id", "_reference", "number"))
        or last in STRIPE_OBJECT_NAMES
    )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def replicate(con, copies: int) -> dict[str, list[str]]:
    """Insert `copies - 1` shifted copies of every account-level raw table into the open
    warehouse `con`. Returns the id columns chosen per table."""
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN (?, ?) AND table_type = 'BASE TABLE' "
        "AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\' ORDER BY 1, 2",
        list(REPLICATED),
    ).fetchall()
    chosen: dict[str, list[str]] = {}
    for schema, table in tables:
        if table in CATALOG_TABLES[schema] or table.split("__")[0] in CATALOG_TABLES[schema]:
            continue
        columns = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
        relation = f"{schema}.{_quoted(table)}"
        ids = []
        for name, data_type in columns:
            if data_type != "VARCHAR" or not is_id_column(table, name):
                continue
            catalog = " OR ".join(f"starts_with({_quoted(name)}, '{p}')" for p in CATALOG_PREFIXES)
            if (
                name not in DLT_KEYS
                and con.execute(f"SELECT count(*) FROM {relation} WHERE {catalog}").fetchone()[0]
            ):
                console.print(
                    f"  [yellow]note:[/] {schema}.{table}.{name} holds catalog ids; not suffixed"
                )
                continue
            ids.append(name)
        chosen[f"{schema}.{table}"] = ids
        select = ", ".join(
            f"{_quoted(name)} || '_r' || copy" if name in ids else _quoted(name)
            for name, _ in columns
        )
        names = ", ".join(_quoted(name) for name, _ in columns)
        con.execute(
            f"INSERT INTO {relation} ({names}) "
            f"SELECT {select} FROM {relation}, range(1, {copies}) AS copies(copy)"
        )
    return chosen


def prepare_large(as_of: date, rebuild: bool = False) -> Path:
    """medium x COPIES: the loaded medium warehouse with its account-level rows replicated.
    `rebuild` redoes the replication (the medium warehouse is redone when it is missing)."""
    warehouse = BASE / "large.duckdb"
    if not rebuild and _cached("large", as_of):
        console.print(f"large raw warehouse: cached ({warehouse}; medium x{COPIES} replicated)")
        return warehouse
    medium = prepare_medium(as_of)
    _clear("large")
    console.print(
        f"[bold]Preparing the large raw warehouse[/]: the medium one replicated {COPIES}x in "
        "SQL (loading the real large world through the stand-in would take over an hour; "
        "the copies have medium's shapes at ten times its volume)"
    )
    started = time.perf_counter()
    building = BASE / "large.building.duckdb"
    shutil.copyfile(medium, building)
    with duckdb.connect(
        str(building),
        config={"threads": 2, "memory_limit": "4GB"},
    ) as con:
        con.execute("SET enable_progress_bar = false")
        chosen = replicate(con, COPIES)
        con.execute("CHECKPOINT")
        counts = _raw_counts(con)
    building.rename(warehouse)
    medium_counts = json.loads(_marker("medium").read_text())["rows"]
    table = Table(title=f"Raw rows: large (medium x{COPIES} replicated) vs medium")
    for column in ("table", "medium", "large", "factor", "id columns suffixed"):
        table.add_column(
            column, justify="left" if column in ("table", "id columns suffixed") else "right"
        )
    for name, rows in counts.items():
        before = medium_counts.get(name, 0)
        factor = f"{rows / before:.0f}x" if before else ""
        table.add_row(name, f"{before:,}", f"{rows:,}", factor, ", ".join(chosen.get(name, [])))
    console.print(table)
    accounts = json.loads(_marker("medium").read_text())["accounts"] * COPIES
    _marker("large").write_text(
        json.dumps(
            {
                "as_of": as_of.isoformat(),
                "built_at": datetime.now(UTC).isoformat(),
                "medium_built_at": _built_at("medium"),
                "seed": SEED,
                "replicated_from": "medium",
                "copies": COPIES,
                "accounts": accounts,
                "id_columns": chosen,
                "rows": counts,
            },
            indent=1,
        )
    )
    console.print(
        f"  large raw warehouse ready in {time.perf_counter() - started:.0f} s: "
        f"{accounts:,} accounts, {sum(counts.values()):,} raw rows -> {warehouse}"
    )
    return warehouse


# ---------------------------------------------------------------------------------------
# One simulated hour of new data
# ---------------------------------------------------------------------------------------


def simulate_hour(warehouse: Path, as_of: date) -> dict:
    """Mark one hour's worth of customers as re-loaded, as a dlt merge of re-fetched objects
    does: a new load id in `_dlt_loads` (status 0, now) and the customers' rows in
    raw_stripe.invoices / subscriptions / customers and raw_app.transactions carrying it.

    An hour's worth: the customers with Stripe or app activity (invoices, subscriptions,
    transactions created) in the last 30 days of the world, divided by 30 x 24, at least 20.
    The as-of date stays fixed."""
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC) + timedelta(days=1)
    start = end - timedelta(days=31)
    lo, hi = int(start.timestamp()), int(end.timestamp())
    load_id = str(time.time())
    with duckdb.connect(str(warehouse)) as con:
        con.execute("SET enable_progress_bar = false")
        con.execute(
            "CREATE TEMP TABLE active_stripe AS "
            "SELECT DISTINCT customer AS id FROM ("
            "  SELECT customer FROM raw_stripe.invoices WHERE created >= ? AND created < ?"
            "  UNION ALL"
            "  SELECT customer FROM raw_stripe.subscriptions WHERE created >= ? AND created < ?"
            ") WHERE customer IS NOT NULL",
            [lo, hi, lo, hi],
        )
        con.execute(
            "CREATE TEMP TABLE active_app AS SELECT DISTINCT account_id AS id "
            "FROM raw_app.transactions WHERE created_at >= ? AND created_at < ? "
            "AND account_id IS NOT NULL",
            [start, end],
        )
        n_stripe = con.execute("SELECT count(*) FROM active_stripe").fetchone()[0]
        n_app = con.execute("SELECT count(*) FROM active_app").fetchone()[0]
        active = n_stripe + n_app
        per_hour = max(20, math.ceil(active / (30 * 24)))
        take_stripe = round(per_hour * n_stripe / active) if active else per_hour
        take_app = per_hour - take_stripe
        con.execute(
            f"CREATE TEMP TABLE hour_stripe AS SELECT id FROM active_stripe "
            f"ORDER BY hash(id) LIMIT {take_stripe}"
        )
        con.execute(
            f"CREATE TEMP TABLE hour_app AS SELECT id FROM active_app "
            f"ORDER BY hash(id) LIMIT {take_app}"
        )
        for schema in ("raw_stripe", "raw_app"):
            columns = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                    "AND table_name = '_dlt_loads' ORDER BY ordinal_position",
                    [schema],
                ).fetchall()
            ]
            values = {"load_id": "?", "status": "0", "inserted_at": "now()"}
            select = ", ".join(values.get(c, _quoted(c)) for c in columns)
            con.execute(
                f"INSERT INTO {schema}._dlt_loads ({', '.join(map(_quoted, columns))}) "
                f"SELECT {select} FROM {schema}._dlt_loads ORDER BY inserted_at DESC LIMIT 1",
                [load_id],
            )
        touched = {}
        for relation, key, chosen in (
            ("raw_stripe.invoices", "customer", "hour_stripe"),
            ("raw_stripe.subscriptions", "customer", "hour_stripe"),
            ("raw_stripe.customers", "id", "hour_stripe"),
            ("raw_app.transactions", "account_id", "hour_app"),
        ):
            touched[relation] = con.execute(
                f"UPDATE {relation} SET _dlt_load_id = ? WHERE {key} IN (SELECT id FROM {chosen})",
                [load_id],
            ).fetchone()[0]
    return {
        "active_30d": active,
        "stripe_customers": take_stripe,
        "app_accounts": take_app,
        "rows": touched,
        "load_id": load_id,
    }


# ---------------------------------------------------------------------------------------
# Timing dbt
# ---------------------------------------------------------------------------------------

# A fresh interpreter per run: RUSAGE_CHILDREN of a process that only ran dbt is dbt's peak
# (the largest process of its tree), whatever this process ran before.
WRAPPER = (
    "import json, resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[2:])\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(json.dumps({'rc': rc, 'peak_kb': peak}))\n"
    "sys.exit(rc)\n"
)


def _dbt() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def run_dbt(args: list[str], env: dict[str, str], log: Path, label: str) -> dict:
    """Run dbt with `args`; wall time, peak memory (the larger of the polled resident
    memory of its whole process tree and the kernel's peak of its largest process), exit
    code and output."""
    peak_file = log.with_suffix(".peak.json")
    peak_file.unlink(missing_ok=True)
    command = [sys.executable, "-c", WRAPPER, str(peak_file), _dbt(), *args]
    lines: list[str] = []
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    started, started_at = time.perf_counter(), time.time()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    with (
        TreePeak(process.pid, include_root=False) as peak,
        Progress(*columns, console=console, transient=True) as progress,
    ):
        task = progress.add_task(label, total=None)
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if " of " in line and ("START" in line or "OK" in line or "PASS" in line):
                shown = line.strip().split(" ", 1)[-1][:90]
                progress.update(task, description=f"{label}: {shown}")
        rc = process.wait()
        seconds = time.perf_counter() - started
    polled = peak.kb
    log.write_text("\n".join(lines) + "\n")
    by_type, slowest = _node_times(BASE / "dbt_target" / "run_results.json", started_at)
    kernel = json.loads(peak_file.read_text())["peak_kb"] if peak_file.exists() else 0
    finished = [
        float(m.group(1))
        for line in lines
        if "Finished running" in line and (m := re.search(r"\(([\d.]+)s\)", line))
    ]
    return {
        "seconds": seconds,
        # dbt's own figure for the nodes it ran, without start-up and parsing
        "dbt_seconds": finished[-1] if finished else None,
        "peak_mb": max(polled, kernel) / 1024,
        "rc": rc,
        "ok": rc == 0,
        "tail": lines[-30:],
        "node_seconds": by_type,
        "slowest": slowest,
    }


def _node_times(run_results: Path, since: float) -> tuple[dict[str, float], list[list]]:
    """Seconds spent per kind of node (model, data test, unit test; summed over threads)
    and the five slowest nodes, from dbt's run_results.json when this run wrote it."""
    if not run_results.exists() or run_results.stat().st_mtime < since:
        return {}, []
    results = json.loads(run_results.read_text())["results"]
    by_type: dict[str, float] = {}
    for node in results:
        kind = node["unique_id"].split(".", 1)[0]
        by_type[kind] = by_type.get(kind, 0.0) + node["execution_time"]
    slowest = sorted(results, key=lambda n: n["execution_time"], reverse=True)[:5]
    # test.<project>.<name>.<hash>; model.<project>.<name>; unit_test.<project>.<model>.<name>
    names = [
        n["unique_id"].split(".")[2 if n["unique_id"].startswith("test.") else -1] for n in slowest
    ]
    return by_type, [[name, n["execution_time"]] for name, n in zip(names, slowest, strict=True)]


def _clear_scratch(scratch: Path) -> None:
    for path in (scratch, scratch.with_name(scratch.name + ".wal")):
        path.unlink(missing_ok=True)


def measure(scale: str, raw: Path, as_of: date, threads: int | None, keep: bool) -> dict:
    scratch = BASE / f"{scale}.scratch.duckdb"
    _clear_scratch(scratch)
    console.print(f"[bold]{scale}[/]: copying the raw warehouse to {scratch}...")
    shutil.copyfile(raw, scratch)
    counts = raw_counts(scratch)
    env = {
        **os.environ,
        **Warehouse.of(scratch).dbt_env(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # as `revwh run` gives it: not a var, so the parse below serves every run
        **RunSettings.of(as_of).dbt_env(),
    }
    common = [
        "--project-dir",
        str(PROJECT),
        "--profiles-dir",
        str(PROFILES),
        # a target and log folder of our own: the project's may be in use by someone else
        "--target-path",
        str((BASE / "dbt_target").resolve()),
        "--log-path",
        str((BASE / "dbt_logs").resolve()),
        "--no-use-colors",
    ]
    if threads:
        common += ["--threads", str(threads)]
    # parsing is not what is measured; an hourly run finds the parse of the previous one
    parsed = run_dbt(["parse", *common], env, BASE / f"{scale}.parse.log", f"{scale}: dbt parse")
    if not parsed["ok"]:
        _report_run(scale, "dbt parse", parsed)
    full = run_dbt(
        # unit tests check SQL logic on made-up rows; data builds skip them (revwh run too)
        ["build", "--full-refresh", "--exclude", "test_type:unit", *common],
        env,
        BASE / f"{scale}.full.log",
        f"{scale}: dbt build --full-refresh",
    )
    _report_run(scale, "full build", full)
    hour = simulate_hour(scratch, as_of)
    console.print(
        f"  one simulated hour: {hour['stripe_customers']} Stripe customers and "
        f"{hour['app_accounts']} app accounts re-loaded ({hour['active_30d']:,} active in the "
        "last 30 days / 720 h); rows with the new load id: "
        + ", ".join(f"{t} {n:,}" for t, n in hour["rows"].items())
    )
    # an hourly run as the hourly job builds it: the operational models (selector hourly)
    # that newly loaded rows reach, with their tests; the whole-warehouse checks (tag
    # full_check) run in the daily build
    hourly_select, hourly_exclude = selector_arguments(HOURLY_SELECTOR)
    manifest = json.loads((BASE / "dbt_target" / "manifest.json").read_text())
    models = [
        node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model"
    ]
    unchanged = sorted(
        stale_free_models(Warehouse.of(scratch), manifest, models, RunSettings.of(as_of))
    )
    console.print(f"  models no new row reaches, left out of the hourly run: {len(unchanged)}")
    incremental = run_dbt(
        [
            "build",
            "--select",
            hourly_select,
            "--exclude",
            *hourly_exclude.split(),
            *unchanged,
            *common,
        ],
        env,
        BASE / f"{scale}.incremental.log",
        f"{scale}: dbt build (incremental)",
    )
    _report_run(scale, "incremental build", incremental)
    if not keep:
        _clear_scratch(scratch)
    return {
        "scale": scale,
        # the world's accounts (app accounts and Stripe customers without one)
        "accounts": json.loads(_marker(scale).read_text())["accounts"],
        "raw_rows": sum(counts.values()),
        "full": full,
        "incremental": incremental,
        "hour": hour,
    }


def _report_run(scale: str, what: str, run: dict) -> None:
    state = "[green]ok[/]" if run["ok"] else f"[red]FAILED (exit {run['rc']})[/]"
    inside = f" ({run['dbt_seconds']:.1f} s running nodes)" if run["dbt_seconds"] else ""
    console.print(
        f"  {what}: {run['seconds']:.1f} s{inside}, peak {run['peak_mb']:,.0f} MB, {state}",
        highlight=False,
    )
    if run["node_seconds"]:
        kinds = {"model": "models", "test": "data tests", "unit_test": "unit tests"}
        console.print(
            "    node time (summed over threads): "
            + ", ".join(f"{kinds.get(k, k)} {v:.1f} s" for k, v in run["node_seconds"].items())
            + "; slowest: "
            + ", ".join(f"{name} {sec:.1f} s" for name, sec in run["slowest"]),
            highlight=False,
        )
    if not run["ok"]:
        console.print(f"  last {len(run['tail'])} lines of dbt's output:")
        for line in run["tail"]:
            console.print(f"    {line}", highlight=False, markup=False)


def _verdict(ok: bool, valid: bool = True) -> str:
    """PASS / MISS against a target; FAILED when dbt failed (skipped nodes: no figure)."""
    if not valid:
        return "[red]FAILED[/]"
    return "[green]PASS[/]" if ok else "[red]MISS[/]"


def print_results(results: list[dict], as_of: date, threads: int | None) -> None:
    shown_threads = threads or os.environ.get("REVWH_DBT_THREADS", "4 (profile default)")
    table = Table(
        title=f"dbt build on DuckDB, as of {as_of}, {os.cpu_count()} cores, "
        f"dbt threads {shown_threads} (large = medium x{COPIES} replicated)"
    )
    for column in (
        "scale",
        "accounts",
        "raw rows",
        "full build",
        "target",
        "peak memory",
        "target",
        "incremental",
        "% of full",
        "target",
    ):
        table.add_column(column, justify="right")
    for r in results:
        full, incremental = r["full"], r["incremental"]
        both = full["ok"] and incremental["ok"]
        full_target = FULL_TARGET_S.get(r["scale"])
        peak = max(full["peak_mb"], incremental["peak_mb"])
        share = incremental["seconds"] / full["seconds"]
        share_target = INCREMENTAL_TARGET.get(r["scale"])
        table.add_row(
            r["scale"],
            f"{r['accounts']:,}",
            f"{r['raw_rows']:,}",
            f"{full['seconds']:.1f} s "
            + (_verdict(full["seconds"] <= full_target, full["ok"]) if full_target else ""),
            f"<= {full_target} s" if full_target else "",
            f"{peak:,.0f} MB {_verdict(peak <= PEAK_TARGET_MB, both)}",
            f"<= {PEAK_TARGET_MB:,} MB",
            f"{incremental['seconds']:.1f} s" + ("" if incremental["ok"] else " [red]FAILED[/]"),
            f"{share:.0%} " + (_verdict(share <= share_target, both) if share_target else ""),
            f"<= {share_target:.0%}" if share_target else "",
        )
    console.print(table)
    console.print(
        "large is the loaded medium warehouse replicated "
        f"{COPIES}x in SQL (same shapes, {COPIES}x the volume): loading the real large world "
        "through the Stripe stand-in takes over an hour."
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dbt_build")
    parser.add_argument("scales", nargs="*", metavar="{medium,large}", default=[])
    parser.add_argument("--as-of", default=AS_OF.isoformat(), help="YYYY-MM-DD")
    parser.add_argument("--rebuild", action="store_true", help="redo the raw warehouses")
    parser.add_argument("--threads", type=int, default=None, help="dbt threads")
    parser.add_argument("--keep", action="store_true", help="keep the scratch warehouses")
    args = parser.parse_args(argv)
    unknown = set(args.scales) - {"medium", "large"}
    if unknown:
        parser.error(f"unknown scale {', '.join(sorted(unknown))}: choose medium and/or large")
    scales = [s for s in ("medium", "large") if s in args.scales or not args.scales]
    as_of = date.fromisoformat(args.as_of)
    prepare: dict[str, Callable[[date, bool], Path]] = {
        "medium": prepare_medium,
        "large": prepare_large,
    }
    raws = {scale: prepare[scale](as_of, args.rebuild) for scale in scales}
    results = [measure(s, raws[s], as_of, args.threads, args.keep) for s in scales]
    (BASE / "results.json").write_text(
        json.dumps([r | {"as_of": as_of.isoformat()} for r in results], indent=1)
    )
    print_results(results, as_of, args.threads)


if __name__ == "__main__":
    main(sys.argv[1:])
