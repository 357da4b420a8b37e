"""The dbt project as Dagster sees it. Its manifest is prepared by `make install` (and so by
`make dagster`) whenever a file dbt reads changed; importing this module never runs dbt,
so loading the definitions (`dg check defs`, a code server) needs no dbt on PATH."""

from dagster_dbt import DbtProject

from core.dbt import PROFILES_DIR, PROJECT_DIR

dbt_project = DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROFILES_DIR)
