"""Shared fixtures: sandbox worlds generated once per test session, and one `revwh run` of
the small world that the pipeline, dbt and CLI tests share."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from filelock import FileLock

from sandbox.world.generate import generate_world

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
AS_OF = date(2026, 11, 15)
START = date(2024, 11, 1)
# the key the ChartMogul stand-in accepts in tests (never a real one)
CHARTMOGUL_TEST_KEY = "cm_test_key"


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder that `build` fills once per test session, also when pytest-xdist runs the
    tests in several processes: the first worker builds it (under a file lock), the others
    wait for it and use the same one. Whoever uses it must not change it (copy it first)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, shared by the workers
    folder = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


# The slowest files first, so that the two test processes finish together: the first builds
# the shared small run (test_run_cli) while the second loads Stripe, which needs only the
# world. Ordered by `pytest --durations`; files not listed follow in their usual order
# (pyproject's addopts turn off pytest-xdist's own reordering).
SLOWEST_FIRST = (
    "tests/test_run_cli.py",
    "tests/ingestion/test_stripe_source.py",
    "tests/deploy/test_daemon_schedule.py",
    "tests/dbt/test_postgres_warehouse.py",
    "tests/orchestration/test_selectors.py",
    "tests/chartmogul/test_sync_closed_loop.py",
    "tests/orchestration/test_chartmogul_sync_asset.py",
    "tests/test_cli.py",
    "tests/dbt/test_incremental.py",
    "tests/dbt/test_kpis.py",
    "tests/dbt/test_build_scope.py",
    "tests/chartmogul/test_reconcile_cli.py",
    "tests/chartmogul/test_client_and_reconcile.py",
    "tests/ingestion/test_app_db.py",
    "tests/dbt/test_customer_health.py",
    "tests/orchestration/test_definitions.py",
    "tests/orchestration/test_reconciliation.py",
    "tests/dbt/test_semantic_layer.py",
    "tests/dbt/test_unit_tests.py",
    "tests/orchestration/test_published_during_run.py",
    "tests/orchestration/test_dbt_docs.py",
    "tests/orchestration/test_source_freshness.py",
    "tests/dbt/test_dbt_from_project_dir.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: position for position, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """The small world (about 500 accounts over two years), as the demo builds it."""
    return built_once(
        tmp_path_factory,
        "small_world",
        lambda out: generate_world("small", 42, AS_OF, out, start=START),
    )


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    folder = SHARED / "reference"
    if not folder.is_dir():
        pytest.fail(f"the shared reference data is missing: expected {folder}")
    return folder


def revwh(*args: str, cwd: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    hidden = (
        "REVWH_WAREHOUSE",
        "STRIPE_API_KEY",
        "STRIPE_API_BASE",
        "CHARTMOGUL_API_KEY",
        "CHARTMOGUL_API_BASE",
        "DAGSTER_HOME",  # a test run records nothing in a real instance
    )
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

    def build(folder: Path) -> None:
        warehouse = folder / "warehouse" / "small.duckdb"
        with ChartMogulStandIn(small_world, as_of=AS_OF, api_key=CHARTMOGUL_TEST_KEY) as cm:
            done = _run_small_world(small_world, folder, warehouse, cm.url)
        (folder / "run.json").write_text(
            json.dumps({"args": done.args, "returncode": done.returncode,
                        "stdout": done.stdout, "stderr": done.stderr})
        )  # fmt: skip

    folder = built_once(tmp_path_factory, "small_run", build)
    saved = json.loads((folder / "run.json").read_text())
    done = subprocess.CompletedProcess(**saved)
    return done, folder / "warehouse" / "small.duckdb", done.stdout + done.stderr


def small_world_run_args(small_world: Path, warehouse: Path, chartmogul_url: str) -> list[str]:
    """`revwh run --reconcile` of every input of the small world (the shared run's command;
    the chaos test kills it)."""
    return [
        "run",
        "--stripe-fixtures", str(small_world / "stripe"),
        "--app-db", str(small_world / "app.sqlite"),
        "--fx-rates", str(small_world / "fx_rates.csv"),
        "--cost-sheets", str(small_world / "cost_sheets"),
        "--as-of", AS_OF.isoformat(),
        "--warehouse", str(warehouse),
        "--reconcile", "--chartmogul-api-base", chartmogul_url,
    ]  # fmt: skip


def _run_small_world(small_world: Path, folder: Path, warehouse: Path, chartmogul_url: str):
    return revwh(
        *small_world_run_args(small_world, warehouse, chartmogul_url),
        cwd=folder,
        env_extra={"CHARTMOGUL_API_KEY": CHARTMOGUL_TEST_KEY},
    )


@pytest.fixture(scope="session")
def warehouse_copy_folder(tmp_path_factory) -> Path:
    # one per test process (pytest-xdist workers each have their own base folder), whose
    # tests run one after another
    return tmp_path_factory.mktemp("warehouse_copy")


@pytest.fixture
def small_warehouse_copy(small_run, warehouse_copy_folder) -> Path:
    """A fresh copy of the small run's warehouse, for a test that writes to it. The tests of
    one test process get their copies at the same path, with nothing kept of the test before
    but dbt's parse (.dbt/): dbt parses the whole project again when the warehouse's path
    changes (to dbt, its profile changed), several seconds a build."""
    done, built, output = small_run
    assert done.returncode == 0, output
    for entry in warehouse_copy_folder.iterdir():
        if entry.name != ".dbt":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    copy = warehouse_copy_folder / "warehouse.duckdb"
    shutil.copy(built, copy)
    return copy
