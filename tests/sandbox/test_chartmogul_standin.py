"""The real `chartmogul` SDK against the ChartMogul stand-in: the small world's business,
the import API computing MRR from invoices, and the drift and faults tests order."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import chartmogul
import httpx
import pytest

from sandbox.chartmogul import ChartMogulStandIn
from sandbox.serving import url_for
from tests.receivers import free_port

KEY = "cm_standin_key"
AS_OF = date(2026, 11, 15)


def config_for(standin: ChartMogulStandIn, key: str = KEY) -> chartmogul.Config:
    config = chartmogul.Config(key, request_timeout=10)
    config.uri = standin.api_base
    return config


@pytest.fixture(scope="module")
def world_standin(small_world):
    with ChartMogulStandIn(small_world, api_key=KEY) as server:
        yield server


@pytest.fixture
def cm(world_standin):
    world_standin.set_behaviour(drift_percent=0, drift_customers=None, fail_next=0, latency_ms=0)
    world_standin.requests.clear()
    return config_for(world_standin)


def every_customer(cm) -> list:
    customers, cursor = [], None
    while True:
        page = chartmogul.Customer.all(cm, per_page=200, **({"cursor": cursor} if cursor else {}))
        page = page.get()
        customers.extend(page.entries)
        if not page.has_more:
            return customers
        cursor = page.cursor


def truth_mrr_by_day(world, days) -> dict[date, int]:
    """Exact company MRR per day from the ground truth, in cents rounded once."""
    latest: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    with (world / "ground_truth" / "mrr_changes.csv").open() as f:
        for row in csv.DictReader(f):
            latest[row["customer_id"]].append(
                (date.fromisoformat(row["date"]), Decimal(row["mrr_reporting"]))
            )
    out = {}
    for day in days:
        total = sum(
            (next((m for d, m in reversed(s) if d <= day), Decimal(0)) for s in latest.values()),
            Decimal(0),
        )
        out[day] = int((total * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return out


def test_daily_mrr_equals_the_ground_truth(cm, small_world):
    start = AS_OF - timedelta(days=44)
    answer = chartmogul.Metrics.mrr(
        cm, start_date=start.isoformat(), end_date=AS_OF.isoformat(), interval="day"
    ).get()
    days = [start + timedelta(days=i) for i in range(45)]
    assert [e.date for e in answer.entries] == days
    assert {e.date: e.mrr for e in answer.entries} == truth_mrr_by_day(small_world, days)
    summary = json.loads((small_world / "ground_truth" / "summary.json").read_text())
    assert Decimal(answer.entries[-1].mrr) / 100 == Decimal(summary["mrr_usd"])
    assert answer.summary.current == answer.entries[-1].mrr


def test_week_and_month_buckets_end_on_their_last_day(cm):
    weekly = chartmogul.Metrics.mrr(
        cm, start_date="2026-10-01", end_date="2026-11-15", interval="week"
    ).get()
    dates = [e.date for e in weekly.entries]
    assert dates[0] == date(2026, 10, 4) and dates[-1] == AS_OF  # Sundays, then the end date
    assert all(d.weekday() == 6 for d in dates)
    monthly = chartmogul.Metrics.all(
        cm, start_date="2026-01-01", end_date="2026-11-15", interval="month"
    ).get()
    assert [e.date for e in monthly.entries][:2] == [date(2026, 1, 31), date(2026, 2, 28)]
    daily = chartmogul.Metrics.mrr(
        cm, start_date="2026-01-01", end_date="2026-11-15", interval="day"
    ).get()
    by_day = {e.date: e.mrr for e in daily.entries}
    for entry in monthly.entries:
        assert entry.mrr == by_day[entry.date]
        assert abs(entry.arr - entry.mrr * 12) <= 6  # each rounded once from exact MRR
        assert entry.customers > 0 and abs(entry.arpa - entry.mrr / entry.customers) <= 1
    # movements in a month add up to the daily movements of that month
    november = [e for e in daily.entries if e.date.month == 11]
    assert monthly.entries[-1].mrr == november[-1].mrr


def test_movements_follow_the_ground_truth(cm, small_world):
    with (small_world / "ground_truth" / "mrr_movements.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["movement_date"].startswith("2026-10")]
    expected = defaultdict(Decimal)
    for row in rows:
        expected[row["movement_type"]] += Decimal(row["mrr_change"])
    month = chartmogul.Metrics.mrr(
        cm, start_date="2026-10-01", end_date="2026-10-31", interval="month"
    ).get()
    [entry] = month.entries

    def cents(amount):
        return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    assert entry.mrr_new_business == cents(expected["new"])
    assert entry.mrr_expansion == cents(expected["expansion"])
    assert entry.mrr_contraction == cents(expected["contraction"]) <= 0
    assert entry.mrr_churn == cents(expected["churn"]) <= 0


def test_customers_page_with_a_cursor_and_carry_mrr(cm, small_world):
    summary = json.loads((small_world / "ground_truth" / "summary.json").read_text())
    seen, cursor, pages = [], None, 0
    while True:
        params = {"per_page": 100, **({"cursor": cursor} if cursor else {})}
        page = chartmogul.Customer.all(cm, **params).get()
        seen.extend(page.entries)
        pages += 1
        if not page.has_more:
            break
        cursor = page.cursor
    assert pages > 1
    assert len({c.uuid for c in seen}) == len(seen) == summary["accounts"]
    paying = [c for c in seen if c.mrr > 0]
    assert len(paying) == summary["paying_customers"]
    assert all(c.status == "Active" for c in paying)
    assert Decimal(sum(c.mrr for c in paying)) / 100 == pytest.approx(
        Decimal(summary["mrr_usd"]), abs=Decimal("0.01") * len(paying)
    )
    one = paying[0]
    assert chartmogul.Customer.retrieve(cm, uuid=one.uuid).get().external_id == one.external_id
    found = chartmogul.Customer.search(cm, email=one.email).get()
    assert [c.uuid for c in found.entries] == [one.uuid]


def test_a_drift_moves_the_total_and_the_drifted_customers_only(cm, world_standin):
    before = {c.external_id: c.mrr for c in every_customer(cm)}
    [truth] = (
        chartmogul.Metrics.mrr(cm, start_date="2026-11-15", end_date="2026-11-15").get().entries
    )
    world_standin.set_behaviour(drift_percent=2)
    [drifted] = (
        chartmogul.Metrics.mrr(cm, start_date="2026-11-15", end_date="2026-11-15").get().entries
    )
    assert drifted.mrr == round(truth.mrr * Decimal("1.02"))
    after = {c.external_id: c.mrr for c in every_customer(cm)}
    moved = {k for k in before if after[k] != before[k]}
    assert len(moved) == 3  # the three largest by default
    assert min(before[k] for k in moved) >= sorted(before.values())[-3]
    assert sum(after[k] - before[k] for k in moved) == pytest.approx(drifted.mrr - truth.mrr, abs=3)


def test_faults_latency_and_a_wrong_key(cm, world_standin):
    world_standin.set_behaviour(fail_next=1, fail_status=429, retry_after=0)
    response = httpx.get(world_standin.api_base + "/account", auth=(KEY, ""))
    assert response.status_code == 429 and response.headers["Retry-After"] == "0"
    world_standin.set_behaviour(fail_next=1, fail_status=503)
    with pytest.raises(chartmogul.APIError):
        chartmogul.Account.retrieve(cm).get()
    assert chartmogul.Account.retrieve(cm).get().currency == "USD"
    with pytest.raises(chartmogul.APIError, match="401"):
        chartmogul.Account.retrieve(config_for(world_standin, "cm_wrong")).get()
    world_standin.set_behaviour(latency_ms=300)
    started = time.perf_counter()
    chartmogul.Account.retrieve(cm).get()
    assert time.perf_counter() - started >= 0.3
    assert world_standin.requests.count("/v1/account") == 5


def test_bad_requests_get_clear_errors(cm, world_standin):
    for query, message in (
        ("start-date=2026-11-15", "end-date is required"),
        ("start-date=2026-11-15&end-date=2026-11-01", "not be before"),
        ("start-date=2026-11-01&end-date=2026-11-15&interval=hour", "interval must be"),
    ):
        response = httpx.get(f"{world_standin.api_base}/metrics/mrr?{query}", auth=(KEY, ""))
        assert response.status_code == 400 and message in response.json()["message"]
    missing = httpx.get(world_standin.api_base + "/customers/cus_nope", auth=(KEY, ""))
    assert missing.status_code == 404


def test_imported_invoices_make_mrr_and_a_cancellation_ends_it():
    with ChartMogulStandIn(as_of=date(2026, 3, 20)) as standin:
        cm = config_for(standin, "any_key")
        source = chartmogul.DataSource.create(cm, data={"name": "Billing"}).get()
        yearly = chartmogul.Plan.create(
            cm,
            data={
                "data_source_uuid": source.uuid,
                "name": "Team yearly",
                "interval_count": 1,
                "interval_unit": "year",
                "external_id": "team_yearly",
            },
        ).get()
        customer = chartmogul.Customer.create(
            cm,
            data={
                "data_source_uuid": source.uuid,
                "external_id": "acme",
                "name": "Acme",
                "email": "billing@acme.test",
            },
        ).get()

        def invoice(external_id, start, end, cents, tax=0):
            return {
                "external_id": external_id,
                "date": f"{start}T00:00:00Z",
                "currency": "USD",
                "line_items": [
                    {
                        "type": "subscription",
                        "subscription_external_id": "sub_acme",
                        "plan_uuid": yearly.uuid,
                        "service_period_start": f"{start}T00:00:00Z",
                        "service_period_end": f"{end}T00:00:00Z",
                        "amount_in_cents": cents,
                        "tax_amount_in_cents": tax,
                        "quantity": 1,
                    }
                ],
                "transactions": [
                    {"date": f"{start}T00:00:00Z", "type": "payment", "result": "successful"}
                ],
            }

        # 1,320.00 a year incl. 120.00 tax -> 100.00 MRR; the renewal raises it to 150.00
        first = invoice("inv_1", "2025-03-01", "2026-03-01", 132000, tax=12000)
        imported = chartmogul.Invoice.create(
            cm, uuid=customer.uuid, data={"invoices": [first]}
        ).get()
        subscription_uuid = imported.invoices[0].line_items[0].subscription_uuid
        with pytest.raises(chartmogul.APIError, match="422"):  # the same invoice twice
            chartmogul.Invoice.create(cm, uuid=customer.uuid, data={"invoices": [first]}).get()
        renewal = invoice("inv_2", "2026-03-01", "2027-03-01", 180000)
        chartmogul.Invoice.create(cm, uuid=customer.uuid, data={"invoices": [renewal]}).get()

        def mrr_on(day):
            answer = chartmogul.Metrics.mrr(cm, start_date=day, end_date=day, interval="day")
            return answer.get().entries[0]

        assert mrr_on("2025-02-28").mrr == 0
        assert mrr_on("2025-03-01").mrr == 10000
        assert mrr_on("2025-03-01").mrr_new_business == 10000
        assert mrr_on("2026-03-01").mrr_expansion == 5000
        assert chartmogul.Customer.retrieve(cm, uuid=customer.uuid).get().mrr == 15000
        cancelled = chartmogul.CustomerSubscription.cancel(
            cm, uuid=subscription_uuid, data={"cancellation_dates": ["2026-03-10T00:00:00Z"]}
        ).get()
        assert cancelled.cancellation_dates[0].date() == date(2026, 3, 10)
        assert mrr_on("2026-03-09").mrr == 15000
        assert mrr_on("2026-03-10").mrr == 0 and mrr_on("2026-03-10").mrr_churn == -15000
        customer_now = chartmogul.Customer.retrieve(cm, uuid=customer.uuid).get()
        assert customer_now.mrr == 0 and customer_now.status == "Cancelled"
        [sub] = chartmogul.Customer.subscriptions(cm, uuid=customer.uuid).get().entries
        assert sub.status == "inactive" and sub.plan == "Team yearly"
        assert len(chartmogul.Plan.all(cm).get().plans) == 1


def test_serve_chartmogul_command_answers_the_sdk(small_world):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "revwh.cli",
            "sandbox",
            "serve-chartmogul",
            "--world",
            str(small_world),
            "--port",
            str(port),
            "--api-key",
            KEY,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = url_for("127.0.0.1", port)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/v1/ping", auth=(KEY, "")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "did not start"
            time.sleep(0.1)
        config = chartmogul.Config(KEY)
        config.uri = url + "/v1"
        assert chartmogul.Account.retrieve(config).get().currency == "USD"
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "customers" in output and KEY not in output
