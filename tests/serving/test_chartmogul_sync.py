"""The ChartMogul sync (serving/chartmogul_sync) through the real `chartmogul` SDK against an
empty ChartMogul stand-in over HTTP: small hand-made export marts in a DuckDB file, one
stand-in for the module and a data source of its own for each test."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from datetime import datetime

import chartmogul
import duckdb
import pytest

from ingestion.chartmogul.client import ChartMogulConfigError
from sandbox.chartmogul import ChartMogulStandIn, Store
from serving.chartmogul_sync import ChartMogulSyncError, SyncSettings, sync_chartmogul
from tests.conftest import AS_OF
from tests.serving.chartmogul_exports import (
    FX_RATES,
    ExportWorld,
    held_by,
    one_time_line,
    sdk_config,
    subscription_line,
    transaction,
)

KEY = "cm_sync_secret_4f9a2c"  # distinctive, so a leak anywhere is found


@pytest.fixture(scope="module")
def standin():
    store = Store(as_of=AS_OF, fx_rates=FX_RATES)
    with ChartMogulStandIn(store=store, api_key=KEY) as server:
        yield server


class Sync:
    """One test's warehouse, world and data source in the shared stand-in."""

    def __init__(self, standin: ChartMogulStandIn, tmp_path, name: str):
        self.standin = standin
        self.path = tmp_path / "warehouse.duckdb"
        self.world = ExportWorld.small()
        self.data_source = name
        self.world.write(self.path)
        standin.set_behaviour(fail_next=0, fail_rate=0, latency_ms=0)
        standin.requests.clear()
        self._requests: list[dict] = []

    def settings(self, **changes) -> SyncSettings:
        values = dict(
            api_key=KEY,
            api_base=self.standin.url,
            data_source_name=self.data_source,
            concurrency=4,
            requests_per_second=0,
            backoff_seconds=0.01,
            max_backoff_seconds=0.2,
        )
        return SyncSettings(**{**values, **changes})

    def write(self) -> None:
        self.world.write(self.path)

    def run(self, dry_run: bool = False, **changes):
        self.standin.requests.clear()
        try:
            return sync_chartmogul(
                str(self.path), settings=self.settings(**changes), dry_run=dry_run
            )
        finally:
            self._requests = self.standin.requests.snapshot()

    def requests(self) -> list[tuple[str, str]]:
        """The requests the last run made."""
        return [(r["method"], r["path"]) for r in self._requests]

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.requests() if m != "GET"]

    def held(self) -> dict:
        return held_by(self.standin, KEY, self.data_source)

    def state(self) -> dict[tuple[str, str], tuple]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            rows = con.execute(
                "select object_type, external_id, status, failed_runs, last_error, "
                "chartmogul_uuid from chartmogul_sync.object_state"
            ).fetchall()
        return {(r[0], r[1]): r[2:] for r in rows}

    def log(self, run_id: str) -> dict[str, tuple]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            rows = con.execute(
                "select object_type, created, updated, unchanged, failed, refused, parked, "
                "requests, error_details from chartmogul_sync.sync_log where run_id = ?",
                [run_id],
            ).fetchall()
        return {r[0]: r[1:] for r in rows}


@pytest.fixture
def sync(standin, tmp_path, request):
    return Sync(standin, tmp_path, re.sub(r"\W+", "_", request.node.name))


def _source(sync: Sync) -> str:
    config = sdk_config(sync.standin, KEY)
    [source] = chartmogul.DataSource.all(config, name=sync.data_source).get().data_sources
    return source.uuid


def created(report) -> dict[str, int]:
    return {t: c.created for t, c in report.counts.items() if c.created}


EVERYTHING = {
    "data_source": 1,
    "plan": 3,
    "customer": 4,
    "invoice": 4,
    "transaction": 5,
    "cancellation": 1,
}


