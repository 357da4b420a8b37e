"""The code location: every definition under `defs/` (one folder per source system, small
files by kind), loaded by Dagster's `load_from_defs_folder`."""

from functools import cache
from pathlib import Path

import dagster as dg


@cache
def load() -> dg.Definitions:
    """The code location's definitions, loaded once per process."""
    return dg.load_from_defs_folder(project_root=Path(__file__).resolve().parent.parent)


@dg.definitions
def defs() -> dg.Definitions:
    return load()
