"""The dbt project as Dagster sees it. The manifest is prepared by `make install` (and by
`dagster dev` itself); importing this module never runs dbt otherwise."""

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from revwh.transform import PROFILES_DIR, PROJECT_DIR

# dagster-dbt runs `dbt` from PATH; the one installed beside this interpreter is ours, also
# when `dagster dev` is started as .venv/bin/dagster without activating the environment
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join(filter(None, (_BIN, os.environ.get("PATH"))))

dbt_project = DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROFILES_DIR)
# `dagster dev` parses the project when it starts; everywhere else the manifest must exist
dbt_project.prepare_if_dev()