def test_a_full_sync_sends_everything_and_a_second_run_sends_nothing(sync):
    report = sync.run()
    assert report.ok, report.summary()
    assert created(report) == EVERYTHING
    held = sync.held()
    assert [c[0] for c in held["customers"]] == ["cus_acme", "cus_cairo", "cus_lead", "cus_mueller"]
    assert ("cus_mueller", "Bäckerei Müller", "konto@mueller.test", "DE") in held["customers"]
    assert held["plans"] == [
        ("pro_monthly_usd", "Pro monthly", "month", 1),
        ("pro_quarterly_egp", "Pro quarterly (EGP)", "month", 3),
        ("team_yearly_eur", "Team yearly (EUR)", "year", 1),
    ]
    assert set(held["invoice_ids"].values()) == {1}
    assert held["invoices"]["paypal_inv_1"] == (
        "cus_mueller",
        "EUR",
        "2026-01-15",
        (("li_4", "subscription", 107100, "team_yearly_eur"),),
        (("tr_3", "payment", "successful"),),
    )
    assert held["invoices"]["stripe_in_2"][3] == (
        ("li_2", "subscription", 5000, "pro_monthly_usd"),
        ("li_3", "one_time", 2000, None),
    )
    assert held["invoices"]["local_egp_inv_1"][4] == (
        ("tr_4", "payment", "failed"),
        ("tr_5", "payment", "successful"),
    )
    assert held["subscriptions"] == {
        "sub_acme": ("2026-03-01",),
        "sub_mueller": (),
        "sub_cairo": (),
    }
    # ChartMogul's MRR from what it got on the as-of day: only Müller's year runs, 900 EUR
    # net of tax at 1.08 (the others were cancelled or ended)
    config = sdk_config(sync.standin, KEY)
    mrr = {
        c.external_id: c.mrr
        for c in chartmogul.Customer.all(config, data_source_uuid=_source(sync), per_page=200)
        .get()
        .entries
    }
    assert mrr == {"cus_acme": 0, "cus_cairo": 0, "cus_lead": 0, "cus_mueller": 8100}
    state = sync.state()
    assert {s[0] for s in state.values()} == {"sent"}
    assert len(state) == sum(EVERYTHING.values())
    assert sync.log(report.run_id)["invoice"][:7] == (4, 0, 0, 0, 0, 0, 3)  # one per customer
    first_requests = sync.requests()
    # the cancellation's subscription uuid came with its invoice's import: no listing
    assert not any(path.endswith("/subscriptions") for _, path in first_requests)
    assert report.requests == len(first_requests) == 13

    again = sync.run()
    assert sync.requests() == []  # not a single request: nothing changed
    assert again.ok and again.requests == 0
    assert {t: c.unchanged for t, c in again.counts.items() if c.unchanged} == {
        "plan": 3,
        "customer": 4,
        "invoice": 4,
        "transaction": 5,
        "cancellation": 1,
    }
    assert sync.held() == held
    assert len(sync.log(report.run_id)) == len(sync.log(again.run_id)) == 6


def test_a_new_invoice_is_the_only_thing_sent(sync):
    sync.run()
    sync.world.invoices.append(
        {
            "external_id": "paypal_inv_2",
            "customer_external_id": "cus_mueller",
            "gateway": "paypal",
            "currency": "EUR",
            "invoice_date": datetime(2026, 3, 1),
            "due_date": None,
        }
    )
    sync.world.line_items.append(
        one_time_line("li_6", "paypal_inv_2", "cus_mueller", 4900, "Extra seats")
    )
    sync.world.transactions.append(
        transaction("tr_6", "paypal_inv_2", "cus_mueller", "payment", "successful", "2026-03-01")
    )
    sync.write()
    report = sync.run()
    [(method, path)] = sync.requests()
    assert method == "POST" and re.fullmatch(r"/v1/import/customers/cus_[\w-]+/invoices", path)
    assert created(report) == {"invoice": 1, "transaction": 1}
    held = sync.held()
    assert held["invoices"]["paypal_inv_2"][3] == (("li_6", "one_time", 4900, None),)
    assert set(held["invoice_ids"].values()) == {1}


def test_a_changed_customer_attribute_is_one_patch(sync):
    sync.run()
    sync.world.row("customers", "cus_acme")["health_score"] = 41
    sync.world.row("customers", "cus_acme")["health_band"] = "at_risk"
    sync.write()
    report = sync.run()
    [(method, path)] = sync.requests()
    assert method == "PATCH" and path.startswith("/v1/customers/cus_")
    assert report.counts["customer"].updated == 1 and report.ok
    config = chartmogul.Config(KEY)
    config.uri = sync.standin.api_base
    customer = chartmogul.Customer.retrieve(config, uuid=path.rsplit("/", 1)[1]).get()
    assert customer.attributes.custom.get("health_score") == 41
    assert sync.run().requests == 0


