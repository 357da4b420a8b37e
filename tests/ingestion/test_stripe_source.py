"""Stripe into raw_stripe through the real SDK and the stand-in: complete, incremental,
idempotent, resilient."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from datetime import date

import orjson
import pytest

from ingestion.stripe.api import StripeConfigError, StripeLoadError
from ingestion.stripe.load import load_stripe
from sandbox.stripe.server import StripeStandIn
from sandbox.world.generate import STRIPE_RESOURCES, generate_world
from tests.conftest import START
from tests.ingestion.stripe_helpers import KEY, ids, load, table_rows
from tests.sandbox.world_files import stripe_objects

RESOURCES = STRIPE_RESOURCES


@pytest.fixture(autouse=True)
def isolated_dlt(tmp_path, monkeypatch):
    monkeypatch.setenv("REVWH_PIPELINES_DIR", str(tmp_path / "pipelines"))


@pytest.fixture(scope="module")
def standin(small_world):
    with StripeStandIn(small_world / "stripe", rate_limit=None) as server:
        yield server


def test_backfill_loads_every_object_exactly_once(small_world, standin, tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    report = load(standin, warehouse)
    assert report.ok and report.requests > 0
    for resource in RESOURCES:
        expected = Counter(o["id"] for o in stripe_objects(small_world, resource))
        assert Counter(ids(warehouse, resource)) == expected, resource
    rows = table_rows(warehouse)
    invoices = stripe_objects(small_world, "invoices")
    assert len(rows["invoices__lines"]) == sum(len(i["lines"]["data"]) for i in invoices)
    assert any(len(i["lines"]["data"]) > 10 for i in invoices)
    subscriptions = stripe_objects(small_world, "subscriptions")
    assert len(rows["subscriptions__items"]) == sum(len(s["items"]["data"]) for s in subscriptions)
    assert {"canceled", "active"} <= {s["status"] for s in subscriptions}
    assert rows["invoices__lines__taxes"] and rows["invoices__lines__discount_amounts"]


def test_running_twice_changes_nothing(standin, tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    load(standin, warehouse)
    first = table_rows(warehouse)
    standin.reset_log()
    second_report = load(standin, warehouse)
    assert table_rows(warehouse) == first
    assert second_report.requests < 40  # events since the cursor and one page per list


@pytest.mark.parametrize("days", [1, 7])
def test_a_later_world_loads_only_what_changed(tmp_path, days):
    earlier, later = tmp_path / "earlier", tmp_path / "later"
    generate_world("small", 21, date(2026, 11, 8), earlier, start=START)
    generate_world("small", 21, date(2026, 11, 8 + days), later, start=START)
    warehouse, fresh = tmp_path / "incremental.duckdb", tmp_path / "fresh.duckdb"
    with StripeStandIn(earlier / "stripe", rate_limit=None) as server:
        load(server, warehouse)
    cutoff = orjson.loads((earlier / "stripe" / "manifest.json").read_bytes())["as_of_ts"]
    touched = {
        e["data"]["object"]["id"]
        for e in stripe_objects(later, "events")
        if e["created"] >= cutoff - 86_400
    }
    with StripeStandIn(later / "stripe", rate_limit=None) as server:
        report = load(server, warehouse)
        log = server.requests.snapshot()
    with StripeStandIn(later / "stripe", rate_limit=None) as server:
        full = load(server, fresh)
    # fewer requests than a backfill, and only changed objects are fetched by id
    assert report.requests <= full.requests + 1  # + the event-window probe
    retrieved = {
        r["path"].rsplit("/", 1)[1]
        for r in log
        if r["path"].count("/") == 3 and not r["path"].startswith("/v1/subscription_")
    }
    assert retrieved <= touched
    relisted = {n.split(":")[0] for n in report.notes if "re-listed" in n}
    unfiltered = {
        r["path"].split("/")[2]
        for r in log
        if r["path"].count("/") == 2
        and "created[gte]" not in str(r["query"])
        and r["path"] != "/v1/events"
        and "created[lt]" not in str(r["query"])
    }
    assert unfiltered <= relisted
    incremental_rows, fresh_rows = table_rows(warehouse), table_rows(fresh)
    for table, rows in fresh_rows.items():
        if table.startswith("events"):
            # events older than 30 days stay in the warehouse; Stripe has dropped them
            assert set(ids(fresh, "events")) <= set(ids(warehouse, "events"))
            continue
        assert incremental_rows[table] == rows, table


def test_a_new_machine_resumes_from_the_warehouse_not_a_backfill(tmp_path, monkeypatch):
    """The cursors travel with the data: with the local pipeline folder gone (a new
    machine, a lost disk), the next run restores them from the warehouse and fetches what
    changed, not the whole history again."""
    import shutil

    earlier, later = tmp_path / "earlier", tmp_path / "later"
    generate_world("small", 33, date(2026, 11, 8), earlier, start=START)
    generate_world("small", 33, date(2026, 11, 9), later, start=START)
    kept, moved = tmp_path / "wh.duckdb", tmp_path / "moved.duckdb"
    with StripeStandIn(earlier / "stripe", rate_limit=None) as server:
        backfill = load(server, kept)
    shutil.copy(kept, moved)  # the warehouse on a machine with no pipeline folder
    with StripeStandIn(later / "stripe", rate_limit=None) as server:
        with_local_state = load(server, kept)
        monkeypatch.setenv("REVWH_PIPELINES_DIR", str(tmp_path / "new_machine"))
        incremental = load(server, moved)
    warehouse = moved
    # the same requests as the run that kept its folder, far fewer than a backfill
    assert abs(incremental.requests - with_local_state.requests) <= 2
    assert incremental.requests < backfill.requests / 2, (incremental.requests, backfill.requests)
    assert not [n for n in incremental.notes if "full refresh" in n or "window" in n]
    monkeypatch.setenv("REVWH_PIPELINES_DIR", str(tmp_path / "fresh_pipelines"))
    with StripeStandIn(later / "stripe", rate_limit=None) as server:
        load(server, tmp_path / "fresh.duckdb")
    incremental_rows, fresh_rows = table_rows(warehouse), table_rows(tmp_path / "fresh.duckdb")
    for table, rows in fresh_rows.items():
        if not table.startswith("events"):
            assert incremental_rows[table] == rows, table


def _load_in_child(url, warehouse, pipelines):
    import os

    os.environ["REVWH_PIPELINES_DIR"] = pipelines
    load_stripe("sk_test_killed", url, warehouse, progress=None)


def test_a_killed_load_run_again_has_every_row_once(small_world, tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    pipelines = str(tmp_path / "pipelines")
    with StripeStandIn(small_world / "stripe", rate_limit=None, latency_ms=20) as server:
        child = multiprocessing.get_context("spawn").Process(
            target=_load_in_child, args=(server.url, str(warehouse), pipelines)
        )
        child.start()
        deadline = time.monotonic() + 60
        while len(server.requests) < 15 and time.monotonic() < deadline:
            time.sleep(0.05)
        child.kill()
        child.join()
        assert len(server.requests) >= 15
        server.set_faults(latency_ms=0)
        load(server, warehouse)
    for resource in RESOURCES:
        assert Counter(ids(warehouse, resource)) == Counter(
            o["id"] for o in stripe_objects(small_world, resource)
        ), resource


def test_server_errors_and_a_low_rate_limit_still_give_a_complete_load(small_world, tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    with StripeStandIn(small_world / "stripe", rate_limit=30, fault_rate=0.05, seed=3) as server:
        report = load(server, warehouse, requests_per_second=40)
        statuses = Counter(r["status"] for r in server.requests.snapshot())
    assert statuses[500] > 0, statuses
    assert report.ok
    for resource in RESOURCES:
        assert sorted(ids(warehouse, resource)) == sorted(
            o["id"] for o in stripe_objects(small_world, resource)
        ), resource


def test_missing_and_rejected_keys_name_the_variable(standin, tmp_path, monkeypatch):
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    with pytest.raises(StripeConfigError, match="STRIPE_API_KEY"):
        load_stripe(None, standin.url, str(tmp_path / "wh.duckdb"), progress=None)
    with pytest.raises(StripeConfigError, match="STRIPE_API_KEY"):
        load_stripe("sk_live_rejected", standin.url, str(tmp_path / "wh.duckdb"), progress=None)


def test_a_request_that_keeps_failing_fails_the_run_loudly(small_world, tmp_path):
    with (
        StripeStandIn(small_world / "stripe", rate_limit=None, fault_rate=1.0) as server,
        pytest.raises(StripeLoadError, match=r"GET /v1/\w+ failed after retries"),
    ):
        load(server, tmp_path / "wh.duckdb", max_retries=1)


def test_objects_that_break_the_contract_are_quarantined(small_world, tmp_path):
    import shutil

    import duckdb

    folder = tmp_path / "stripe"
    shutil.copytree(small_world / "stripe", folder)
    lines = (folder / "invoices.jsonl").read_bytes().splitlines()
    broken = orjson.loads(lines[0])
    broken["currency"] = "US$"
    broken["amount_due"] = -5
    lines[0] = orjson.dumps(broken)
    (folder / "invoices.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    warehouse = tmp_path / "wh.duckdb"
    with StripeStandIn(folder, rate_limit=None) as server:
        load(server, warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rejects = con.execute(
            "SELECT resource, object_id, reasons FROM raw_stripe.stripe_rejects"
        ).fetchall()
    assert len(rejects) == 1
    resource, object_id, reasons = rejects[0]
    assert (resource, object_id) == ("invoices", broken["id"])
    assert "currency 'US$'" in reasons and "amount_due -5 is below 0" in reasons
    assert broken["id"] not in ids(warehouse, "invoices")
    assert len(ids(warehouse, "invoices")) == len(lines) - 1


def test_a_rejected_object_early_in_the_listing_diverts_nothing_else(small_world, tmp_path):
    """The quarantine hints apply to the rejected row only: the objects listed after it
    (here: the newest invoice is rejected, so every other page comes after it) still land
    in their own table."""
    import shutil

    import duckdb

    folder = tmp_path / "stripe"
    shutil.copytree(small_world / "stripe", folder)
    invoices = [
        orjson.loads(line) for line in (folder / "invoices.jsonl").read_bytes().splitlines()
    ]
    newest = max(range(len(invoices)), key=lambda i: (invoices[i]["created"], invoices[i]["id"]))
    invoices[newest]["currency"] = "US$"
    (folder / "invoices.jsonl").write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in invoices))
    warehouse = tmp_path / "wh.duckdb"
    with StripeStandIn(folder, rate_limit=None) as server:
        load(server, warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rejects = con.execute("SELECT object_id FROM raw_stripe.stripe_rejects").fetchall()
    assert rejects == [(invoices[newest]["id"],)]
    assert sorted(ids(warehouse, "invoices")) == sorted(
        o["id"] for i, o in enumerate(invoices) if i != newest
    )


def test_the_key_can_come_from_dlt_secrets(monkeypatch):
    from ingestion.stripe.api import resolve_api_key

    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    monkeypatch.setenv("SOURCES__STRIPE__API_KEY", "sk_test_fromdlt")
    assert resolve_api_key(None) == "sk_test_fromdlt"


@pytest.mark.postgres
def test_postgresql_as_the_warehouse(small_world, standin):
    import sqlalchemy as sa

    from tests.postgres import fresh_database

    with fresh_database() as url:
        report = load_stripe(KEY, standin.url, url, progress=None)
        assert report.ok
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            for resource in ("customers", "subscriptions", "invoices", "charges", "events"):
                count = conn.execute(sa.text(f"SELECT count(*) FROM raw_stripe.{resource}"))
                assert count.scalar() == len(stripe_objects(small_world, resource)), resource
            lines = conn.execute(sa.text("SELECT count(*) FROM raw_stripe.invoices__lines"))
            assert lines.scalar() == sum(
                len(i["lines"]["data"]) for i in stripe_objects(small_world, "invoices")
            )
            # the staging schema dlt merged through is gone once the load is done
            schemas = {s for (s,) in conn.execute(sa.text("SELECT nspname FROM pg_namespace"))}
            assert "raw_stripe" in schemas and "raw_stripe_staging" not in schemas
        engine.dispose()
