"""DuckDB lets one process write a file or several read it: a reader holding the warehouse,
a run holding it while someone exports, and two runs at once each end in one line naming
the process and what to do, never a traceback or a partial build."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from contextlib import contextmanager

from tests.conftest import AS_OF, revwh

HOLD = """
import sys, time
import duckdb
from core.warehouse import Warehouse
how, path = sys.argv[1], sys.argv[2]
if how == "run":  # a revwh run in progress: it holds the warehouse for writing
    with Warehouse.of(path).writer():
        print("ready", flush=True)
        time.sleep(120)
connection = duckdb.connect(path, read_only=how == "reader")
print("ready", flush=True)
time.sleep(120)
"""


@contextmanager
def held(path, how: str):
    """Another process holding the warehouse: a `reader`, a `writer` or a `run`."""
    from tests.conftest import REPO_ROOT

    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, how, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert process.stdout.readline().strip() == "ready"
        yield process.pid
    finally:
        process.kill()
        process.wait()


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(warehouse, small_world, tmp_path, **env):
    return revwh(
        "run", "--fx-rates", str(small_world / "fx_rates.csv"), "--as-of", AS_OF.isoformat(),
        "--warehouse", str(warehouse), cwd=tmp_path, env_extra=env,
    )  # fmt: skip


def test_a_reader_holding_the_warehouse_is_named_before_anything_runs(
    small_warehouse_copy, small_world, tmp_path
):
    before = _digest(small_warehouse_copy)
    with held(small_warehouse_copy, "reader") as pid:
        done = _run(small_warehouse_copy, small_world, tmp_path)
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert f"(PID {pid})" in text and "is locked by" in text
    assert str(small_warehouse_copy.parent / "published" / small_warehouse_copy.name) in text
    assert "Traceback" not in text and "Error occurred while executing op" not in text
    assert _digest(small_warehouse_copy) == before


def test_an_export_during_a_run_says_the_file_is_locked_in_one_line(small_warehouse_copy, tmp_path):
    with held(small_warehouse_copy, "writer") as pid:
        done = revwh(
            "kpis", "export", "--start", AS_OF.isoformat(), "--end", AS_OF.isoformat(),
            "--warehouse", str(small_warehouse_copy), cwd=tmp_path,
        )  # fmt: skip
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert f"(PID {pid})" in text and "published copy" in text
    assert "Traceback" not in text and len(text.strip().splitlines()) <= 4


def test_a_second_run_waits_a_bounded_time_then_stops_naming_the_first(
    small_warehouse_copy, small_world, tmp_path
):
    before = _digest(small_warehouse_copy)
    with held(small_warehouse_copy, "run") as pid:
        done = _run(small_warehouse_copy, small_world, tmp_path, REVWH_WAREHOUSE_WAIT_SECONDS="1")
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "another run is writing the warehouse" in text and f"(PID {pid}," in text
    assert "waited 1 s" in text and "Traceback" not in text
    assert _digest(small_warehouse_copy) == before  # nothing loaded, nothing built