def test_a_renamed_plan_is_one_patch(sync):
    sync.run()
    plan = sync.world.plans[0]
    plan["name"] = plan["name"] + " (renamed)"
    sync.write()
    report = sync.run()
    [(method, path)] = sync.requests()
    assert method == "PATCH" and path.startswith("/v1/plans/pl_")
    assert report.counts["plan"].updated == 1 and report.ok
    held = sync.standin.store.plans[path.rsplit("/", 1)[1]]
    assert held.name == plan["name"]
    assert sync.run().requests == 0


def test_an_added_refund_is_one_transaction_post(sync):
    sync.run()
    sync.world.transactions.append(
        transaction("tr_refund", "stripe_in_2", "cus_acme", "refund", "successful", "2026-02-10")
    )
    sync.write()
    report = sync.run()
    [(method, path)] = sync.requests()
    assert method == "POST" and re.fullmatch(r"/v1/import/invoices/inv_[\w-]+/transactions", path)
    assert created(report) == {"transaction": 1} and report.counts["invoice"].unchanged == 4
    held = sync.held()
    assert ("tr_refund", "refund", "successful") in held["invoices"]["stripe_in_2"][4]
    assert set(held["invoice_ids"].values()) == {1}
    assert sync.run().requests == 0


def test_a_changed_line_deletes_the_invoice_and_imports_it_again(sync):
    sync.run()
    sync.world.row("line_items", "li_2")["amount_in_cents"] = 6000
    sync.write()
    report = sync.run()
    methods = [m for m, _ in sync.writes()]
    assert methods[:2] == ["DELETE", "POST"]  # the invoice, then the cancellation again
    assert report.counts["invoice"].updated == 1 and report.ok
    held = sync.held()
    assert held["invoice_ids"]["stripe_in_2"] == 1  # never doubled
    assert held["invoices"]["stripe_in_2"][3][0] == (
        "li_2",
        "subscription",
        6000,
        "pro_monthly_usd",
    )
    assert held["subscriptions"]["sub_acme"] == ("2026-03-01",)
    assert sync.run().requests == 0


@pytest.mark.parametrize("status", [503, 429])
def test_faults_and_rate_limits_end_in_the_same_result(standin, tmp_path, status):
    (tmp_path / "clean").mkdir()
    (tmp_path / "faulty").mkdir()
    clean = Sync(standin, tmp_path / "clean", f"faults_clean_{status}")
    assert clean.run().ok
    faulty = Sync(standin, tmp_path / "faulty", f"faults_{status}")
    standin.set_behaviour(fail_rate=0.1, fail_status=status, retry_after=0.05, seed=16)
    try:
        report = faulty.run()
    finally:
        standin.set_behaviour(fail_rate=0)
    faults = [r for r in faulty._requests if r["status"] == 429 or r["status"] >= 500]
    assert faults  # they happened, and were retried
    assert report.ok, report.summary()
    assert created(report) == EVERYTHING
    assert faulty.held() == clean.held()
    assert faulty.run().requests == 0


