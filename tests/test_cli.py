"""The `revwh` command line, invoked as users do."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import orjson
import pytest
import stripe
from typer.testing import CliRunner

from revwh.cli import app
from tests.conftest import REPO_ROOT

runner = CliRunner()


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["sandbox"],
        ["sandbox", "generate"],
        ["sandbox", "serve-stripe"],
        ["sandbox", "serve-chartmogul"],
        ["demo"],
        ["reconcile"],
        ["chartmogul"],
        ["chartmogul", "sync"],
    ],
)
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_generate_writes_a_world(tmp_path):
    result = runner.invoke(
        app,
        [
            "sandbox",
            "generate",
            "--scale",
            "tiny",
            "--seed",
            "5",
            "--as-of",
            "2026-11-15",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "World written" in result.output
    manifest = orjson.loads((tmp_path / "stripe" / "manifest.json").read_bytes())
    assert manifest["as_of"] == "2026-11-15" and manifest["seed"] == 5
    assert (tmp_path / "app.sqlite").exists() and (tmp_path / "fx_rates.csv").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--as-of", "15/11/2026"], "YYYY-MM-DD"),
        (["--scale", "huge"], "unknown scale"),
        (["--start", "2027-01-01", "--as-of", "2026-11-15"], "after the as-of date"),
    ],
)
def test_generate_rejects_bad_input_clearly(tmp_path, args, message):
    result = runner.invoke(app, ["sandbox", "generate", "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output


def _shown(output: str) -> str:
    """The error as one line: without typer's box and its wrapping."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", output).split())


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["run", "--as-of", "2026-13-01"],
            "for '--as-of': '2026-13-01' is not a date: write it as YYYY-MM-DD",
        ),
        (
            ["run", "--as-of", "2999-01-01"],
            "for '--as-of': the as-of date 2999-01-01 is in the future",
        ),
        (["demo", "--as-of", "yesterday"], "for '--as-of': 'yesterday' is not a date"),
        (
            ["run", "--as-of", "2026-11-15", "--vars", "[1"],
            "for '--vars': not YAML or JSON (expected ',' or ']', but got '<stream end>' at line 1, column 3)",
        ),
        (["run", "--as-of", "2026-11-15", "--vars", "[1]"], "for '--vars': '[1]' is not a mapping"),
        (
            ["run", "--as-of", "2026-11-15", "--vars", "{as_of: 2026-01-01}"],
            "for '--vars': give the as-of date with --as-of",
        ),
        (
            ["run", "--as-of", "2026-11-15", "--warehouse", "mysql://me:hunter22@db/revenue"],
            "for '--warehouse': a mysql:// URL is not a warehouse: give a DuckDB file path",
        ),
        (["run", "--as-of", "2026-11-15", "--threads", "0"], "for '--threads'"),
        (
            ["load", "--stripe-rps", "0"],
            "for '--stripe-rps': 0 is not a positive number of requests per second",
        ),
        (["load", "--stripe-rps", "fast"], "for '--stripe-rps'"),
        (
            ["kpis", "export", "--start", "2026-02-01", "--end", "2026-13-01"],
            "for '--end': '2026-13-01' is not a date",
        ),
        (
            ["kpis", "export", "--start", "2026-02-01", "--end", "2026-01-01"],
            "for '--start': 2026-02-01 is after --end 2026-01-01",
        ),
        (
            ["reconcile", "--threshold", "one"],
            "for '--threshold': 'one' is not a number of percent",
        ),
        (["reconcile", "--days", "0"], "for '--days'"),
    ],
)
def test_a_bad_option_value_is_one_line_naming_the_option(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a run that started anyway would write here, not the repo
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value {message}" in _shown(result.output)
    assert "Traceback" not in result.output and "hunter22" not in result.output
    assert not (tmp_path / "mysql:").exists()


def test_a_folder_as_warehouse_names_the_variable_it_came_from(tmp_path, monkeypatch):
    monkeypatch.setenv("REVWH_WAREHOUSE", str(tmp_path))
    result = runner.invoke(app, ["kpis", "export", "--start", "2026-01-01", "--end", "2026-01-31"])
    assert result.exit_code == 2, result.output
    assert (
        f"Invalid value for REVWH_WAREHOUSE: {tmp_path} is a folder: give the DuckDB file in it"
        in _shown(result.output)
    )


def test_demo_loads_the_world_into_the_warehouse(tmp_path, monkeypatch):
    """The demo writes the warehouse every command reads by default, records its run in
    DAGSTER_HOME's instance (as `make demo` does with the project's .dagster, whose settings
    are used here) and ends with the next steps."""
    from dagster import DagsterInstance, DagsterRunStatus
    from dagster._core.instance.ref import InstanceRef

    monkeypatch.setenv("REVWH_PIPELINES_DIR", str(tmp_path / "pipelines"))
    monkeypatch.delenv("REVWH_WAREHOUSE", raising=False)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / ".dagster" / "dagster.yaml", home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app,
        ["demo", "--scale", "tiny", "--as-of", "2026-11-15", "--out", "warehouse/sandbox"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "raw_stripe" in result.output and "raw_app" in result.output
    assert "MRR of the simulated business" in result.output
    assert (tmp_path / "warehouse" / "revenue.duckdb").exists()
    steps = result.output[result.output.index("Next steps") :]
    published = "warehouse/published/revenue.duckdb"
    assert f"(read-only copy): {published}" in steps
    assert f"python -c \"import duckdb; duckdb.connect('{published}', read_only=True)" in steps
    # the default warehouse: no --warehouse to pass
    assert "revwh kpis export --start 2026-11-09 --end 2026-11-15\n" in steps
    assert "make dagster" in steps
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        runs = instance.get_runs()
    assert [run.status for run in runs] == [DagsterRunStatus.SUCCESS]
    assert f"this run ({runs[0].run_id[:8]})" in steps
    # what the next steps say works: the export reads the demo's warehouse by default
    export = runner.invoke(app, ["kpis", "export", "--start", "2026-11-09", "--end", "2026-11-15"])
    assert export.exit_code == 0, export.output
    assert '"kpis"' in export.output


def test_demo_never_writes_over_a_warehouse_it_did_not_write(tmp_path, monkeypatch):
    import duckdb

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REVWH_WAREHOUSE", raising=False)
    (tmp_path / "warehouse").mkdir()
    with duckdb.connect("warehouse/revenue.duckdb") as con:
        con.execute("create table precious as select 42 as answer")
    result = runner.invoke(
        app, ["demo", "--scale", "tiny", "--as-of", "2026-11-15"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        "error: warehouse/revenue.duckdb holds a warehouse the demo did not write, and the "
        "demo would reload it with the sandbox business: pass --warehouse PATH (e.g. "
        "warehouse/demo.duckdb) to run the demo elsewhere"
    ]
    assert not (tmp_path / "warehouse" / "sandbox").exists()  # nothing generated either
    postgres = runner.invoke(
        app,
        ["demo", "--as-of", "2026-11-15"],
        env={"COLUMNS": "200", "REVWH_WAREHOUSE": "postgresql://u@127.0.0.1/x"},
    )
    assert postgres.exit_code == 1 and "REVWH_WAREHOUSE is a PostgreSQL URL" in postgres.output


def test_load_all_skips_what_is_not_configured(tmp_path, monkeypatch):
    monkeypatch.setenv("REVWH_PIPELINES_DIR", str(tmp_path / "pipelines"))
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    world = tmp_path / "world"
    runner.invoke(
        app,
        ["sandbox", "generate", "--scale", "tiny", "--as-of", "2026-11-15", "--out", str(world)],
    )
    warehouse = str(tmp_path / "wh.duckdb")
    result = runner.invoke(
        app,
        [
            "load",
            "all",
            "--warehouse",
            warehouse,
            "--fx-rates",
            str(world / "fx_rates.csv"),
            "--app-db",
            str(world / "app.sqlite"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "stripe: skipped (no STRIPE_API_KEY set)" in result.output
    assert "costs: skipped" in result.output
    assert "fx:" in result.output and "app:" in result.output
    missing_key = runner.invoke(app, ["load", "stripe", "--warehouse", warehouse])
    assert missing_key.exit_code == 1
    assert "STRIPE_API_KEY" in missing_key.output


def test_serve_stripe_refuses_an_expected_key_not_in_stripes_format(small_world):
    result = CliRunner().invoke(
        app, ["sandbox", "serve-stripe", "--fixtures", str(small_world), "--api-key", "oops!"]
    )
    assert result.exit_code == 2 and "must look like a Stripe test key" in result.output


def test_serve_stripe_runs_as_a_command(small_world, tmp_path):
    log = tmp_path / "requests.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "revwh.cli",
            "sandbox",
            "serve-stripe",
            "--fixtures",
            str(small_world),
            "--port",
            "0",
            "--rate-limit",
            "0",
            "--request-log",
            str(log),
        ],
        stdout=subprocess.PIPE,
        text=True,
        # the expected key from the environment: any other is refused, as Stripe would
        env={**os.environ, "PYTHONUNBUFFERED": "1", "REVWH_STRIPE_STANDIN_API_KEY": "sk_test_cli"},
    )
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("listening on "):
                url = line.split()[-1]
        assert url, "the server did not say where it listens"
        client = stripe.StripeClient("sk_test_cli", base_addresses={"api": url})
        customers = client.v1.customers.list(params={"limit": 5})
        assert len(customers.data) == 5
        other = stripe.StripeClient("sk_test_other", base_addresses={"api": url})
        with pytest.raises(stripe.AuthenticationError):
            other.v1.customers.list(params={"limit": 1})
    finally:
        process.terminate()
        process.wait(timeout=20)
    logged = [orjson.loads(line) for line in log.read_bytes().splitlines()]
    assert any(entry["path"] == "/v1/customers" for entry in logged)


# what only the `sandbox` extra installs (pyproject.toml)
SANDBOX_ONLY = ("starlette", "uvicorn", "limits")
WITHOUT_SANDBOX = f"""
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {SANDBOX_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Absent())
import ingestion.run, ingestion.stripe.load, ingestion.app_db.load, serving.publish, revwh.pipeline
from typer.testing import CliRunner
from revwh.cli import app
result = CliRunner().invoke(app, ["load", "--help"])
assert result.exit_code == 0, result.output
print(sorted(m for m in sys.modules if m.split(".")[0] in ("sandbox", *{SANDBOX_ONLY!r})))
"""


def test_the_product_imports_without_the_sandbox_extra():
    """Installed without the `sandbox` extra (starlette, uvicorn, limits), the CLI and the
    loaders still import: only the demo, the stand-ins and --stripe-fixtures need it."""
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_SANDBOX], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout
