"""`revwh run`: the whole pipeline on files, run as a user runs it (a separate process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import orjson
import pytest
from typer.testing import CliRunner

from core.warehouse import Warehouse
from revwh.cli import app
from sandbox.chartmogul import ChartMogulStandIn
from tests.conftest import AS_OF, CHARTMOGUL_TEST_KEY, revwh
from tests.marts_fingerprint import differences, fingerprint

CENT = Decimal("0.01")
runner = CliRunner()


def test_run_builds_the_small_world(small_run, small_world):
    done, warehouse, output = small_run
    assert done.returncode == 0, output
    # the Dagster graph ran in-process: loads, contract and freshness checks, dbt build with
    # its tests as checks, the ChartMogul reconciliation, the published copy; all green
    assert "✓ warehouse_models" in output and "✓ load_stripe" in output
    assert "Pipeline done" in output
    assert "check failed" not in output and " failed" not in output
    assert "reconciled with ChartMogul" in output
    published = warehouse.parent / "published" / warehouse.name
    assert f"marts published to {published}" in output
    with duckdb.connect(str(published), read_only=True) as con:
        mrr = con.execute(
            "SELECT mrr_end FROM marts.mrr_summary_daily WHERE summary_date = ?", [AS_OF]
        ).fetchone()[0]
        statuses = con.execute(
            "SELECT status, count(*) FROM marts.chartmogul_reconciliation GROUP BY 1"
        ).fetchall()
    assert statuses == [("ok", 30 + 12)]
    assert mrr is not None
    manifest = orjson.loads((small_world / "ground_truth" / "summary.json").read_bytes())
    with duckdb.connect(str(warehouse), read_only=True) as con:
        customers = con.execute("SELECT count(*) FROM raw_stripe.customers").fetchone()[0]
        assert customers == manifest["stripe_objects"]["customers"]
        assert con.execute("SELECT count(*) FROM raw_fx.fx_rates").fetchone()[0] > 0
    # dbt's artifacts and log stay next to the warehouse, not in the repository
    assert (Warehouse.of(warehouse).artifacts_dir / "target" / "dbt.log").is_file()
    assert (Warehouse.of(warehouse).artifacts_dir / "target" / "run_results.json").is_file()


def test_run_mrr_matches_the_ground_truth_to_the_cent(small_run, small_world):
    done, warehouse, output = small_run
    assert done.returncode == 0, output
    truth = orjson.loads((small_world / "ground_truth" / "summary.json").read_bytes())
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(
            "SELECT mrr_end FROM marts.mrr_summary_daily WHERE summary_date = ?", [AS_OF]
        ).fetchone()
    assert row is not None, f"marts.mrr_summary_daily has no row for {AS_OF}"
    mrr = Decimal(str(row[0])).quantize(CENT, rounding=ROUND_HALF_UP)
    assert mrr == Decimal(truth["mrr_usd"])


def _serve_stripe(fixtures: Path, api_key: str) -> tuple[subprocess.Popen, str]:
    """`revwh sandbox serve-stripe` as a live server on a free port, Stripe's rate limit for
    test keys included; (the process, its URL)."""
    command = ["revwh.cli", "sandbox", "serve-stripe", "--fixtures", str(fixtures), "--port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", *command],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "REVWH_STRIPE_STANDIN_API_KEY": api_key},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("listening on "):
            return process, line.split()[-1]
        if not line and process.poll() is not None:
            break
    process.terminate()
    raise AssertionError("the Stripe stand-in did not say where it listens")


def test_run_against_the_stripe_api_builds_the_marts_of_the_fixtures(
    small_run, small_world, tmp_path
):
    """Going live is the same command: `revwh run` loads Stripe from an API (here the
    stand-in started as a live server, key from STRIPE_API_KEY, `--stripe-api-base`) and
    takes every other input (app database, cost sheets, FX rates, ChartMogul, the warehouse)
    from the environment, and builds exactly the tables the fixtures' replay built."""
    done, replayed, output = small_run
    assert done.returncode == 0, output
    key = "sk_test_golive"
    process, url = _serve_stripe(small_world / "stripe", key)
    warehouse = tmp_path / "live" / "revenue.duckdb"
    try:
        with ChartMogulStandIn(small_world, as_of=AS_OF, api_key=CHARTMOGUL_TEST_KEY) as cm:
            live = revwh(
                "run", "--as-of", AS_OF.isoformat(), "--stripe-api-base", url, "--reconcile",
                cwd=tmp_path,
                env_extra={
                    "STRIPE_API_KEY": key,
                    "REVWH_WAREHOUSE": str(warehouse),
                    "REVWH_APP_DB": str(small_world / "app.sqlite"),
                    "REVWH_COST_SHEETS": str(small_world / "cost_sheets"),
                    "REVWH_FX_RATES": str(small_world / "fx_rates.csv"),
                    "CHARTMOGUL_API_KEY": CHARTMOGUL_TEST_KEY,
                    "CHARTMOGUL_API_BASE": cm.url,
                },
            )  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=20)
    text = live.stdout + live.stderr
    assert live.returncode == 0, text
    assert f"Stripe API {url}" in text and "Stripe stand-in on" not in text
    assert "skipped (no" not in text and "reconciled with ChartMogul" in text
    assert key not in text
    assert differences(fingerprint(replayed), fingerprint(warehouse)) == []


