"""A warehouse built once per session from the small world: loads and `dbt build`."""

from __future__ import annotations

from pathlib import Path

import pytest

from revwh.pipeline import Inputs, run_pipeline
from tests.conftest import AS_OF


@pytest.fixture(scope="session")
def small_warehouse(small_world, tmp_path_factory) -> Path:
    """The small world loaded into DuckDB and built by dbt, as `revwh run` does it."""
    db = tmp_path_factory.mktemp("small_warehouse") / "revenue.duckdb"
    result = run_pipeline(Inputs.from_world(small_world), AS_OF, str(db))
    assert result.ok, "\n".join(result.problems())
    return db