def test_bad_records_are_refused_with_their_reason_and_the_rest_are_sent(sync):
    world = sync.world
    for external_id, customer, currency in (
        ("bad_currency", "cus_acme", "ZZZ"),
        ("bad_negative", "cus_mueller", "EUR"),
        ("bad_period", "cus_cairo", "EGP"),
        ("bad_empty", "cus_acme", "USD"),
    ):
        world.invoices.append(
            {
                "external_id": external_id,
                "customer_external_id": customer,
                "gateway": "stripe",
                "currency": currency,
                "invoice_date": datetime(2026, 4, 1),
                "due_date": None,
            }
        )
    world.line_items += [
        subscription_line(
            "li_b1", "bad_currency", "cus_acme", "pro_monthly_usd", "sub_acme",
            "2026-04-01", "2026-05-01", 5000,
        ),
        subscription_line(
            "li_b2", "bad_negative", "cus_mueller", "team_yearly_eur", "sub_mueller",
            "2026-04-01", "2027-04-01", -500,
        ),
        subscription_line(
            "li_b3", "bad_period", "cus_cairo", "pro_quarterly_egp", "sub_cairo",
            "2026-04-01", "2026-04-01", 150000,
        ),
    ]  # fmt: skip
    world.transactions.append(
        transaction("tr_bad", "stripe_in_1", "cus_acme", "chargeback", "successful", "2026-01-09")
    )
    sync.write()
    report = sync.run()
    assert report.counts["invoice"].refused == 4 and report.counts["transaction"].refused == 1
    assert report.counts["invoice"].created == 4 and report.counts["invoice"].failed == 0
    state = sync.state()
    reasons = {key[1]: row[2] for key, row in state.items() if row[0] == "refused"}
    assert "currency 'ZZZ' is not an ISO 4217 code" in reasons["bad_currency"]
    assert "negative amount -500" in reasons["bad_negative"]
    assert "service_period_end" in reasons["bad_period"]
    assert reasons["bad_empty"] == "no line items"
    assert "'chargeback' is not payment or refund" in reasons["tr_bad"]
    held = sync.held()
    assert set(held["invoices"]) == {
        "stripe_in_1",
        "stripe_in_2",
        "paypal_inv_1",
        "local_egp_inv_1",
    }
    assert any("bad_negative" in e for e in report.counts["invoice"].errors)
    # refused again next run, without a request and without a new state write
    again = sync.run()
    assert again.requests == 0 and again.counts["invoice"].refused == 4


# the stand-in has no GBP rate: ChartMogul refuses the invoice (HTTP 422) however often
GBP_LINE = subscription_line(
    "li_gbp", "stripe_in_gbp", "cus_acme", "pro_monthly_usd", "sub_acme_gbp",
    "2026-01-20", "2026-02-20", 1500,
)  # fmt: skip


def test_an_invoice_failing_three_runs_is_parked_and_the_others_are_sent(sync):
    # a currency ChartMogul refuses (the stand-in has no GBP rate) in a customer's batch
    sync.world.invoices.append(
        {
            "external_id": "stripe_in_gbp",
            "customer_external_id": "cus_acme",
            "gateway": "stripe",
            "currency": "GBP",
            "invoice_date": datetime(2026, 1, 20),
            "due_date": None,
        }
    )
    sync.world.line_items.append(GBP_LINE)
    sync.write()
    first = sync.run()
    assert first.counts["invoice"].created == 4 and first.counts["invoice"].failed == 1
    held = sync.held()
    assert "stripe_in_1" in held["invoices"] and "stripe_in_gbp" not in held["invoices"]
    status, failed_runs, error, _ = sync.state()[("invoice", "stripe_in_gbp")]
    assert (status, failed_runs) == ("failed", 1) and "HTTP 422" in error and "GBP" in error
    assert not first.ok and first.newly_parked == []

    second = sync.run()
    assert second.requests == 1 and sync.state()[("invoice", "stripe_in_gbp")][:2] == (
        "failed",
        2,
    )
    third = sync.run()
    assert [p[:2] for p in third.newly_parked] == [("invoice", "stripe_in_gbp")]
    assert sync.state()[("invoice", "stripe_in_gbp")][:2] == ("parked", 3)
    assert third.backlog == {"failed": 0, "parked": 1}
    assert any("parked after repeated failures" in line for line in third.summary())

    fourth = sync.run()
    assert fourth.requests == 0 and fourth.counts["invoice"].parked == 1
    assert fourth.newly_parked == []
    retried = sync.run(retry_parked=True)
    assert retried.requests == 1 and retried.newly_parked == []

    sync.world.row("invoices", "stripe_in_gbp")["currency"] = "USD"  # fixed: tried again
    sync.write()
    fixed = sync.run()
    assert fixed.ok and fixed.counts["invoice"].created == 1
    assert sync.state()[("invoice", "stripe_in_gbp")][:2] == ("sent", 0)
    assert sync.held()["invoice_ids"]["stripe_in_gbp"] == 1


