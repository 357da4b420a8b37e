"""The dbt project: where it is, and what a `dbt build` said, read from the artifacts it left
(run_results.json). dbt itself runs through dagster-dbt's runner, in a Dagster run or
through `orchestration.lib.dbt.run_dbt` for the CLI and the tests; the target it builds is
`Warehouse.dbt_env()` and the as-of date `RunSettings.dbt_env()`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PROJECT_DIR = REPO_ROOT / "dbt_project"
PROFILES_DIR = REPO_ROOT / "profiles"

# dbt's node statuses, grouped the way a user reads them.
PASSED = {"success", "pass", "no-op"}
WARNED = {"warn", "partial success"}
SKIPPED = {"skipped"}


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


def last_invocation_error(out: Path) -> str | None:
    """The error that ended dbt's last invocation before it ran any node (a compilation
    error, a var a macro refused), from its JSON log in `out`/target: dbt's own words
    instead of "exit code 2"."""
    import orjson

    log = out / "target" / "dbt.log"
    if not log.is_file():
        return None
    with log.open("rb") as file:
        file.seek(max(0, log.stat().st_size - 256_000))  # the last invocation's events
        lines = file.read().splitlines()
    errors: list[str] = []
    for line in reversed(lines):
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        info, data = event.get("info", {}), event.get("data", {})
        if info.get("code") == "A001":  # "Running with dbt=": where the invocation began
            break
        if info.get("level") == "error" and (data.get("exc") or info.get("msg")):
            errors.append(" ".join(str(data.get("exc") or info["msg"]).split()))
    return "; ".join(reversed(errors)) or None


def result_from_artifacts(out: Path, target: str, error: str | None = None) -> BuildResult:
    """The BuildResult of a `dbt build` that ran elsewhere (Dagster's dbt asset, in a dbt
    subprocess), from the run_results.json it left in `out`/target. `error`: why the step
    failed, when dbt wrote no results (the project did not parse, ...)."""
    import orjson

    path = out / "target" / "run_results.json"
    result = BuildResult(success=False, target=target, artifacts_dir=out)
    if not path.is_file():
        result.error = (
            last_invocation_error(out) or error or "dbt wrote no run_results.json; see dbt's log"
        )
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
