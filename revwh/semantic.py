"""MetricFlow (`mf`, from dbt-metricflow) on a built warehouse: the semantic layer of
dbt_project/models/semantic/.

    project = prepare_semantic_layer("warehouse/revenue.duckdb")
    subprocess.run(
        ["mf", "query", "--metrics", "mrr", "--group-by", "metric_time__month"],
        env=mf_env("warehouse/revenue.duckdb", project),
    )

`mf` has no --project-dir: it reads `<project>/target/semantic_manifest.json` of the dbt
project named by DBT_PROJECT_DIR (else the working directory). `prepare_semantic_layer`
runs `dbt parse` the way every build runs dbt (same profile, env and artifacts folder
next to the warehouse, `<folder>/.dbt/<name>-<hash>/`) and lays out a small project folder
for `mf` there: dbt_project.yml and the semantic manifest, so nothing is written into the
repository. The manifest names the warehouse's relations (a DuckDB file's stem is its
database name): prepare it for the warehouse you query.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

from core.dbt import PROFILES_DIR, PROJECT_DIR
from core.settings import RunSettings
from core.warehouse import Warehouse


def prepare_semantic_layer(warehouse: str | None = None, as_of: date | None = None) -> Path:
    """`dbt parse` for `warehouse` and the folder `mf` runs on; returns that folder."""
    from orchestration.lib.dbt import run_dbt

    target = Warehouse.of(warehouse)
    result = run_dbt(target, RunSettings.of(as_of), "parse")
    result.raise_for_failure()
    out = target.artifacts_dir
    project = out / "metricflow"
    (project / "target").mkdir(parents=True, exist_ok=True)
    shutil.copy2(PROJECT_DIR / "dbt_project.yml", project / "dbt_project.yml")
    shutil.copy2(
        out / "target" / "semantic_manifest.json", project / "target" / "semantic_manifest.json"
    )
    return project


def mf_env(warehouse: str | None = None, project: Path | None = None) -> dict[str, str]:
    """The environment for an `mf` subprocess on `warehouse` (`project`: the folder from
    prepare_semantic_layer, by default where it puts it)."""
    target = Warehouse.of(warehouse)
    project = project or target.artifacts_dir / "metricflow"
    return {
        **os.environ,
        **target.dbt_env(),
        "DBT_PROFILES_DIR": str(PROFILES_DIR),
        "DBT_PROJECT_DIR": str(project),
    }
