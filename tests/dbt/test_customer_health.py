"""customer_health on the small world: one row per paying customer, scores in their ranges,
bands that follow the thresholds, and `insufficient_data` (never invented zeros) where usage
data is missing: for Stripe-only customers, and for everyone once the usage table is empty.

The world's ground truth has no health scores, so these are invariants, not values."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pytest

from tests.conftest import AS_OF
from tests.dbt.conftest import rebuilt_copy

RANGES = {"usage_score": 30, "adoption_score": 25, "support_score": 20, "payment_score": 25}
COMPONENTS = list(RANGES)


def _rows(warehouse: Path, query: str) -> list[dict]:
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = connection.execute(query)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.close()


def _health(warehouse: Path) -> list[dict]:
    return _rows(warehouse, "select * from marts.customer_health order by customer_id")


def _band(score: int | None) -> str:
    if score is None:
        return "unknown"
    if score < 30:
        return "high"
    return "medium" if score <= 60 else "healthy"


def test_one_row_per_paying_customer(small_warehouse):
    paying = _rows(
        small_warehouse,
        "select customer_id, current_mrr, app_account_id from marts.dim_customers "
        "where status in ('active', 'past_due')",
    )
    health = _health(small_warehouse)
    assert paying, "the small world has no paying customer"
    counts = Counter(row["customer_id"] for row in health)
    assert set(counts) == {row["customer_id"] for row in paying}
    assert set(counts.values()) == {1}
    mrr = {row["customer_id"]: row["current_mrr"] for row in paying}
    assert all(row["current_mrr"] == mrr[row["customer_id"]] > 0 for row in health)
    assert {row["as_of_date"] for row in health} == {AS_OF}


def test_scores_in_range_and_bands_follow_the_thresholds(small_warehouse):
    health = _health(small_warehouse)
    for row in health:
        for name, top in RANGES.items():
            assert row[name] is None or 0 <= row[name] <= top, (row["customer_id"], name)
        assert row["payment_score"] is not None, row["customer_id"]
        if row["data_quality"] == "actual":
            assert row["reason"] is None, row["customer_id"]
            assert row["health_score"] == sum(row[name] for name in COMPONENTS), row
            assert 0 <= row["health_score"] <= 100
        else:
            assert row["data_quality"] == "insufficient_data", row
            assert row["reason"] and row["health_score"] is None, row
        assert row["risk_band"] == _band(row["health_score"]), row
        if row["risk_band"] == "high":
            assert row["suggested_action"] == "call: executive outreach", row
        assert row["suggested_action"], row
    bands = Counter(row["risk_band"] for row in health)
    print("customers per band:", dict(sorted(bands.items())))
    print("suggested actions:", dict(Counter(row["suggested_action"] for row in health)))
    assert len({band for band in bands if band != "unknown"}) > 1, bands


def test_stripe_only_customers_have_no_usage_score(small_warehouse):
    stripe_only = {
        row["customer_id"]
        for row in _rows(
            small_warehouse,
            "select customer_id from marts.dim_customers "
            "where status in ('active', 'past_due') and app_account_id is null",
        )
    }
    assert stripe_only, "the small world has no paying customer without an app account"
    health = {row["customer_id"]: row for row in _health(small_warehouse)}
    for customer_id in stripe_only:
        row = health[customer_id]
        assert row["data_quality"] == "insufficient_data", row
        assert "no usage data" in row["reason"] and "no app account" in row["reason"], row
        assert row["usage_score"] is None and row["adoption_score"] is None, row
        assert row["active_days_last_28"] is None and row["features_used_last_28"] is None, row
        assert row["health_score"] is None and row["risk_band"] == "unknown", row
    # everyone else has an app account, loaded usage and tickets: all actual
    others = [row for cid, row in health.items() if cid not in stripe_only]
    assert others and all(row["data_quality"] == "actual" for row in others)


@pytest.fixture(params=["empty", "never created"])
def no_usage_warehouse(request, small_warehouse, bare_warehouse, tmp_path) -> Path:
    """The usage table loaded but empty, or never created (dlt creates it with its first row:
    the shared `bare_warehouse`, which also lacks cost sheets)."""
    if request.param == "never created":
        return bare_warehouse
    return rebuilt_copy(
        small_warehouse,
        tmp_path / "no_usage.duckdb",
        ["delete from raw_app.usage_daily"],
        AS_OF,
        full_refresh=False,
        select="stg_app__usage_daily usage_expansion_opportunities customer_health",
    )


def test_no_usage_data_is_insufficient_data(no_usage_warehouse):
    health = _health(no_usage_warehouse)
    assert health
    for row in health:
        assert row["data_quality"] == "insufficient_data", row
        assert "no usage data" in row["reason"], row
        assert row["usage_score"] is None and row["adoption_score"] is None, row
        assert row["active_days_last_28"] is None and row["is_near_plan_limit"] is None, row
        assert row["health_score"] is None and row["risk_band"] == "unknown", row
        # support and payment are still measured: their tables are loaded
        assert row["support_score"] is not None and row["payment_score"] is not None, row
    with_account = [row for row in health if "no app account" not in row["reason"]]
    assert with_account
    assert all(
        row["reason"] == f"no usage data loaded for the 28 days ending {AS_OF.isoformat()}"
        for row in with_account
    )
