"""Our ChartMogul client (retries, timeouts, errors) and the reconciliation (the ChartMogul
load, then the dbt marts, read back), through the real `chartmogul` SDK against the stand-in
holding the small world's business."""

import json
from decimal import Decimal

import duckdb
import pytest

from ingestion.chartmogul.client import (
    ChartMogulClient,
    ChartMogulConfigError,
    ChartMogulUnavailable,
)
from ingestion.chartmogul.settings import month_ends_before
from revwh.reconcile import reconcile
from sandbox.chartmogul import ChartMogulStandIn
from tests.conftest import AS_OF, CHARTMOGUL_TEST_KEY


@pytest.fixture(scope="module")
def standin(small_world):
    with ChartMogulStandIn(small_world, as_of=AS_OF, api_key=CHARTMOGUL_TEST_KEY) as server:
        yield server


@pytest.fixture
def client(standin):
    standin.set_behaviour(drift_percent=0, fail_next=0, latency_ms=0)
    standin.requests.clear()
    return ChartMogulClient(
        CHARTMOGUL_TEST_KEY, api_base=standin.url, max_attempts=3, backoff_seconds=0.01
    )


def test_a_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("CHARTMOGUL_API_KEY", raising=False)
    with pytest.raises(ChartMogulConfigError, match="CHARTMOGUL_API_KEY"):
        ChartMogulClient()


def test_reads_the_account_mrr_and_every_customer(client, small_world):
    truth = json.loads((small_world / "ground_truth" / "summary.json").read_text())
    assert client.currency() == "USD"
    [point] = client.mrr_series(AS_OF, AS_OF)
    assert Decimal(point.mrr_cents) / 100 == Decimal(truth["mrr_usd"])
    customers = list(client.customers())
    assert len({c.uuid for c in customers}) == len(customers) > 200  # more than one page
    paying = [c for c in customers if c.mrr_cents > 0]
    assert len(paying) == truth["paying_customers"]


def test_5xx_and_429_are_retried_then_succeed(client, standin):
    standin.set_behaviour(fail_next=2, fail_status=503)
    assert client.currency() == "USD"
    assert standin.requests.count() == 3
    standin.requests.clear()
    standin.set_behaviour(fail_next=1, fail_status=429)
    assert client.currency() == "USD"
    assert standin.requests.count() == 2


def test_gives_up_after_the_last_attempt_with_a_clear_error(client, standin):
    standin.set_behaviour(fail_next=100, fail_status=502)
    with pytest.raises(ChartMogulUnavailable) as raised:
        client.currency()
    assert "after 3 attempts" in str(raised.value) and "HTTP 502" in str(raised.value)
    assert CHARTMOGUL_TEST_KEY not in str(raised.value)
    assert standin.requests.count() == 3


def test_a_slow_chartmogul_times_out(standin):
    standin.set_behaviour(fail_next=0, latency_ms=1500)
    slow = ChartMogulClient(
        CHARTMOGUL_TEST_KEY,
        api_base=standin.url,
        timeout_seconds=0.2,
        max_attempts=2,
        backoff_seconds=0.01,
    )
    try:
        with pytest.raises(ChartMogulUnavailable, match="timed out"):
            slow.currency()
    finally:
        standin.set_behaviour(latency_ms=0)


def test_a_wrong_key_is_not_retried_and_not_shown(standin):
    standin.set_behaviour(fail_next=0, latency_ms=0)
    standin.requests.clear()
    wrong = ChartMogulClient("cm_wrong_key_123", api_base=standin.url, max_attempts=3)
    with pytest.raises(ChartMogulConfigError, match="CHARTMOGUL_API_KEY") as raised:
        wrong.currency()
    assert "cm_wrong_key_123" not in str(raised.value)
    assert standin.requests.count() == 1


def test_month_ends_before():
    ends = month_ends_before(AS_OF, 3)
    assert [d.isoformat() for d in ends] == ["2026-08-31", "2026-09-30", "2026-10-31"]


def test_the_same_business_reconciles_exactly_and_reruns_replace(small_warehouse_copy, client):
    warehouse = small_warehouse_copy
    for _ in range(2):  # a re-run for the same day replaces, never duplicates
        result = reconcile(warehouse, client, AS_OF, days=30, month_ends=12)
    assert result.passed, result.message()
    assert result.max_abs_variance_percent == 0
    assert result.top_customers == []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select period, count(*), sum(abs(variance)) from marts.chartmogul_reconciliation "
            "group by 1 order by 1"
        ).fetchall()
    assert rows == [("day", 30, Decimal("0.00")), ("month_end", 12, Decimal("0.00"))]


def test_a_drift_is_explained_by_the_drifted_customers(small_warehouse_copy, client, standin):
    warehouse = small_warehouse_copy
    with duckdb.connect(str(warehouse), read_only=True) as con:
        drifted = [
            r[0]
            for r in con.execute(
                "select customer_id from marts.dim_customers order by current_mrr desc limit 3"
            ).fetchall()
        ]
    standin.set_behaviour(drift_percent=2, drift_customers=drifted)
    try:
        result = reconcile(warehouse, client, AS_OF, threshold_percent="1.0", top=5)
    finally:
        standin.set_behaviour(drift_percent=0, drift_customers=None)
    assert not result.passed
    assert Decimal("-2.1") < result.worst_day.variance_percent < Decimal("-1.9")
    assert sorted(c.customer_id for c in result.top_customers) == sorted(drifted)
    assert sum(c.abs_share_of_gap for c in result.top_customers) == pytest.approx(1, abs=0.001)
    message = result.message()
    assert "FAILED" in message and drifted[0] in message and AS_OF.isoformat() in message