def test_objects_chartmogul_already_holds_are_adopted_never_doubled(sync):
    """A run that died after ChartMogul stored a customer, a plan and an invoice but before
    it recorded them: the next run finds them by external id."""
    config = chartmogul.Config(KEY)
    config.uri = sync.standin.api_base
    source = chartmogul.DataSource.create(config, data={"name": sync.data_source}).get()
    plan = chartmogul.Plan.create(
        config,
        data={
            "data_source_uuid": source.uuid,
            "name": "Pro monthly",
            "interval_unit": "month",
            "interval_count": 1,
            "external_id": "pro_monthly_usd",
        },
    ).get()
    customer = chartmogul.Customer.create(
        config,
        data={
            "data_source_uuid": source.uuid,
            "external_id": "cus_acme",
            "name": "Acme Ltd",
            "email": "billing@acme.test",
            "company": "Acme Ltd",
            "country": "US",
            "city": "Boston",
        },
    ).get()
    chartmogul.Invoice.create(
        config,
        uuid=customer.uuid,
        data={
            "invoices": [
                {
                    "external_id": "stripe_in_1",
                    "date": "2026-01-01T00:00:00Z",
                    "currency": "USD",
                    "line_items": [
                        {
                            "type": "subscription",
                            "external_id": "li_1",
                            "subscription_external_id": "sub_acme",
                            "plan_uuid": plan.uuid,
                            "service_period_start": "2026-01-01T00:00:00Z",
                            "service_period_end": "2026-02-01T00:00:00Z",
                            "amount_in_cents": 5000,
                            "quantity": 1,
                        }
                    ],
                    "transactions": [
                        {
                            "external_id": "tr_1",
                            "type": "payment",
                            "result": "successful",
                            "date": "2026-01-01T00:00:00Z",
                        }
                    ],
                }
            ]
        },
    ).get()
    report = sync.run()
    assert report.ok, report.summary()
    assert created(report) == {t: n for t, n in EVERYTHING.items() if t != "data_source"}
    held = sync.held()  # one data source of that name, asserted there
    assert held["customer_ids"]["cus_acme"] == 1
    assert len(held["plans"]) == 3 and set(held["invoice_ids"].values()) == {1}
    assert len(held["invoices"]) == 4
    state = sync.state()
    assert state[("customer", "cus_acme")][3] == customer.uuid
    assert state[("plan", "pro_monthly_usd")][3] == plan.uuid
    assert ("POST", "/v1/customers") in sync.requests()
    assert sync.run().requests == 0


def test_chartmogul_answering_only_errors_stops_the_run_counting_against_no_object(sync):
    sync.run()
    for number in range(12):
        new = {**sync.world.row("customers", "cus_lead"), "external_id": f"cus_new_{number:02d}"}
        sync.world.customers.append(new)
    sync.write()
    sync.standin.set_behaviour(fail_next=10_000, fail_status=503)
    try:
        with pytest.raises(ChartMogulSyncError) as stopped:
            sync.run()
    finally:
        sync.standin.set_behaviour(fail_next=0)
    assert str(stopped.value) == (
        f"ChartMogul at {sync.standin.url} stopped answering after 0 of 12 requests: "
        "HTTP 503 on 10 requests in a row after retries; nothing was lost, run the sync "
        "again to finish"
    )
    failed = {k[1]: v for k, v in sync.state().items() if k[1].startswith("cus_new")}
    assert 10 <= len(failed) <= 12  # those tried before it stopped
    assert all(v[:2] == ("failed", 0) for v in failed.values())  # not their fault
    assert stopped.value.report.newly_parked == []
    finished = sync.run()
    assert finished.ok and finished.counts["customer"].created == 12