def test_run_names_the_missing_stripe_key_in_one_line(tmp_path):
    result = revwh(
        "run", "--as-of", AS_OF.isoformat(), "--stripe-api-base", "http://127.0.0.1:9",
        "--warehouse", str(tmp_path / "w.duckdb"),
        cwd=tmp_path,  # no .dlt/secrets.toml there either
    )  # fmt: skip
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert lines == [
        "error: No Stripe API key: set STRIPE_API_KEY (or sources.stripe.api_key in "
        ".dlt/secrets.toml) to a secret key (sk_live_... or sk_test_...); the Stripe API at "
        "http://127.0.0.1:9 needs one."
    ]
    assert not (tmp_path / "w.duckdb").exists()


def test_run_fails_on_a_broken_dbt_var(small_run, tmp_path):
    """A setting the MRR rules refuse fails the build (exit 1) and says which setting."""
    _, warehouse, output = small_run
    assert warehouse.exists(), output
    copy = tmp_path / "copy.duckdb"
    shutil.copy(warehouse, copy)
    failed = revwh(
        "run",
        "--as-of",
        AS_OF.isoformat(),
        "--warehouse",
        str(copy),
        "--vars",
        "{churn_recognition: bogus}",
        cwd=tmp_path,
    )
    text = failed.stdout + failed.stderr
    assert failed.returncode == 1, text
    assert "churn_recognition must be 'ended' or 'requested', got bogus" in text
    assert "dbt build failed:" in text
    assert "Traceback" not in text


