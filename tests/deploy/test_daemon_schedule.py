"""The production instance for real: `dagster-daemon run` and a `dagster code-server`, as the
compose file starts them, on deploy/dagster.yaml and deploy/workspace.yaml unchanged, with
Dagster's storage in PostgreSQL. The hourly schedule, running by default (REVWH_SCHEDULES)
and firing each minute (REVWH_HOURLY_CRON), ticks; its run goes through the run queue and
loads Stripe from the stand-in, started as a live server (`revwh sandbox serve-stripe`), into
a copy of the small world's warehouse, builds the hourly models and publishes the copy."""

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
from dagster._core.storage.tags import SCHEDULE_NAME_TAG

from serving.publish import default_published_path
from tests.conftest import REPO_ROOT
from tests.postgres import fresh_database

pytestmark = pytest.mark.postgres

BIN = Path(sys.executable).parent
HOURLY_SCHEDULE = "hourly_refresh_schedule"
# a minute to the next tick at most, then the run (about half a minute on the small world)
DEADLINE_SECONDS = 240


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
    published = default_published_path(str(warehouse))
    published.unlink(missing_ok=True)
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
            run = _scheduled_run_done(home, processes, tmp_path)
        finally:
            for process in reversed(processes):
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()

        with DagsterInstance.from_config(str(home)) as instance:
            assert run.status == DagsterRunStatus.SUCCESS, _run_failure(instance, run)
            assert run.tags[SCHEDULE_NAME_TAG] == HOURLY_SCHEDULE
            assert run.job_name == "hourly_refresh"
            # the run went through the queue (the production run coordinator)
            assert instance.run_coordinator.__class__.__name__ == "QueuedRunCoordinator"
            records = instance.get_records_for_run(
                run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
            ).records
            materialized = {
                r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records
            }
    assert {"dlt_stripe_invoices", "mrr_summary_daily", "published_marts"} <= materialized
    requests = [json.loads(line) for line in request_log.read_text().splitlines()]
    assert any(r.get("path", "").startswith("/v1/") for r in requests), requests[:3]
    assert published.exists()


def _scheduled_run_done(home: Path, processes: list[subprocess.Popen], logs: Path):
    """The hourly schedule's first run, once it finished."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    with DagsterInstance.from_config(str(home)) as instance:
        while time.monotonic() < deadline:
            for process in processes:
                if process.poll() is not None:
                    pytest.fail(f"{process.args[:3]} exited: {_tails(logs)}")
            runs = instance.get_runs(RunsFilter(tags={SCHEDULE_NAME_TAG: HOURLY_SCHEDULE}))
            if runs and runs[-1].is_finished:
                return runs[-1]
            time.sleep(1)
    pytest.fail(f"no finished run of {HOURLY_SCHEDULE} in {DEADLINE_SECONDS} s: {_tails(logs)}")


def _run_failure(instance: DagsterInstance, run) -> str:
    errors = [
        event.message
        for event in instance.all_logs(run.run_id)
        if event.dagster_event is not None and event.dagster_event.is_failure
    ]
    return "\n".join(errors[-5:])


def _tails(logs: Path) -> str:
    return "\n".join(
        f"--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-20:])
        for log in sorted(logs.glob("*.log"))
    )
