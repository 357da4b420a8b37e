"""The small world's warehouse, loaded and built by `revwh run` once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_warehouse(small_run) -> Path:
    done, warehouse, output = small_run
    assert done.returncode == 0, output
    return warehouse