def _file_digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_dry_run_sends_nothing_and_writes_nothing(sync):
    before = _file_digest(sync.path)
    report = sync.run(dry_run=True)
    assert sync.requests() == []
    assert _file_digest(sync.path) == before
    with duckdb.connect(str(sync.path), read_only=True) as con:
        schemas = {
            r[0]
            for r in con.execute("select schema_name from information_schema.schemata").fetchall()
        }
    assert "chartmogul_sync" not in schemas
    lines = report.summary()
    assert lines[0].startswith("chartmogul sync dry run") and "nothing was sent" in lines[0]
    assert "  customers: 4 create" in lines and "  cancellations: 1 cancel" in lines
    assert any(line.startswith("  sample POST /v1/customers: ") for line in lines)
    assert any("/invoices: " in line and '"line_items"' in line for line in lines)
    assert report.planned_requests >= 14

    sync.run()
    sync.world.row("customers", "cus_cairo")["seats"] = 5
    sync.world.transactions.append(
        transaction("tr_refund", "stripe_in_1", "cus_acme", "refund", "successful", "2026-01-20")
    )
    sync.write()
    with duckdb.connect(str(sync.path), read_only=True) as con:
        logged = con.execute("select count(*) from chartmogul_sync.sync_log").fetchone()
    changed = sync.run(dry_run=True)
    assert sync.requests() == []
    assert changed.planned["customer"]["update"] == 1
    assert changed.planned["invoice"]["add-transactions"] == 1
    assert changed.planned_requests == 2
    assert any("PATCH /v1/customers/cus_" in line for line in changed.summary())
    with duckdb.connect(str(sync.path), read_only=True) as con:
        assert con.execute("select count(*) from chartmogul_sync.sync_log").fetchone() == logged


