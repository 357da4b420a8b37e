"""Shared fixtures: sandbox worlds generated once per test session."""

from __future__ import annotations

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
