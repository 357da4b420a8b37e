"""`Warehouse.backup`: a consistent copy of the DuckDB file, taken between runs (the writer
lock), with what a killed process left in the write-ahead log."""

import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from core.warehouse import Warehouse, WarehouseLockedError
from tests.conftest import REPO_ROOT

KILLED_WRITER = r"""
import os, sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("set checkpoint_threshold = '1GB'")  # keep the rows in the write-ahead log
con.execute("create table marts.mrr as select range as day, range * 100 as cents from range(1000)")
print("written", flush=True)
sys.stdin.read()  # killed here, before any checkpoint
"""

HOLDING_WRITER = r"""
import sys
from core.warehouse import Warehouse
with Warehouse.of(sys.argv[1]).writer():
    print("holding", flush=True)
    sys.stdin.read()
"""


def _python(code: str, *args: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert process.stdout.readline().strip() in {"written", "holding"}
    return process


def test_the_backup_has_what_a_killed_run_left_in_the_write_ahead_log(tmp_path):
    path = tmp_path / "revenue.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
    writer = _python(KILLED_WRITER, str(path))
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert path.with_name("revenue.duckdb.wal").exists()  # a copy of the file alone misses it

    copy = Warehouse.of(path).backup(tmp_path / "backups")

    assert copy.parent == tmp_path / "backups" and copy.name.startswith("revenue-")
    assert not list(copy.parent.glob("*.partial"))
    with duckdb.connect(str(copy), read_only=True) as con:
        assert con.execute("select count(*), sum(cents) from marts.mrr").fetchone() == (
            1000,
            49950000,
        )


def test_the_backup_waits_for_a_writing_run_and_then_names_it(tmp_path):
    path = tmp_path / "revenue.duckdb"
    duckdb.connect(str(path)).close()
    holder = _python(HOLDING_WRITER, str(path))
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseLockedError, match=f"PID {holder.pid}"):
            Warehouse.of(path).backup(tmp_path / "copy.duckdb", wait_seconds=1)
        assert time.monotonic() - started >= 1
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert not (tmp_path / "copy.duckdb").exists()
    assert Warehouse.of(path).backup(tmp_path / "copy.duckdb") == tmp_path / "copy.duckdb"


def test_a_postgres_warehouse_is_not_copied():
    with pytest.raises(ValueError, match="pg_dump"):
        Warehouse.of("postgresql://revwh:secret@db:5432/revenue").backup("/tmp/x")
