"""Build the dbt models (`dbt build`: models and their tests) in-process with dbtRunner.

    result = build_models("warehouse/revenue.duckdb", date(2026, 11, 15))
    if not result.success:
        print(result.describe_failures())

The warehouse picks the dbt target of `profiles/profiles.yml`: a DuckDB file path gives
`REVWH_TARGET=duckdb` and `REVWH_WAREHOUSE=<absolute path>`; a `postgresql://` URL gives
`REVWH_TARGET=postgres` and `REVWH_PG_HOST/_PORT/_USER/_PASSWORD/_DATABASE`. These are set for
the dbt invocation only and restored afterwards. dbt's artifacts (`target/`) and log file go
next to the warehouse (`<folder>/.dbt/<name>-<hash>/`), so builds of two warehouses never
share (or race on) one manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from ingestion.warehouse import dlt_postgres_url, is_postgres, warehouse_target

REPO_ROOT = Path(__file__).resolve().parents[1]
PROJECT_DIR = REPO_ROOT / "dbt_project"
PROFILES_DIR = REPO_ROOT / "profiles"

# dbt's node statuses, grouped the way a user reads them.
PASSED = {"success", "pass", "no-op"}
WARNED = {"warn", "partial success"}
FAILED = {"error", "fail", "runtime error"}
SKIPPED = {"skipped"}
_STYLE = {"passed": "green", "warned": "yellow", "failed": "red", "skipped": "dim"}
_LABEL = {"passed": "OK", "warned": "WARN", "failed": "FAIL", "skipped": "SKIP"}


class BuildError(RuntimeError):
    """`dbt build` failed; the message names the failing nodes and what they said."""

    def __init__(self, result: BuildResult):
        super().__init__(result.describe_failures())
        self.result = result


def outcome(status: str) -> str:
    """passed | warned | failed | skipped, for one of dbt's node statuses."""
    status = str(status).lower()
    if status in PASSED:
        return "passed"
    if status in WARNED:
        return "warned"
    if status in SKIPPED:
        return "skipped"
    return "failed"


def gist(message: str) -> str:
    """The telling line of a dbt error: not its "Runtime Error in model x (path)" header."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if len(lines) > 1 and re.match(r"^[\w ]*Error in \w+ ", lines[0]):
        return lines[1]
    return lines[0] if lines else ""


@dataclass
class NodeFailure:
    name: str  # e.g. mrr_summary_daily, or the test's name
    resource_type: str  # model | test | seed | snapshot | unit_test
    status: str  # dbt's status: error | fail | runtime error
    message: str
    unique_id: str = ""


@dataclass
class BuildResult:
    success: bool
    # resource type (model, test, seed, snapshot, unit_test) -> passed/warned/failed/skipped
    counts: dict[str, Counter] = field(default_factory=dict)
    failures: list[NodeFailure] = field(default_factory=list)
    # An error of the whole invocation (project does not parse, warehouse unreachable, ...)
    error: str | None = None
    seconds: float = 0.0
    target: str = ""  # duckdb | postgres
    artifacts_dir: Path | None = None  # dbt's target/ and logs/ for this warehouse

    def _count(self, kinds: tuple[str, ...], result: str) -> int:
        return sum(self.counts.get(kind, Counter())[result] for kind in kinds)

    @property
    def models_passed(self) -> int:
        return self._count(("model", "seed", "snapshot"), "passed")

    @property
    def models_failed(self) -> int:
        return self._count(("model", "seed", "snapshot"), "failed")

    @property
    def models_skipped(self) -> int:
        return self._count(("model", "seed", "snapshot"), "skipped")

    @property
    def tests_passed(self) -> int:
        return self._count(("test", "unit_test"), "passed")

    @property
    def tests_warned(self) -> int:
        return self._count(("test", "unit_test"), "warned")

    @property
    def tests_failed(self) -> int:
        return self._count(("test", "unit_test"), "failed")

    @property
    def tests_skipped(self) -> int:
        return self._count(("test", "unit_test"), "skipped")

    @property
    def log_file(self) -> Path | None:
        """dbt's debug log: logs/ when dbt ran in this process, target/ when Dagster ran it
        (dagster-dbt keeps the log beside the artifacts it reads)."""
        if self.artifacts_dir is None:
            return None
        for folder in ("logs", "target"):
            if (self.artifacts_dir / folder / "dbt.log").is_file():
                return self.artifacts_dir / folder / "dbt.log"
        return self.artifacts_dir / "logs" / "dbt.log"

    def summary(self) -> str:
        if self.error and not self.counts:
            return f"dbt build FAILED after {self.seconds:.1f} s"
        models = f"{self.models_passed:,} models built"
        if self.models_failed:
            models += f", {self.models_failed:,} failed"
        if self.models_skipped:
            models += f", {self.models_skipped:,} skipped"
        tests = f"{self.tests_passed:,} tests passed"
        if self.tests_warned:
            tests += f", {self.tests_warned:,} warned"
        if self.tests_failed:
            tests += f", {self.tests_failed:,} failed"
        if self.tests_skipped:
            tests += f", {self.tests_skipped:,} skipped"
        verdict = "dbt build passed" if self.success else "dbt build FAILED"
        return f"{verdict}: {models}; {tests} ({self.seconds:.1f} s)"

    def describe_failures(self) -> str:
        lines = []
        if self.error:
            lines.append(self.error)
        for failure in self.failures:
            lines.append(f"{failure.resource_type} {failure.name} ({failure.status}):")
            lines.extend(f"    {line}" for line in failure.message.strip().splitlines())
        if not lines and not self.success:
            lines.append("dbt build failed")
        if self.log_file and not self.success:
            lines.append(f"dbt's log: {self.log_file}")
        return "\n".join(lines)

    def raise_for_failure(self) -> BuildResult:
        if not self.success:
            raise BuildError(self)
        return self


# --------------------------------------------------------------------------- target


def target_env(warehouse: str | None) -> dict[str, str]:
    """The environment that points profiles/profiles.yml at `warehouse`."""
    target = warehouse_target(warehouse)
    if is_postgres(target):
        parts = urlsplit(dlt_postgres_url(target))
        return {
            "REVWH_TARGET": "postgres",
            "REVWH_PG_HOST": parts.hostname or "127.0.0.1",
            "REVWH_PG_PORT": str(parts.port or 5432),
            "REVWH_PG_USER": unquote(parts.username or "postgres"),
            "REVWH_PG_PASSWORD": unquote(parts.password or ""),
            "REVWH_PG_DATABASE": unquote(parts.path.lstrip("/")) or "revenue",
        }
    return {"REVWH_TARGET": "duckdb", "REVWH_WAREHOUSE": str(Path(target).resolve())}


def artifacts_dir(warehouse: str | None) -> Path:
    """Where dbt writes target/ and logs/ for one warehouse: next to a DuckDB file, under
    the repository's (git-ignored) warehouse/ folder for PostgreSQL."""
    target = warehouse_target(warehouse)
    if is_postgres(target):
        parts = urlsplit(dlt_postgres_url(target))
        # host, port and database only: the password never reaches a path
        key = f"{parts.hostname}:{parts.port or 5432}/{parts.path.lstrip('/')}"
        base, name = REPO_ROOT / "warehouse" / ".dbt", "postgres"
    else:
        path = Path(target).resolve()
        key, base, name = str(path), path.parent / ".dbt", path.stem
    return base / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
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


