"""`revwh run --reconcile` on the small world, killed with SIGKILL (the whole process group:
the run, its dbt process, the stand-ins it serves) at chosen and at random points, then run
again until one finishes: every table the models leave equals a clean run's, no raw table
holds a primary key twice, and the published copy is, after every kill, absent (nothing
published yet) or complete, never half-written. A reader on the published copy reads
complete marts throughout the last run.

Long (minutes): marked `chaos`, left out of `make test`; run with `make chaos`
(REVWH_CHAOS_SEED picks other random kill points). The kill points tried are printed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from ingestion import contracts
from tests.conftest import AS_OF, CHARTMOGUL_TEST_KEY, REPO_ROOT, small_world_run_args
from tests.marts_fingerprint import differences, fingerprint

pytestmark = pytest.mark.chaos

# the progress line that starts a stage, and how long after it the kill comes
AIMED = {
    "during the loads": ("▶ load_stripe", 0.5),
    "during the dbt build": ("▶ warehouse_models", 5.0),
    "during the reconciliation": ("▶ reconciliation_models", 0.3),
    "during the publish": ("▶ published_marts", 0.0),
}
RANDOM_KILLS = 4
# one row per build that finished: a run killed after its build adds one, by design
BUILD_LOG = "intermediate.revwh_build_log"
RAW_DATASETS = ("raw_stripe", "raw_app", "raw_costs", "raw_fx", "raw_chartmogul")


def _start(small_world: Path, warehouse: Path, chartmogul_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
        "CHARTMOGUL_API_KEY": CHARTMOGUL_TEST_KEY,
    }
    env.pop("REVWH_WAREHOUSE", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "revwh.cli",
            *small_world_run_args(small_world, warehouse, chartmogul_url),
        ],
        cwd=warehouse.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: dbt dies with it
    )


def _kill(process: subprocess.Popen, marker: str | None, delay: float) -> str:
    """Kill the run `delay` seconds after the line `marker` (after its start when None);
    the step it was in, or why it was not killed."""
    steps: list[str] = []
    timer = None

    def kill() -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)

    if marker is None:
        timer = threading.Timer(delay, kill)
        timer.start()
    for line in process.stdout:
        if line.startswith("▶"):
            steps.append(line[1:].strip())
            if marker is not None and line.strip() == marker and timer is None:
                timer = threading.Timer(delay, kill)
                timer.start()
    process.wait()
    if timer is not None:
        timer.cancel()
    if process.returncode != -signal.SIGKILL:
        return f"not killed: the run ended first (exit {process.returncode})"
    return f"in {steps[-1] if steps else 'its set-up, before the first step'}"


def _published_is_whole(published: Path, clean: dict) -> str:
    if not published.exists():
        return "no published copy yet"
    marts = {name: value for name, value in clean.items() if name.startswith("marts.")}
    found = fingerprint(published, ("marts",))
    lines = differences(marts, {name: found[name] for name in marts if name in found})
    assert not lines, "the published copy is not a whole publish:\n" + "\n".join(lines)
    return "published copy whole"


def _duplicate_keys(warehouse: Path) -> list[str]:
    found = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for dataset in RAW_DATASETS:
            for path in sorted((contracts.CONTRACTS_DIR / dataset).glob("*.yml")):
                contract = contracts.load(dataset, path.stem)
                key = ", ".join(f'"{k}"' for k in contract.primary_key)
                exists = con.execute(
                    "select count(*) from information_schema.tables "
                    "where table_schema = ? and table_name = ?",
                    [dataset, contract.table],
                ).fetchone()[0]
                if not exists:
                    continue
                (twice,) = con.execute(
                    f"select count(*) from (select {key} from {dataset}.{contract.table} "
                    f"group by {key} having count(*) > 1)"
                ).fetchone()
                if twice:
                    found.append(f"{dataset}.{contract.table}: {twice} keys twice")
    return found


def _read_published_until(published: Path, stop: threading.Event, seen: list) -> None:
    while not stop.is_set():
        try:
            with duckdb.connect(str(published), read_only=True) as con:
                seen.append(
                    con.execute(
                        "select count(*), sum(mrr_end) from marts.mrr_summary_daily"
                    ).fetchone()
                )
        except duckdb.IOException as error:  # replaced while opening: open again
            seen.append(("reopen", str(error)[:80]))
        time.sleep(0.05)


def test_killed_anywhere_a_rerun_ends_exactly_where_a_clean_run_ends(
    small_run, small_world, tmp_path
):
    from sandbox.chartmogul import ChartMogulStandIn

    done, clean_warehouse, output = small_run
    assert done.returncode == 0, output
    clean = fingerprint(clean_warehouse)
    warehouse = tmp_path / "chaos" / "chaos.duckdb"
    warehouse.parent.mkdir()
    published = warehouse.parent / "published" / warehouse.name
    rng = random.Random(int(os.environ.get("REVWH_CHAOS_SEED", "14")))
    plan = [(name, marker, delay) for name, (marker, delay) in AIMED.items()]
    # (a small run takes about 45 s on 2 cores)
    plan += [("at random", None, round(rng.uniform(3, 40), 1)) for _ in range(RANDOM_KILLS)]
    tried = []
    with ChartMogulStandIn(small_world, as_of=AS_OF, api_key=CHARTMOGUL_TEST_KEY) as chartmogul:
        # first a whole run, so that the kills meet a published copy they must leave whole
        first = _start(small_world, warehouse, chartmogul.url)
        output = first.communicate()[0]
        assert first.returncode == 0, output
        for name, marker, delay in plan:
            where = _kill(_start(small_world, warehouse, chartmogul.url), marker, delay)
            state = _published_is_whole(published, clean)
            tried.append(
                f"{name}: {delay} s after {marker or 'the start'}, killed {where}; {state}"
            )

        # the run that finishes, with a reader on the published copy (when one exists)
        stop, seen = threading.Event(), []
        reader = threading.Thread(target=_read_published_until, args=(published, stop, seen))
        if published.exists():
            reader.start()
        final = _start(small_world, warehouse, chartmogul.url)
        text = final.communicate()[0]
        stop.set()
        if reader.is_alive():
            reader.join()
    print("\nkill points tried:\n  " + "\n  ".join(tried))
    assert final.returncode == 0, text
    after = fingerprint(warehouse)
    assert after[BUILD_LOG]["rows"] > clean[BUILD_LOG]["rows"]  # the builds that finished
    del clean[BUILD_LOG], after[BUILD_LOG]
    lines = differences(clean, after)
    assert not lines, "after the kills the tables differ from a clean run's:\n" + "\n".join(lines)
    assert _duplicate_keys(warehouse) == []
    _published_is_whole(published, clean)
    reads = [r for r in seen if r[0] != "reopen"]
    assert len(set(reads)) <= 1, f"the reader saw different marts: {set(reads)}"
