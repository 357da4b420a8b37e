"""The small world's warehouse, loaded and built by `revwh run` once per session."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from core.settings import RunSettings
from orchestration.lib.dbt import run_dbt
from tests.conftest import AS_OF, built_once


@pytest.fixture(scope="session")
def small_warehouse(small_run) -> Path:
    done, warehouse, output = small_run
    assert done.returncode == 0, output
    return warehouse


def rebuilt_copy(
    warehouse: Path,
    copy: Path,
    statements: list[str],
    as_of: date,
    vars: dict | None = None,
    full_refresh: bool = True,
    select: str | None = None,
) -> Path:
    """A copy of `warehouse` whose raw data `statements` change, rebuilt by dbt for real."""
    shutil.copy(warehouse, copy)
    connection = duckdb.connect(str(copy))
    try:
        for statement in statements:
            connection.execute(statement)
    finally:
        connection.close()
    result = run_dbt(copy, RunSettings.of(as_of, vars), full_refresh=full_refresh, select=select)
    assert result.success, result
    return copy


@pytest.fixture(scope="session")
def bare_warehouse(small_warehouse, tmp_path_factory) -> Path:
    """The small world without cost sheets and without product usage data (the usage table
    never created, as before dlt's first row; no activation events), built with
    estimates allowed: whatever needs those inputs must be null and `insufficient_data`,
    since there is nothing to estimate from."""
    folder = built_once(
        tmp_path_factory,
        "bare_warehouse",
        lambda out: rebuilt_copy(
            small_warehouse,
            out / "bare.duckdb",
            [
                "delete from raw_costs.cost_sheet_rows",
                "drop table raw_app.usage_daily",
                "delete from raw_app.activation_events",
            ],
            AS_OF,
            vars={"allow_estimates": True},
        ),
    )
    return folder / "bare.duckdb"