# --------------------------------------------------------------------------- progress


class _Progress:
    """dbtRunner callback (called from dbt's worker threads): a line per finished model,
    seed or snapshot and per test that did not pass; passing tests only move the bar
    (`every_node`: a line for those too)."""

    def __init__(self, console: Console | None, every_node: bool = False):
        self.console = console
        self.every_node = every_node
        self.total = 0
        self.done = 0
        self.tests_passed = 0
        self._lock = threading.Lock()
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __enter__(self) -> _Progress:
        if self.console is not None:
            self.bar = Progress(
                TextColumn("dbt build"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[tests]:,} tests passed"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("dbt build", total=None, tests=0)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, event: Any) -> None:
        if self.console is None:
            return
        name = event.info.name
        if name == "ConcurrencyLine":
            self.total = event.data.node_count
            if self.bar is not None and self.task is not None:
                self.bar.update(self.task, total=self.total)
            self.console.print(
                f"dbt build: {self.total:,} nodes on {event.data.target_name} "
                f"with {event.data.num_threads} threads"
            )
        elif name == "NodeFinished":
            self._finished(event.data.node_info, event.data.run_result)

    def _finished(self, node: Any, result: Any) -> None:
        kind = outcome(result.status)
        is_test = node.resource_type in ("test", "unit_test")
        with self._lock:
            self.done += 1
            done = self.done
            # dbt's node count leaves out some nodes it then skips after a failure
            total = self.total = max(self.total, done)
            if is_test and kind == "passed":
                self.tests_passed += 1
            tests = self.tests_passed
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=done, total=total, tests=tests)
        if is_test and kind in ("passed", "skipped") and not self.every_node:
            return  # counted in the bar and the summary
        width = len(str(total))
        line = (
            f"  {done:>{width}}/{total} "
            f"[{_STYLE[kind]}]{_LABEL[kind]:<4}[/] "
            f"{node.resource_type:<6} {escape(node.node_name)} "
            f"[dim]{result.execution_time:.1f} s[/]"
        )
        if kind in ("failed", "warned") and result.message:
            line += f"  [{_STYLE[kind]}]{escape(gist(result.message)[:160])}[/]"
        self.console.print(line, highlight=False)


# --------------------------------------------------------------------------- build


AS_OF_VARIABLE = "REVWH_AS_OF"


def as_of_env(as_of: date | None) -> dict[str, str]:
    """The as-of date for dbt, as REVWH_AS_OF (macros/settings.sql reads it when SQL is
    rendered to run). Not a var: dbt re-parses the whole project whenever its vars change,
    which a date that moves every day would make every daily run do. Empty: the
    warehouse's current date."""
    return {AS_OF_VARIABLE: as_of.isoformat() if as_of is not None else ""}