def test_run_fails_readably_on_empty_stripe_fixtures(tmp_path):
    empty = tmp_path / "export"
    empty.mkdir()
    result = runner.invoke(
        app,
        [
            "run",
            "--stripe-fixtures",
            str(empty),
            "--as-of",
            AS_OF.isoformat(),
            "--warehouse",
            str(tmp_path / "wh.duckdb"),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1, result.output
    assert "no Stripe fixtures" in result.output
    # an input neither given nor in the environment is named with both ways to give it
    assert "costs: skipped (no --cost-sheets or REVWH_COST_SHEETS)" in result.output
    assert "models were not built because a load failed" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "Missing option '--as-of'"),
        (["--as-of", "15/11/2026"], "YYYY-MM-DD"),
        (["--as-of", "2026-11-15", "--vars", "[1, 2]"], "is not a mapping"),
        (["--as-of", "2026-11-15", "--vars", "{as_of: 2026-01-01}"], "--as-of"),
        (["--as-of", "2026-11-15", "--stripe-fixtures", "/no/such/dir"], "no such folder"),
        (
            ["--as-of", "2026-11-15", "--stripe-fixtures", ".", "--stripe-api-base", "http://x"],
            "not both",
        ),
    ],
)
def test_run_rejects_bad_options(args, message):
    result = runner.invoke(app, ["run", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_run_has_help():
    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--stripe-fixtures", "--stripe-api-base", "--fx-rates", "--app-db", "--as-of"):
        assert option in result.output


def test_target_env_for_postgres_keeps_the_password_out_of_paths():
    url = "postgresql://rev:s3cr%40t@db.example:6543/finance"
    env = Warehouse.of(url).dbt_env()
    assert env == {
        "REVWH_TARGET": "postgres",
        "REVWH_PG_HOST": "db.example",
        "REVWH_PG_PORT": "6543",
        "REVWH_PG_USER": "rev",
        "REVWH_PG_PASSWORD": "s3cr@t",
        "REVWH_PG_DATABASE": "finance",
    }
    assert "s3cr" not in str(Warehouse.of(url).artifacts_dir)
    assert "s3cr" not in str(Warehouse.of(url))
    duck = Warehouse.of("some/where.duckdb").dbt_env()
    assert duck["REVWH_TARGET"] == "duckdb" and Path(duck["REVWH_WAREHOUSE"]).is_absolute()


def test_no_business_rows_stay_at_rest_in_the_pipelines_folder(small_run, small_world):
    """dlt's load packages hold copies of the rows until they are loaded; after a successful
    run only metadata (schemas, cursors, load ids) stays beside the warehouse."""
    import sqlite3

    done, warehouse, output = small_run
    assert done.returncode == 0, output
    samples: set[bytes] = set()
    for name in ("customers", "invoices", "charges"):
        for line in (small_world / "stripe" / f"{name}.jsonl").read_bytes().splitlines()[:300]:
            obj = orjson.loads(line)
            samples.add(obj["id"].encode())
            if obj.get("email"):
                samples.add(obj["email"].encode())
    with sqlite3.connect(small_world / "app.sqlite") as app_db:
        samples |= {row[0].encode() for row in app_db.execute("select email from users limit 300")}
    folder = Path(Warehouse.of(warehouse).pipelines_dir)
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert files, f"nothing under {folder}"
    for path in files:
        content = path.read_bytes()
        leaked = [s.decode() for s in samples if s in content]
        assert not leaked, f"{path.relative_to(folder)} holds business data: {leaked[:3]}"


def test_no_staging_schemas_are_left_for_analysts(small_run):
    """dlt merges through `raw_<name>_staging` schemas; after a run only the raw datasets
    and the models' schemas are there to browse."""
    done, warehouse, output = small_run
    assert done.returncode == 0, output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        schemas = {s for (s,) in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}
    assert {"raw_stripe", "raw_app", "raw_fx", "raw_costs", "raw_chartmogul"} <= schemas
    assert not {s for s in schemas if s.endswith("_staging")}, schemas


def test_the_dlt_cli_finds_the_runs_pipelines(small_run):
    """`dlt pipeline --pipelines-dir <dir> --list-pipelines` on the folder beside the warehouse
    (docs/configuration.md) lists every source's pipeline and shows its state."""
    done, warehouse, output = small_run
    assert done.returncode == 0, output
    folder = Warehouse.of(warehouse).pipelines_dir
    dlt = [str(Path(sys.executable).with_name("dlt")), "--non-interactive", "pipeline"]
    listed = subprocess.run(
        [*dlt, "--pipelines-dir", folder, "--list-pipelines"], capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    names = {"revwh_stripe", "revwh_app", "revwh_fx", "revwh_costs", "revwh_chartmogul"}
    assert names <= set(listed.stdout.split()), listed.stdout
    info = subprocess.run(
        [*dlt, "--pipelines-dir", folder, "revwh_stripe", "info"], capture_output=True, text=True
    )
    assert info.returncode == 0, info.stderr
    assert "raw_stripe" in info.stdout, info.stdout


def test_a_new_stripe_account_builds_with_what_it_feeds_empty(small_world, tmp_path):
    """An account with one customer who has no currency yet and one percent-off coupon
    (`currency` null on every coupon), nothing else: no invoice, subscription or charge
    table ever arrives and two contract columns never get a value. Every column a contract
    declares exists with its type, the checks pass and the models it feeds are empty."""
    fixtures = tmp_path / "stripe"
    fixtures.mkdir()
    for name in ("charges", "credit_notes", "events", "invoices", "prices", "products"):
        (fixtures / f"{name}.jsonl").write_bytes(b"")
    for name in ("refunds", "subscriptions"):
        (fixtures / f"{name}.jsonl").write_bytes(b"")
    customer = orjson.loads((small_world / "stripe" / "customers.jsonl").open("rb").readline())
    customer["currency"] = None
    (fixtures / "customers.jsonl").write_bytes(orjson.dumps(customer) + b"\n")
    coupons = (small_world / "stripe" / "coupons.jsonl").read_bytes().splitlines()
    percent_off = [c for c in coupons if orjson.loads(c)["percent_off"] is not None]
    (fixtures / "coupons.jsonl").write_bytes(b"\n".join(percent_off) + b"\n")
    warehouse = tmp_path / "new.duckdb"

    done = revwh(
        "run", "--stripe-fixtures", str(fixtures), "--as-of", AS_OF.isoformat(),
        "--warehouse", str(warehouse), "--no-publish", cwd=tmp_path,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "check failed" not in output and "Traceback" not in output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        types = dict(
            con.execute(
                "select table_name || '.' || column_name, data_type "
                "from information_schema.columns where table_schema = 'raw_stripe'"
            ).fetchall()
        )
        assert types["coupons.currency"] == "VARCHAR"
        assert types["coupons.amount_off"] == "BIGINT"
        assert types["customers.currency"] == "VARCHAR"
        assert con.execute("select count(*) from marts.dim_customers").fetchone() == (1,)
        for mart in ("fct_revenue", "fct_mrr_movements"):
            assert con.execute(f"select count(*) from marts.{mart}").fetchone() == (0,), mart