def test_no_secret_in_logs_output_state_or_the_request_log(sync, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    sync.world.invoices.append(
        {
            "external_id": "stripe_in_gbp",
            "customer_external_id": "cus_acme",
            "gateway": "stripe",
            "currency": "GBP",
            "invoice_date": datetime(2026, 1, 20),
            "due_date": None,
        }
    )
    sync.world.line_items.append(GBP_LINE)
    sync.write()
    sync.standin.set_behaviour(fail_next=3, fail_status=502)
    lines: list[str] = []
    report = sync_chartmogul(
        str(sync.path), settings=sync.settings(progress_seconds=0), progress=lines.append
    )
    wrong = sync.settings(api_key="cm_wrong_key_zz9")
    with pytest.raises(ChartMogulConfigError) as refused:
        sync_chartmogul(str(sync.path), settings=wrong.with_changes(data_source_name="other"))
    assert "CHARTMOGUL_API_KEY" in str(refused.value) and "cm_wrong_key_zz9" not in str(
        refused.value
    )
    with duckdb.connect(str(sync.path), read_only=True) as con:
        stored = con.execute(
            "select string_agg(coalesce(last_error, ''), ' ') from chartmogul_sync.object_state"
        ).fetchone()[0] + str(
            con.execute("select string_agg(coalesce(error_details, ''), ' ') from chartmogul_sync.sync_log").fetchone()[0]
        )  # fmt: skip
    assert "GBP" in stored  # the errors are there, the key is not
    progress = r"chartmogul sync: \w+ [\d,]+/[\d,]+ sent \([\d.]+ req/s\)"
    assert any(re.fullmatch(progress, line) for line in lines), lines
    texts = {
        "progress": "\n".join(lines),
        "summary": "\n".join(report.summary()),
        "logs": caplog.text,
        "output": "".join(capsys.readouterr()),
        "state": stored,
        "request log": repr(sync.standin.requests.snapshot()),
        "settings": repr(sync.settings()),
    }
    for where, text in texts.items():
        assert KEY not in text, f"the API key is in the {where}"


def test_chartmogul_dying_mid_run_stops_in_one_line_and_the_next_run_finishes(tmp_path):
    world = ExportWorld.small()
    for number in range(40):  # enough customers for the run to be cut half-way
        customer = f"cus_more_{number:02d}"
        world.customers.append({**world.row("customers", "cus_cairo"), "external_id": customer})
        invoice = f"stripe_in_more_{number:02d}"
        world.invoices.append(
            {
                "external_id": invoice,
                "customer_external_id": customer,
                "gateway": "stripe",
                "currency": "USD",
                "invoice_date": datetime(2026, 3, 1),
                "due_date": None,
            }
        )
        world.line_items.append(
            subscription_line(
                f"li_more_{number:02d}", invoice, customer, "pro_monthly_usd",
                f"sub_more_{number:02d}", "2026-03-01", "2026-04-01", 2900,
            )
        )  # fmt: skip
    path = world.write(tmp_path / "warehouse.duckdb")
    store = Store(as_of=AS_OF, fx_rates=FX_RATES)
    first = ChartMogulStandIn(store=store, api_key=KEY, latency_ms=10).start()
    settings = SyncSettings(
        api_key=KEY,
        api_base=first.url,
        data_source_name="dies",
        concurrency=2,
        requests_per_second=0,
        backoff_seconds=0.01,
        max_backoff_seconds=0.05,
    )

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 30
        while first.requests.count() < 30 and time.monotonic() < deadline:
            time.sleep(0.005)
        first.stop()

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    try:
        with pytest.raises(ChartMogulSyncError) as stopped:
            sync_chartmogul(str(path), settings=settings)
    finally:
        killer.join()
        first.stop()
    message = str(stopped.value)
    assert re.fullmatch(
        rf"ChartMogul at {re.escape(first.url)} stopped answering after \d+ of \d+ requests: "
        r"connection (refused|reset|failed); nothing was lost, run the sync again to finish",
        message,
    ), message
    assert "\n" not in message and KEY not in message
    partial = stopped.value.report
    assert partial is not None and partial.stopped
    assert partial.newly_parked == []
    with duckdb.connect(str(path), read_only=True) as con:
        recorded = con.execute(
            "select count(*) from chartmogul_sync.object_state where status = 'sent'"
        ).fetchone()[0]
        assert recorded > 0  # what got through before it died is recorded

    with ChartMogulStandIn(store=store, api_key=KEY) as second:
        finished = sync_chartmogul(str(path), settings=settings.with_changes(api_base=second.url))
        assert finished.ok, finished.summary()
        held = held_by(second, KEY, "dies")
        assert sorted(held["customer_ids"].values()) == [1] * 44
        assert set(held["invoice_ids"].values()) == {1} and len(held["invoice_ids"]) == 44
        assert held["subscriptions"]["sub_acme"] == ("2026-03-01",)
        with duckdb.connect(str(path), read_only=True) as con:
            statuses = con.execute(
                "select distinct status from chartmogul_sync.object_state"
            ).fetchall()
        assert statuses == [("sent",)]
        assert (
            sync_chartmogul(str(path), settings=settings.with_changes(api_base=second.url)).requests
            == 0
        )


def test_state_recorded_for_another_data_source_stops_the_sync_until_reset(sync):
    first = sync_chartmogul(str(sync.path), settings=sync.settings())
    assert first.ok
    writes = sum(sync.standin.requests.count(method=m) for m in ("POST", "PATCH", "DELETE"))
    other = sync.settings().with_changes(data_source_name="Another source")
    # what the state says was sent went to the first data source, not to this one: refuse
    # rather than skip everything the new one never got
    with pytest.raises(ChartMogulSyncError) as stopped:
        sync_chartmogul(str(sync.path), settings=other)
    message = str(stopped.value)
    assert "\n" not in message and "--reset-state" in message and "Another source" in message
    assert sum(sync.standin.requests.count(method=m) for m in ("POST", "PATCH", "DELETE")) == writes
    # a dry run with reset_state plans everything, and changes nothing
    planned = sync_chartmogul(str(sync.path), settings=other, dry_run=True, reset_state=True)
    assert planned.planned["customer"]["create"] == len(sync.world.customers)
    again = sync_chartmogul(str(sync.path), settings=other, reset_state=True)
    assert again.ok and again.counts["customer"].created == len(sync.world.customers)
    sources = {s.name for s in sync.standin.store.data_sources.values()}
    assert {"Another source"} <= sources


def test_settings_take_the_environment_unless_an_override_is_given(monkeypatch):
    monkeypatch.setenv("CHARTMOGUL_SYNC_RPS", "0")
    monkeypatch.setenv("CHARTMOGUL_SYNC_CONCURRENCY", "5")
    # None (an option not given, a resource field left unset) keeps what the environment says
    settings = SyncSettings.from_env(api_key="k", requests_per_second=None, concurrency=None)
    assert settings.requests_per_second == 0 and settings.concurrency == 5
    assert SyncSettings.from_env(api_key="k", requests_per_second=12).requests_per_second == 12
