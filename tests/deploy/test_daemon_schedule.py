"""The production instance for real: `dagster-daemon run` and a `dagster code-server`, as the
compose file starts them, on deploy/dagster.yaml and deploy/workspace.yaml unchanged, with
Dagster's storage in PostgreSQL. The hourly schedule, running by default (REVWH_SCHEDULES)
and firing each minute (REVWH_HOURLY_CRON), ticks; its run goes through the run queue, is
launched on the code server and loads Stripe from the stand-in, started as a live server
(`revwh sandbox serve-stripe`), into a copy of the small world's warehouse. Once Stripe is
loaded (and the app database) the run is cancelled through the run coordinator: its dbt
build is what other tests cover, and takes minutes here. About a minute or two in all.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.execution.stats import StepEventStatus
from dagster._core.storage.tags import SCHEDULE_NAME_TAG

from tests.conftest import REPO_ROOT
from tests.postgres import fresh_database

pytestmark = pytest.mark.postgres

BIN = Path(sys.executable).parent
HOURLY_SCHEDULE = "hourly_refresh_schedule"
# each wait: a minute to the next tick at most, the run's start, the loads
DEADLINE_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_listening(port: int, process: subprocess.Popen, what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{what} did not listen on port {port} within {seconds:g} s")


def _instance_env(database_url: str, home: Path) -> dict[str, str]:
    """What deploy/dagster.yaml and deploy/workspace.yaml read, as compose.yaml sets it."""
    url = urlsplit(database_url)
    return {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": url.hostname,
        "DAGSTER_PG_PORT": str(url.port),
        "DAGSTER_PG_DB": url.path.lstrip("/"),
        "DAGSTER_PG_USER": url.username,
        "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
        "DAGSTER_STORAGE_DIR": str(home / "storage"),
        "DAGSTER_COMPUTE_LOGS_DIR": str(home / "compute_logs"),
        "DAGSTER_CODE_HOST": "127.0.0.1",
        "DAGSTER_CODE_PORT": str(_free_port()),
    }


def test_the_daemon_runs_the_hourly_schedule_on_postgres_storage(
    small_warehouse_copy, small_world, tmp_path, monkeypatch
):
    warehouse = small_warehouse_copy
    home = tmp_path / "dagster_home"
    home.mkdir()
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(REPO_ROOT / "deploy" / name, home / name)
    stripe_port = _free_port()
    request_log = tmp_path / "stripe_requests.jsonl"
    with fresh_database("revwh_deploy") as database_url:
        instance_env = _instance_env(database_url, home)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("REVWH_", "DAGSTER_", "STRIPE_", "CHARTMOGUL_"))
        }
        env |= instance_env | {
            "PYTHONPATH": str(REPO_ROOT),
            "REVWH_SCHEDULES": "running",
            "REVWH_HOURLY_CRON": "* * * * *",
            "REVWH_WAREHOUSE": str(warehouse),
            "REVWH_APP_DB": str(small_world / "app.sqlite"),
            "STRIPE_API_KEY": "sk_test_deploy",
            "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
        }
        for name, value in instance_env.items():
            monkeypatch.setenv(name, value)  # for this process's view of the instance

        def start(*command: str) -> subprocess.Popen:
            log = (tmp_path / f"{Path(command[0]).name}.log").open("w")
            return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)

        processes: list[subprocess.Popen] = []
        try:
            stripe = start(
                str(BIN / "revwh"), "sandbox", "serve-stripe",
                "--fixtures", str(small_world), "--port", str(stripe_port),
                "--rate-limit", "0", "--request-log", str(request_log),
            )  # fmt: skip
            processes.append(stripe)
            code = start(
                str(BIN / "dagster"), "code-server", "start",
                "--host", "127.0.0.1", "--port", env["DAGSTER_CODE_PORT"],
                "--module-name", "orchestration.definitions",
                "--location-name", "revenue_warehouse",
            )  # fmt: skip
            processes.append(code)
            _wait_listening(stripe_port, stripe, "the Stripe stand-in", 30)
            _wait_listening(int(env["DAGSTER_CODE_PORT"]), code, "the code server", 90)
            daemon = start(
                str(BIN / "dagster-daemon"), "run", "--workspace", str(home / "workspace.yaml")
            )
            processes.append(daemon)
            with DagsterInstance.from_config(str(home)) as instance:
                run = _scheduled_run_launched(instance, processes, tmp_path)
                # no second tick, no other launch: the run goes on in the code server
                daemon.terminate()
                daemon.wait(timeout=30)
                processes.remove(daemon)
                _wait_for(
                    lambda: _steps_succeeded(instance, run.run_id, "load_stripe", "load_app_db"),
                    "Stripe and app database loads in the run",
                    processes,
                    tmp_path,
                )
                assert instance.run_coordinator.cancel_run(run.run_id)
                _wait_for(
                    lambda: instance.get_run_by_id(run.run_id).is_finished,
                    "the cancelled run's end",
                    processes,
                    tmp_path,
                )
                run = instance.get_run_by_id(run.run_id)
                records = instance.get_records_for_run(
                    run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
                ).records
                materialized = {
                    r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records
                }
                coordinator = type(instance.run_coordinator).__name__
        finally:
            for process in reversed(processes):
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()

    assert run.tags[SCHEDULE_NAME_TAG] == HOURLY_SCHEDULE and run.job_name == "hourly_refresh"
    assert coordinator == "QueuedRunCoordinator"  # the run went through the queue
    assert run.status in (DagsterRunStatus.CANCELED, DagsterRunStatus.SUCCESS)
    assert {"dlt_stripe_invoices", "dlt_stripe_customers", "dlt_app_db_accounts"} <= materialized
    requests = [json.loads(line) for line in request_log.read_text().splitlines()]
    assert any(r["path"].startswith("/v1/invoices") and r["status"] == 200 for r in requests)


def _wait_for(condition, what: str, processes: list[subprocess.Popen], logs: Path):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"{Path(process.args[0]).name} exited: {_tails(logs)}")
        if result := condition():
            return result
        time.sleep(0.5)
    pytest.fail(f"no {what} within {DEADLINE_SECONDS} s: {_tails(logs)}")


def _scheduled_run_launched(instance: DagsterInstance, processes, logs: Path):
    """The hourly schedule's first run, once the queue has launched it."""

    def launched():
        runs = instance.get_runs(RunsFilter(tags={SCHEDULE_NAME_TAG: HOURLY_SCHEDULE}))
        first = runs[-1] if runs else None  # newest first
        queued = (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED)
        return first if first is not None and first.status not in queued else None

    return _wait_for(launched, f"launched run of {HOURLY_SCHEDULE}", processes, logs)


def _steps_succeeded(instance: DagsterInstance, run_id: str, *steps: str) -> bool:
    run = instance.get_run_by_id(run_id)
    if run.is_finished and run.status != DagsterRunStatus.SUCCESS:
        pytest.fail(f"the scheduled run ended {run.status.value}: {_run_failure(instance, run_id)}")
    stats = {s.step_key: s.status for s in instance.get_run_step_stats(run_id)}
    return all(stats.get(step) == StepEventStatus.SUCCESS for step in steps)


def _run_failure(instance: DagsterInstance, run_id: str) -> str:
    errors = [
        event.message
        for event in instance.all_logs(run_id)
        if event.dagster_event is not None and event.dagster_event.is_failure
    ]
    return "\n".join(errors[-5:])


def _tails(logs: Path) -> str:
    return "\n".join(
        f"--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-20:])
        for log in sorted(logs.glob("*.log"))
    )
