"""The dbt project as Dagster sees it. The manifest is prepared by `make install` (and by
`dagster dev` itself); importing this module never runs dbt."""

from dagster_dbt import DbtProject

from revwh.transform import PROFILES_DIR, PROJECT_DIR

dbt_project = DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROFILES_DIR)
# `dagster dev` parses the project when it starts; everywhere else the manifest must exist
dbt_project.prepare_if_dev()