def build_models(
    warehouse: str | None = None,
    as_of: date | None = None,
    full_refresh: bool = False,
    select: str | None = None,
    vars: dict | None = None,
    threads: int | None = None,
    console: Console | None = None,
    exclude: str | None = None,
    unit_tests: bool = False,
    every_node: bool = False,
    command: str = "build",
) -> BuildResult:
    """`dbt build` (models, seeds, snapshots and their tests, in DAG order) against
    `warehouse` (DuckDB path or postgresql:// URL; default `REVWH_WAREHOUSE` or
    warehouse/revenue.duckdb), with var `as_of` (None: the warehouse's current date) and
    any extra `vars`. `console` gets a progress bar, a line per model and per test that
    did not pass (`every_node`: per test too), and the summary (None: silent).

    Never raises for a failed build: check `success` (or call `raise_for_failure()`)."""
    from dbt.cli.main import dbtRunner

    started = time.perf_counter()
    env = target_env(warehouse) | as_of_env(as_of)
    out = artifacts_dir(warehouse)
    args = [
        command,  # build; `test` runs tests alone (unit tests are only selectable that way)
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target-path",
        str(out / "target"),
        "--log-path",
        str(out / "logs"),
        # dbt's stdout stays quiet: the callback prints progress, BuildResult the failures
        "--log-level",
        "none",
        "--log-level-file",  # else it follows --log-level and no log file is written
        "debug",
        "--vars",
        json.dumps(vars or {}, default=str),  # never the as-of date: see as_of_env
    ]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    # unit tests check the SQL's logic on made-up rows, not the data: CI runs them
    # (tests/dbt/test_unit_tests.py), a data build skips them
    excluded = [e for e in (exclude, None if unit_tests else "test_type:unit") if e]
    if excluded:
        args += ["--exclude", *excluded]
    if threads:
        args += ["--threads", str(threads)]
    with _environment(env), _Progress(console, every_node) as progress:
        try:
            outcome_ = dbtRunner(callbacks=[progress]).invoke(args)
        finally:
            _release_duckdb()
    result = _result(outcome_, env["REVWH_TARGET"], out)
    result.seconds = time.perf_counter() - started
    if console is not None:
        console.print(
            f"[{'green' if result.success else 'red'}]{escape(result.summary())}[/]",
            highlight=False,
        )
        if not result.success:
            console.print(escape(result.describe_failures()), highlight=False)
    return result


def _release_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB connection open in this process after the build, which
    blocks any other connection to the file with other settings (read-only readers, the
    next dlt load). Close it."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
        if env is not None:
            env.close()


def _result(outcome_: Any, target: str, out: Path) -> BuildResult:
    result = BuildResult(success=bool(outcome_.success), target=target, artifacts_dir=out)
    run = outcome_.result
    for node_result in getattr(run, "results", None) or []:
        node = node_result.node
        kind = outcome(node_result.status)
        result.counts.setdefault(str(node.resource_type), Counter())[kind] += 1
        if kind == "failed":
            result.failures.append(
                NodeFailure(
                    name=node.name,
                    resource_type=str(node.resource_type),
                    status=str(node_result.status),
                    message=str(node_result.message or "no message"),
                    unique_id=node.unique_id,
                )
            )
    if outcome_.exception is not None:
        result.error = _exception_text(outcome_.exception)
        result.success = False
    elif not result.success and not result.failures:
        result.error = "dbt build failed; see dbt's log"
    return result


def _exception_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else type(exc).__name__


def result_from_artifacts(out: Path, target: str, error: str | None = None) -> BuildResult:
    """The BuildResult of a `dbt build` that ran elsewhere (Dagster's dbt asset, in a dbt
    subprocess), from the run_results.json it left in `out`/target. `error`: why the step
    failed, when dbt wrote no results (the project did not parse, ...)."""
    import orjson

    path = out / "target" / "run_results.json"
    result = BuildResult(success=False, target=target, artifacts_dir=out)
    if not path.is_file():
        result.error = error or "dbt wrote no run_results.json; see dbt's log"
        return result
    payload = orjson.loads(path.read_bytes())
    result.seconds = float(payload.get("elapsed_time") or 0.0)
    for node in payload.get("results", []):
        unique_id = node["unique_id"]
        # model.<package>.<name>, test.<package>.<name>.<hash>, unit_test.<package>.<model>.<name>
        parts = unique_id.split(".")
        resource_type, name = parts[0], parts[-1] if parts[0] == "unit_test" else parts[2]
        kind = outcome(node["status"])
        result.counts.setdefault(resource_type, Counter())[kind] += 1
        if kind == "failed":
            result.failures.append(
                NodeFailure(
                    name=name,
                    resource_type=resource_type,
                    status=str(node["status"]),
                    message=str(node.get("message") or "no message"),
                    unique_id=unique_id,
                )
            )
    result.success = not result.failures and error is None
    if error is not None and not result.failures:
        result.error = error
    return result
