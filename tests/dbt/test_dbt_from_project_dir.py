"""dbt runs from dbt_project/ too: `cd dbt_project && dbt debug` finds the profile there
(dbt_project/profiles.yml links to profiles/profiles.yml) and, without REVWH_WAREHOUSE, opens
the repository's warehouse/revenue.duckdb, the same file dbt opens when run from the root
with --profiles-dir profiles. Checked on a copy of the project's configuration in a scratch
folder, so no test touches the repository's own warehouse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from core.dbt import PROFILES_DIR, PROJECT_DIR

DBT = str(Path(sys.executable).parent / "dbt")


def _dbt_debug(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REVWH_", "DBT_"))}
    return subprocess.run(
        [DBT, "debug", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_dbt_debug_from_dbt_project_opens_the_default_warehouse(tmp_path):
    assert (PROJECT_DIR / "profiles.yml").resolve() == (PROFILES_DIR / "profiles.yml").resolve()
    repo = tmp_path / "repo"
    (repo / "dbt_project").mkdir(parents=True)
    (repo / "profiles").mkdir()
    (repo / "warehouse").mkdir()
    shutil.copy(PROJECT_DIR / "dbt_project.yml", repo / "dbt_project")
    shutil.copy(PROJECT_DIR / "profiles.yml", repo / "dbt_project")  # the file it links to
    shutil.copy(PROFILES_DIR / "profiles.yml", repo / "profiles")
    default = repo / "warehouse" / "revenue.duckdb"

    from_project = _dbt_debug(repo / "dbt_project")
    assert from_project.returncode == 0, from_project.stdout + from_project.stderr
    assert "All checks passed!" in from_project.stdout
    assert default.exists()  # dbt's connection test opened (and so created) it
    default.unlink()

    from_root = _dbt_debug(repo, "--project-dir", "dbt_project", "--profiles-dir", "profiles")
    assert from_root.returncode == 0, from_root.stdout + from_root.stderr
    assert default.exists()
