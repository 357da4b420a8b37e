"""Shared fixtures: sandbox worlds generated once per test session, and one `revwh run` of
the small world that the pipeline, dbt and CLI tests share."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from sandbox.world.generate import generate_world

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
AS_OF = date(2026, 11, 15)
START = date(2024, 11, 1)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """The small world (about 500 accounts over two years), as the demo builds it."""
    out = tmp_path_factory.mktemp("small_world")
    generate_world("small", 42, AS_OF, out, start=START)
    return out


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    folder = SHARED / "reference"
    if not folder.is_dir():
        pytest.fail(f"the shared reference data is missing: expected {folder}")
    return folder


def revwh(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("REVWH_WAREHOUSE", "STRIPE_API_KEY")}
    env["COLUMNS"] = "200"  # rich wraps at the terminal width; keep messages on one line
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "revwh.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="session")
def small_run(small_world, tmp_path_factory):
    """One `revwh run` of the small world into a fresh warehouse, from an unrelated cwd."""
    folder = tmp_path_factory.mktemp("run")
    warehouse = folder / "warehouse" / "small.duckdb"
    done = revwh(
        "run",
        "--stripe-fixtures",
        str(small_world / "stripe"),
        "--app-db",
        str(small_world / "app.sqlite"),
        "--fx-rates",
        str(small_world / "fx_rates.csv"),
        "--cost-sheets",
        str(small_world / "cost_sheets"),
        "--as-of",
        AS_OF.isoformat(),
        "--warehouse",
        str(warehouse),
        cwd=folder,
    )
    return done, warehouse, done.stdout + done.stderr
