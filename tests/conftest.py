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
# the key the ChartMogul stand-in accepts in tests (never a real one)
CHARTMOGUL_TEST_KEY = "cm_test_key"


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


def revwh(*args: str, cwd: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    hidden = ("REVWH_WAREHOUSE", "STRIPE_API_KEY", "CHARTMOGUL_API_KEY", "CHARTMOGUL_API_BASE")
    env = {
        k: v for k, v in os.environ.items() if k not in hidden and not k.startswith("REVWH_ALERT")
    }
    env.update(env_extra or {})
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
    """One `revwh run --reconcile` of the small world into a fresh warehouse, from an
    unrelated cwd, against the ChartMogul stand-in holding the same business."""
    from sandbox.chartmogul import ChartMogulStandIn

    folder = tmp_path_factory.mktemp("run")
    warehouse = folder / "warehouse" / "small.duckdb"
    with ChartMogulStandIn(small_world, as_of=AS_OF, api_key=CHARTMOGUL_TEST_KEY) as chartmogul:
        done = _run_small_world(small_world, folder, warehouse, chartmogul.url)
    return done, warehouse, done.stdout + done.stderr


def _run_small_world(small_world: Path, folder: Path, warehouse: Path, chartmogul_url: str):
    return revwh(
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
        "--reconcile",
        "--chartmogul-api-base",
        chartmogul_url,
        cwd=folder,
        env_extra={"CHARTMOGUL_API_KEY": CHARTMOGUL_TEST_KEY},
    )
