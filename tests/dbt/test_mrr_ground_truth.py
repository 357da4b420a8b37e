"""The MRR engine against the simulator's own ledger: every customer's month-end MRR,
every movement and every customer's status, to the cent (to the 1/100 of a cent, in fact:
both sides carry four places)."""

from __future__ import annotations

import json
from decimal import Decimal

import duckdb
import pytest

from tests.conftest import AS_OF


@pytest.fixture(scope="module")
def warehouse(small_warehouse, small_world):
    connection = duckdb.connect(str(small_warehouse), read_only=True)
    truth = small_world / "ground_truth"
    connection.execute(
        f"""
        create temp table truth_changes as
        select customer_id, cast(date as date) as change_date,
            cast(mrr_reporting as decimal(18, 4)) as mrr
        from read_csv('{truth / "mrr_changes.csv"}', all_varchar = true);
        create temp table truth_movements as
        select customer_id, cast(movement_date as date) as movement_date, movement_type,
            cast(mrr_change as decimal(18, 4)) as mrr_change,
            cast(mrr_before as decimal(18, 4)) as mrr_before,
            cast(mrr_after as decimal(18, 4)) as mrr_after
        from read_csv('{truth / "mrr_movements.csv"}', all_varchar = true);
        create temp table truth_customers as
        select customer_id, status, cast(current_mrr as decimal(18, 4)) as current_mrr,
            cast(nullif(first_paid_date, '') as date) as first_paid_date,
            cast(nullif(cohort_month, '') as date) as cohort_month
        from read_csv('{truth / "customers.csv"}', all_varchar = true);
        """
    )
    yield connection
    connection.close()


def _show(rows, limit=10) -> str:
    return "\n".join(str(row) for row in rows[:limit])


def test_every_month_end_mrr_equals_the_simulators(warehouse):
    # the simulator's MRR of each customer at each month end (or the as-of date), from its
    # change log, for every month from their first paid month
    mismatches = warehouse.execute(
        f"""
        with truth_months as (
            select
                first_paid.customer_id,
                cast(month.spine_at as date) as month,
                least(last_day(cast(month.spine_at as date)), date '{AS_OF}') as month_end
            from (
                select customer_id, date_trunc('month', min(change_date)) as first_month
                from truth_changes where mrr > 0 group by customer_id
            ) as first_paid,
            generate_series(first_paid.first_month, date '{AS_OF}', interval 1 month)
                as month(spine_at)
        ),
        truth as (
            select customer_id, month, (
                select c.mrr from truth_changes as c
                where c.customer_id = truth_months.customer_id and c.change_date <= month_end
                order by c.change_date desc limit 1
            ) as mrr
            from truth_months
        )
        select truth.customer_id, truth.month, truth.mrr, ours.mrr
        from truth
        full join marts.fct_mrr_monthly as ours
            on truth.customer_id = ours.customer_id and truth.month = ours.month
        where truth.mrr is distinct from ours.mrr
        order by 1, 2
        """
    ).fetchall()
    compared = warehouse.execute("select count(*) from marts.fct_mrr_monthly").fetchone()[0]
    print(
        f"compared {compared:,} customer month-ends with the simulator's: {len(mismatches)} differ"
    )
    assert compared > 1000
    assert not mismatches, _show(mismatches)


def test_every_movement_equals_the_simulators(warehouse):
    mismatches = warehouse.execute(
        """
        select *
        from truth_movements as truth
        full join marts.fct_mrr_movements as ours
            on truth.customer_id = ours.customer_id and truth.movement_date = ours.movement_date
        where truth.movement_type is distinct from ours.movement_type
            or truth.mrr_change is distinct from ours.mrr_change
            or truth.mrr_before is distinct from ours.mrr_before
            or truth.mrr_after is distinct from ours.mrr_after
        """
    ).fetchall()
    compared = warehouse.execute("select count(*) from truth_movements").fetchone()[0]
    kinds = dict(
        warehouse.execute(
            "select movement_type, count(*) from marts.fct_mrr_movements group by 1"
        ).fetchall()
    )
    print(
        f"compared {compared:,} movements with the simulator's ({kinds}): {len(mismatches)} differ"
    )
    assert set(kinds) == {"new", "expansion", "contraction", "churn", "reactivation"}
    assert not mismatches, _show(mismatches)


def test_every_customer_equals_the_simulators(warehouse):
    mismatches = warehouse.execute(
        """
        select truth.*, ours.status, ours.current_mrr, ours.first_paid_date, ours.cohort_month
        from truth_customers as truth
        full join marts.dim_customers as ours on truth.customer_id = ours.customer_id
        where truth.status is distinct from ours.status
            or truth.current_mrr is distinct from ours.current_mrr
            or truth.first_paid_date is distinct from ours.first_paid_date
            or truth.cohort_month is distinct from ours.cohort_month
        """
    ).fetchall()
    statuses = dict(
        warehouse.execute("select status, count(*) from marts.dim_customers group by 1").fetchall()
    )
    print(f"compared {sum(statuses.values()):,} customers ({statuses}): {len(mismatches)} differ")
    assert not mismatches, _show(mismatches)


def test_current_mrr_and_paying_customers_equal_the_simulators(warehouse, small_world):
    summary = json.loads((small_world / "ground_truth" / "summary.json").read_text())
    mrr_end, paying = warehouse.execute(
        "select mrr_end, paying_customers_end from marts.mrr_summary_daily "
        f"where summary_date = date '{AS_OF}'"
    ).fetchone()
    print(f"MRR on {AS_OF}: ours {mrr_end}, simulator {summary['mrr_usd']}")
    assert mrr_end.quantize(Decimal("0.01")) == Decimal(summary["mrr_usd"])
    assert paying == summary["paying_customers"]


def test_monthly_bridge_balances_and_matches_the_daily_one(warehouse):
    monthly = warehouse.execute(
        "select month, mrr_start, mrr_end, new_mrr, expansion_mrr, reactivation_mrr, "
        "contraction_mrr, churned_mrr, fx_adjustment from marts.mrr_summary_monthly order by 1"
    ).fetchall()
    previous_end = 0
    for month, start, end, new, expansion, reactivation, contraction, churn, fx in monthly:
        assert start == previous_end, month
        assert end == start + new + expansion + reactivation - contraction - churn + fx, month
        previous_end = end
    daily_by_month = dict(
        warehouse.execute(
            "select date_trunc('month', summary_date)::date, arg_max(mrr_end, summary_date) "
            "from marts.mrr_summary_daily group by 1"
        ).fetchall()
    )
    for month, _start, end, *_ in monthly:
        assert daily_by_month[month] == end, month
    print(f"{len(monthly)} months balance to the cent and agree with the daily bridge")
