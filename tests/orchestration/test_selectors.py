"""The schedules' dbt models are dbt selectors (dbt_project/selectors.yml): each job builds
exactly the models and tests `dbt ls --selector <its selector>` lists, so `dbt build
--selector hourly` by hand and the hourly schedule do the same thing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.dbt import PROFILES_DIR, PROJECT_DIR
from core.dbt_scope import HOURLY_SELECTOR, selector_arguments
from orchestration.defs.schedules import DAILY_SELECTOR, WEEKLY_SELECTOR

JOBS = {
    "hourly_refresh": HOURLY_SELECTOR,
    "daily_build": DAILY_SELECTOR,
    "weekly_health": WEEKLY_SELECTOR,
}


@pytest.fixture(scope="module")
def dbt_ls(tmp_path_factory):
    target = tmp_path_factory.mktemp("dbt_ls")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REVWH_", "DBT_"))}
    env["REVWH_WAREHOUSE"] = str(target / "unused.duckdb")  # dbt ls connects to nothing

    answers: dict[tuple[str, ...], set[tuple[str, str]]] = {}

    def listed(*selection: str) -> set[tuple[str, str]]:
        if selection not in answers:
            answers[selection] = _list(selection)
        return answers[selection]

    def _list(selection: tuple[str, ...]) -> set[tuple[str, str]]:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), "ls", *selection,
             "--resource-type", "model", "--resource-type", "test",
             "--output", "json", "--output-keys", "name", "resource_type",
             "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROFILES_DIR),
             "--target-path", str(target / "target"), "--quiet"],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        nodes = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        return {(node["resource_type"], node["name"]) for node in nodes}

    return listed


def _job_nodes(defs, job_name: str, dbt_names: set[str]) -> set[tuple[str, str]]:
    layer = defs.resolve_job_def(job_name).asset_layer
    models = {("model", k.path[-1]) for k in layer.selected_asset_keys if k.path[-1] in dbt_names}
    tests = {("test", c.name) for c in layer.asset_graph.asset_check_keys if c.name in dbt_names}
    return models | tests


@pytest.mark.parametrize("job_name", sorted(JOBS))
def test_each_jobs_dbt_nodes_are_its_selectors(job_name, dbt_ls):
    """Models are assets and tests their checks; a test that reads several models (the
    revenue reconciliations in tests/revenue/) is no single asset's check, so the
    comparison covers the nodes Dagster shows."""
    from orchestration.definitions import load
    from orchestration.defs.dbt.assets import dbt_project_manifest

    defs = load()
    manifest = dbt_project_manifest()
    names = {kind: set() for kind in ("model", "test")}
    for node in manifest["nodes"].values():
        names.get(node["resource_type"], set()).add(node["name"])
    checks = {check.name for check in defs.resolve_asset_graph().asset_check_keys}
    shown = names["model"] | (names["test"] & checks)
    listed = {(kind, name) for kind, name in dbt_ls("--selector", JOBS[job_name]) if name in shown}
    assert ("model", "mrr_summary_daily") in listed or job_name == "weekly_health"
    assert _job_nodes(defs, job_name, shown) == listed


def test_the_hourly_selector_as_select_and_exclude_lists_the_same(dbt_ls):
    """The benchmark adds its own exclusions (dbt ignores --exclude beside --selector), so it
    runs the hourly selector as --select/--exclude: the same nodes."""
    select, exclude = selector_arguments(HOURLY_SELECTOR)
    assert "tag:full_check" in exclude
    assert dbt_ls("--select", *select.split(), "--exclude", *exclude.split()) == dbt_ls(
        "--selector", HOURLY_SELECTOR
    )
