"""dagster-dbt's runner, the project's only way to run dbt: in a Dagster run (the dbt asset)
and, through `run_dbt`, for the CLI and the tests.

profiles/profiles.yml reads its target (`Warehouse.dbt_env()`) and the as-of date
(`RunSettings.dbt_env()`) from the environment of the dbt process. dagster-dbt builds that
environment from this process's, so `cli(env=...)` lays the values over it only while the
dbt process starts, and puts everything back before returning.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliInvocation, DbtCliResource
from packaging import version

from core.dbt import (
    PROFILES_DIR,
    PROJECT_DIR,
    BuildResult,
    last_invocation_error,
    result_from_artifacts,
)
from core.settings import RunSettings
from core.warehouse import Warehouse

_ENVIRONMENT = threading.Lock()


@contextmanager
def _overlay(values: Mapping[str, str]) -> Iterator[None]:
    with _ENVIRONMENT:
        saved = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def dbt_env(warehouse: Warehouse, settings: RunSettings) -> dict[str, str]:
    """What one dbt process needs: the target and the as-of date."""
    return warehouse.dbt_env() | settings.dbt_env()


class WarehouseDbtCliResource(DbtCliResource):
    """DbtCliResource that starts dbt with an explicit environment (see the module's
    docstring)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        # dagster-dbt asks `dbt --version` in a subprocess (4 s) once per resource instance;
        # our dbt executable is the dbt-core installed beside us, whose version we know
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        # dagster-dbt loads the project's macros in this process (1.5 s or more a call) for
        # an adapter it needs only to fetch column metadata and row counts, which we never
        # ask for; without one it runs dbt the same way
        return None

    def cli(  # type: ignore[override]
        self, args: Sequence[str], *, env: Mapping[str, str] | None = None, **kwargs
    ) -> DbtCliInvocation:
        if not env:
            return super().cli(args, **kwargs)
        with _overlay(env):
            return super().cli(args, **kwargs)


def dbt_args(
    command: str,
    settings: RunSettings,
    *,
    select: str | None = None,
    exclude: Sequence[str] = (),
    full_refresh: bool = False,
    threads: int | None = None,
) -> list[str]:
    """The arguments of one dbt command (`build`, `docs generate`, ...); the vars never carry
    the as-of date (see RunSettings.dbt_env)."""
    args = [*command.split(), "--vars", json.dumps(settings.dbt_vars, default=str)]
    if select:
        args += ["--select", select]
    if exclude:
        # one value: dagster-dbt reads a single word after --exclude
        args += ["--exclude", " ".join(exclude)]
    if threads:
        args += ["--threads", str(threads)]
    if full_refresh:
        args.append("--full-refresh")
    return args


def run_dbt(
    warehouse: Warehouse | str | None,
    settings: RunSettings,
    command: str = "build",
    *,
    select: str | None = None,
    exclude: Sequence[str] = (),
    full_refresh: bool = False,
    unit_tests: bool = False,
    threads: int | None = None,
) -> BuildResult:
    """Run one dbt command (`build`, `test`, `parse`) against `warehouse` outside Dagster, the
    way the dbt asset runs it (same runner, profile, environment and artifacts folder).
    Unit tests check the SQL's logic on made-up rows, not the data: left out unless asked
    for. Never raises for a failed build: check `success`."""
    warehouse = Warehouse.of(warehouse)
    out = warehouse.artifacts_dir
    excluded = [*exclude, *(() if unit_tests else ("test_type:unit",))]
    if command == "parse":
        excluded, select = [], None
    runner = standalone_runner()
    (out / "target").mkdir(parents=True, exist_ok=True)
    (out / "target" / "run_results.json").unlink(missing_ok=True)
    args = dbt_args(
        command,
        settings,
        select=select,
        exclude=excluded,
        full_refresh=full_refresh,
        threads=threads,
    )
    invocation = runner.cli(
        args,
        env=dbt_env(warehouse, settings),
        target_path=out / "target",
        raise_on_error=False,
    )
    invocation.wait()
    error = None
    if not invocation.is_successful():
        error = invocation.get_error()
        error = str(error) if error is not None else "dbt failed; see dbt's log"
    if command == "parse":
        result = BuildResult(success=error is None, target=warehouse.engine, artifacts_dir=out)
        result.error = error and (last_invocation_error(out) or error)
        return result
    return result_from_artifacts(out, warehouse.engine, error)


def standalone_runner() -> WarehouseDbtCliResource:
    """The runner outside a Dagster run: the dbt installed beside this interpreter."""
    return WarehouseDbtCliResource(
        project_dir=str(PROJECT_DIR),
        profiles_dir=str(PROFILES_DIR),
        dbt_executable=str(Path(sys.executable).parent / "dbt"),
    )


@dataclass(frozen=True)
class SourceFreshness:
    """What `dbt source freshness` said of one source table."""

    unique_id: str  # source.revenue_warehouse.stripe.invoices
    status: str  # pass | warn | error | runtime error
    newest_load: str | None  # the newest row's load time (UTC, ISO)
    age_seconds: float | None
    criteria: str  # "warn after 3 hours, error after 24 hours"
    error: str | None = None

    @property
    def table(self) -> str:
        return ".".join(self.unique_id.split(".")[-2:])

    def describe(self) -> str:
        if self.error or self.age_seconds is None:
            return f"{self.table}: {self.error or 'no rows loaded'} ({self.criteria})"
        return (
            f"{self.table}: newest rows loaded {self.age_seconds / 3600:.1f} h ago "
            f"({self.status}; {self.criteria})"
        )


def source_freshness(
    warehouse: Warehouse | str | None,
    settings: RunSettings,
    runner: WarehouseDbtCliResource | None = None,
) -> list[SourceFreshness]:
    """`dbt source freshness` of every source table with a threshold (dlt's load ids:
    models/staging/*/_*__sources.yml), through the project's runner. Raises RuntimeError
    with dbt's message when dbt could not check at all."""
    warehouse = Warehouse.of(warehouse)
    target = warehouse.artifacts_dir / "target"
    target.mkdir(parents=True, exist_ok=True)
    (target / "sources.json").unlink(missing_ok=True)
    args = ["source", "freshness", "--vars", json.dumps(settings.dbt_vars, default=str)]
    invocation = (runner or standalone_runner()).cli(
        args, env=dbt_env(warehouse, settings), target_path=target, raise_on_error=False
    )
    invocation.wait()
    if not (target / "sources.json").exists():
        error = last_invocation_error(warehouse.artifacts_dir) or invocation.get_error()
        raise RuntimeError(f"dbt source freshness did not run: {error}")
    results = json.loads((target / "sources.json").read_text())["results"]
    return [_source_freshness(result) for result in results]


def _source_freshness(result: Mapping) -> SourceFreshness:
    criteria = result.get("criteria") or {}
    limits = [
        f"{kind} after {limit['count']} {limit['period']}s"
        for kind, limit in (
            ("warn", criteria.get("warn_after")),
            ("error", criteria.get("error_after")),
        )
        if limit and limit.get("count")
    ]
    return SourceFreshness(
        unique_id=result["unique_id"],
        status=result["status"],
        newest_load=result.get("max_loaded_at"),
        age_seconds=result.get("max_loaded_at_time_ago_in_s"),
        criteria=", ".join(limits) or "no threshold",
        error=result.get("error"),
    )
