"""The image builds from the lock file and, with no network at all, loads the definitions
and runs the CLI as a user other than root. Needs a Docker daemon: where none answers, the
test is skipped with the reason printed. REVWH_TEST_PYTHON_IMAGE names another base image
(the Dockerfile's PYTHON_IMAGE), e.g. one already on a machine without a registry."""

import os
import shutil
import subprocess
import uuid

import pytest

from tests.conftest import REPO_ROOT


def _docker_unavailable() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return "no docker client on PATH"
    try:
        info = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        return "the Docker daemon did not answer within 20 s"
    if info.returncode != 0:
        lines = (info.stderr or info.stdout).strip().splitlines() or ["no answer"]
        return f"no Docker daemon answers: {lines[-1]}"
    return None


@pytest.fixture(scope="module")
def image():
    reason = _docker_unavailable()
    if reason:
        print(f"SKIPPED: the image build needs Docker: {reason}")
        pytest.skip(f"the image build needs Docker: {reason}")
    tag = f"revenue-warehouse:test-{uuid.uuid4().hex[:8]}"
    command = ["docker", "build", "--tag", tag]
    if base := os.environ.get("REVWH_TEST_PYTHON_IMAGE"):
        command += ["--build-arg", f"PYTHON_IMAGE={base}"]
    built = subprocess.run([*command, str(REPO_ROOT)], capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    yield tag
    subprocess.run(["docker", "image", "rm", "--force", tag], capture_output=True, timeout=120)


def _run(image: str, *command: str, env: dict[str, str] | None = None):
    options = [f"--env={name}={value}" for name, value in (env or {}).items()]
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", *options, image, *command],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_image_loads_the_definitions_offline_as_a_non_root_user(image):
    # a throwaway instance: the production one needs its PostgreSQL
    validated = _run(
        image,
        "dagster", "definitions", "validate", "-m", "orchestration.definitions",
        env={"DAGSTER_HOME": "/tmp"},
    )  # fmt: skip
    assert validated.returncode == 0, validated.stdout + validated.stderr
    user = _run(image, "id", "-u")
    assert user.returncode == 0 and user.stdout.strip() != "0"
    cli = _run(image, "revwh", "--help")
    assert cli.returncode == 0 and "sandbox" in cli.stdout, cli.stderr
