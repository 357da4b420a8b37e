"""Benchmark: contract validations (orchestration/quality) over every raw table.

    uv run python -m benchmarks.quality [small] [large] [--warehouse FILE] [--rebuild]
        [--chunk-rows N]

- small: the small world (seed 42) after one `revwh run`, built once and cached as
  warehouse/bench/quality/small.duckdb (about a minute); `--warehouse FILE` uses an
  existing warehouse instead.
- large: SYNTHETIC. The small warehouse with `raw_app.usage_daily` replicated 400 times in
  SQL (user ids suffixed `_<copy>`, so keys stay unique): about 13.4 M rows, the size of
  the largest app table at large scale; the other tables are the small ones. Cached as
  warehouse/bench/quality/large.duckdb.

Prints rows, expectations and seconds per table and the total (read-only connection per
table, as the Dagster asset checks run them).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

AS_OF = date(2026, 11, 15)
START = date(2024, 11, 1)
SEED = 42
BASE = Path("warehouse/bench/quality")
ROOT = Path(__file__).resolve().parent.parent
COPIES = 400  # large usage_daily = small x COPIES


def build_small(target: Path) -> None:
    from sandbox.world.generate import generate_world

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        print(f"generating the small world (seed {SEED}) ...", flush=True)
        generate_world("small", SEED, AS_OF, world, start=START)
        print(f"revwh run into {target} ...", flush=True)
        done = subprocess.run(
            [
                *(sys.executable, "-m", "revwh.cli", "run"),
                *("--stripe-fixtures", str(world / "stripe")),
                *("--app-db", str(world / "app.sqlite")),
                *("--fx-rates", str(world / "fx_rates.csv")),
                *("--cost-sheets", str(world / "cost_sheets")),
                *("--as-of", AS_OF.isoformat(), "--warehouse", str(target.resolve())),
            ],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            sys.exit(f"revwh run failed:\n{done.stdout}\n{done.stderr}")


def build_large(small: Path, target: Path) -> None:
    print(f"replicating raw_app.usage_daily x{COPIES} into {target} ...", flush=True)
    scratch = target.with_suffix(".tmp")
    shutil.copy(small, scratch)
    con = duckdb.connect(str(scratch))
    con.execute("set enable_progress_bar = false")
    columns = [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = "
            "'raw_app' and table_name = 'usage_daily' order by ordinal_position"
        ).fetchall()
    ]
    select = ", ".join(
        f"{c} || '_' || copy::varchar as {c}" if c == "user_id" else c for c in columns
    )
    con.execute(
        f"create table raw_app.usage_big as select {select} "
        f"from raw_app.usage_daily, range({COPIES}) t(copy) order by copy, usage_date"
    )
    con.execute("drop table raw_app.usage_daily")
    con.execute("alter table raw_app.usage_big rename to usage_daily")
    con.execute("checkpoint")
    con.close()
    scratch.rename(target)


def run(name: str, warehouse: Path, chunk_rows: int) -> None:
    from quality import contract_tables, validate_contract_table

    print(f"\n{name}: {warehouse} (chunk_rows {chunk_rows:,})")
    if name == "large":
        print(
            f"  SYNTHETIC: raw_app.usage_daily is the small one x{COPIES} (ids suffixed); "
            "other tables are small"
        )
    print(f"  {'table':<32} {'rows':>12} {'exp':>4} {'seconds':>8}  result")
    total_rows, started = 0, time.perf_counter()
    for t in contract_tables():
        r = validate_contract_table(warehouse, t.dataset, t.table, chunk_rows=chunk_rows)
        total_rows += r.rows
        state = "skipped" if r.skipped else "passed" if r.passed else f"FAILED {len(r.failures)}"
        print(
            f"  {t.dataset + '.' + t.table:<32} {r.rows:>12,} {r.expectations:>4} "
            f"{r.seconds:>8.2f}  {state}",
            flush=True,
        )
    print(f"  {'total':<32} {total_rows:>12,} {'':>4} {time.perf_counter() - started:>8.2f}")


def main(argv: list[str]) -> None:
    args = list(argv)
    rebuild = "--rebuild" in args
    warehouse = chunk_rows = None
    if "--warehouse" in args:
        warehouse = Path(args[args.index("--warehouse") + 1])
    if "--chunk-rows" in args:
        chunk_rows = int(args[args.index("--chunk-rows") + 1])
    values = {str(warehouse), str(chunk_rows)}
    scales = [a for a in args if not a.startswith("--") and a not in values] or ["small"]
    small = warehouse or BASE / "small.duckdb"
    if not small.exists() or (rebuild and warehouse is None):
        build_small(small)
    # warm up imports and the GX context, so the first table is not charged for them
    from quality import validate_contract_table

    validate_contract_table(small, "raw_stripe", "products")
    for scale in scales:
        if scale == "small":
            run("small", small, chunk_rows or 262144)
        elif scale == "large":
            large = BASE / "large.duckdb"
            if not large.exists() or rebuild:
                large.parent.mkdir(parents=True, exist_ok=True)
                build_large(small, large)
            run("large", large, chunk_rows or 262144)
        else:
            sys.exit(f"unknown scale {scale!r}: small or large")


if __name__ == "__main__":
    main(sys.argv[1:])
