"""Lifetime value marts on the small world: each figure recomputed from the marts it is
defined on (MRR_RULES.md LTV; CAC from unit_economics_monthly, itself checked against the
generated cost sheets) and the segmentation grid adding up to the company."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb

from tests.conftest import AS_OF

CURRENT = AS_OF.replace(day=1)


def _query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        return connection.execute(sql, params or []).fetchall()
    finally:
        connection.close()


def _round(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), ROUND_HALF_UP)


def test_paying_customers_value_is_mrr_over_their_plan_churn(small_warehouse):
    rows = _query(
        small_warehouse,
        """
        select v.customer_id, v.current_mrr, v.ltv, p.customer_churn_rate, v.realised_revenue
        from marts.fct_customer_value as v
        join marts.clv_by_plan as p on p.plan = v.plan
        where v.current_mrr > 0
        """,
    )
    assert len(rows) == 153  # the simulator's paying customers on the as-of date
    for customer_id, mrr, ltv, churn, realised in rows:
        assert ltv == _round(mrr / churn, "0.0001"), customer_id
        assert realised is not None and realised > 0, customer_id
    ((revenue, customers),) = _query(
        small_warehouse,
        "select sum(realised_revenue), count(*) from marts.fct_customer_value",
    )
    ((expected,),) = _query(
        small_warehouse,
        "select sum(net_revenue_reporting) from marts.fct_revenue"
        " where revenue_date <= ? and customer_id in"
        " (select customer_id from marts.dim_customers where first_paid_date is not null)",
        [AS_OF],
    )
    assert revenue == expected and customers > 153


def test_channel_cac_is_the_six_month_cost_over_new_customers(small_warehouse):
    window = _query(
        small_warehouse,
        """
        select segment, sum(sales_marketing_cost), sum(new_customers)
        from marts.unit_economics_monthly
        where segment like 'channel:%' and month >= ? - interval 6 month and month < ?
        group by segment
        """,
        [CURRENT, CURRENT],
    )
    clv = dict(_query(small_warehouse, "select segment, cac from marts.clv_by_channel"))
    checked = 0
    for segment, cost, new in window:
        if segment == "channel:unknown":
            assert clv[segment] is None
            continue
        expected = _round(cost / new, "0.0001") if new else None
        print(f"{segment:<22} {cost} / {new} = {expected} (mart {clv[segment]})")
        assert clv[segment] == expected, segment
        checked += 1
    assert checked >= 5
    # partner and referral customers cost a fixed commission each in the generator
    assert clv["channel:partner"] == Decimal("150.0000")
    assert clv["channel:referral"] == Decimal("50.0000")


def test_plans_have_no_cac_of_their_own_without_estimates(small_warehouse):
    rows = _query(
        small_warehouse, "select segment, cac, cac_data_quality, reason from marts.clv_by_plan"
    )
    assert rows
    for segment, cac, quality, reason in rows:
        assert cac is None and quality == "insufficient_data", segment
        assert "CAC: the cost sheets attribute acquisition cost to channels, not plans" in reason


def test_an_actual_ltv_is_not_hidden_by_a_missing_cac_beside_it(small_warehouse):
    """A plan has no CAC of its own (cost sheets attribute acquisition cost to channels), but
    its LTV (ARPA / churn rate) needs no cost at all. The marts once carried one quality per
    row, the worst of its figures, so every plan row said `insufficient_data` and a BI filter
    on it hid a perfectly good LTV. Quality is per figure now: the LTV is `actual`, the CAC
    and the figures made from it (CLV:CAC, CAC payback) are `insufficient_data`, and no
    column speaks for the row as a whole."""
    columns = {
        name
        for (name,) in _query(
            small_warehouse,
            "select column_name from information_schema.columns"
            " where table_schema = 'marts' and table_name = 'clv_by_plan'",
        )
    }
    assert "data_quality" not in columns
    rows = _query(
        small_warehouse,
        """
        select segment, ltv, ltv_data_quality, cac, cac_data_quality,
            clv_cac_ratio, clv_cac_ratio_data_quality, cac_payback_months_data_quality,
            arpa, customer_churn_rate
        from marts.clv_by_plan
        """,
    )
    assert len(rows) == 3  # starter, growth, scale
    for (
        segment,
        ltv,
        ltv_quality,
        cac,
        cac_quality,
        ratio,
        ratio_quality,
        payback,
        arpa,
        churn,
    ) in rows:
        assert ltv_quality == "actual" and ltv == _round(arpa / churn, "0.0001"), segment
        assert cac is None and cac_quality == "insufficient_data", segment
        assert ratio is None and ratio_quality == payback == "insufficient_data", segment
    # the same figures by channel, where the cost sheets do give a CAC, are all actual
    ((channels_all_actual,),) = _query(
        small_warehouse,
        """
        select count(*) from marts.clv_by_channel
        where ltv_data_quality = 'actual' and cac_data_quality = 'actual'
            and clv_cac_ratio_data_quality = 'actual' and segment <> 'channel:unknown'
        """,
    )
    assert channels_all_actual == 6


def test_segment_grid_adds_up_to_the_company(small_warehouse):
    ((customers, mrr),) = _query(
        small_warehouse, "select sum(customers), sum(mrr) from marts.customer_segments"
    )
    ((paying, company_mrr),) = _query(
        small_warehouse,
        "select paying_customers_end, mrr_end from marts.mrr_summary_daily where summary_date = ?",
        [AS_OF],
    )
    assert customers == paying == 153
    assert mrr == company_mrr
