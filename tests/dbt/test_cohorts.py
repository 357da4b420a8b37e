"""Cohorts (MRR_RULES.md "Cohorts") against the simulator's own ledger: for every cohort (the
month of a customer's first paid period) and every month since, the cohort's size, the
customers still paying at the month end (on the as-of date for the current month), the
cohort's starting MRR (at the end of its first month), the MRR it retains, and the two
ratios, recomputed from the ground truth and compared with the `all` rows of
cohort_retention_monthly exactly. Then the segments and the revenue cohorts, for consistency."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from tests.conftest import AS_OF

SIX_PLACES = Decimal("0.000001")


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
        create temp table truth_customers as
        select customer_id,
            cast(nullif(first_paid_date, '') as date) as first_paid_date,
            cast(nullif(cohort_month, '') as date) as cohort_month
        from read_csv('{truth / "customers.csv"}', all_varchar = true);
        """
    )
    yield connection
    connection.close()


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if denominator == 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(SIX_PLACES, ROUND_HALF_UP)


def _truth_cohorts(warehouse) -> dict[tuple, tuple]:
    """(cohort_month, month) -> (months_since_start, customers_at_start, customers_paying,
    logo_retention, starting_mrr, mrr_retained, net_mrr_retention), from the ground truth."""
    rows = warehouse.execute(
        f"""
        with customer_months as (
            select
                customers.customer_id,
                customers.cohort_month,
                cast(month.spine_at as date) as month,
                least(last_day(cast(month.spine_at as date)), date '{AS_OF}') as month_end
            from truth_customers as customers,
            generate_series(customers.cohort_month, date '{AS_OF}', interval 1 month)
                as month(spine_at)
            where customers.cohort_month is not null
        ),
        month_end_mrr as (
            select customer_months.*, coalesce((
                select c.mrr from truth_changes as c
                where c.customer_id = customer_months.customer_id
                    and c.change_date <= customer_months.month_end
                order by c.change_date desc limit 1
            ), 0) as mrr
            from customer_months
        )
        select
            cohort_month,
            month,
            count(*) as customers_at_start,
            count(*) filter (where mrr > 0) as customers_paying,
            sum(mrr) as mrr_retained
        from month_end_mrr
        group by cohort_month, month
        order by cohort_month, month
        """
    ).fetchall()
    starting = {cohort: mrr for cohort, month, _, _, mrr in rows if month == cohort}
    truth = {}
    for cohort, month, at_start, paying, retained in rows:
        since = (month.year - cohort.year) * 12 + month.month - cohort.month
        truth[(cohort, month)] = (
            since,
            at_start,
            paying,
            _ratio(paying, at_start),
            starting[cohort],
            retained,
            _ratio(retained, starting[cohort]),
        )
    return truth


COLUMNS = [
    "months_since_start",
    "customers_at_start",
    "customers_paying",
    "logo_retention",
    "starting_mrr",
    "mrr_retained",
    "net_mrr_retention",
]


def test_cohort_retention_equals_the_simulators(warehouse):
    truth = _truth_cohorts(warehouse)
    ours = {
        (cohort, month): tuple(values)
        for cohort, month, *values in warehouse.execute(
            f"select cohort_month, month, {', '.join(COLUMNS)} "
            "from marts.cohort_retention_monthly where segment = 'all'"
        ).fetchall()
    }
    qualities = dict(
        warehouse.execute(
            "select data_quality, count(*) from marts.cohort_retention_monthly group by 1"
        ).fetchall()
    )
    missing = sorted(set(truth) - set(ours))
    extra = sorted(set(ours) - set(truth))
    differ = [
        (key, column, truth[key][i], ours[key][i])
        for key in sorted(set(truth) & set(ours))
        for i, column in enumerate(COLUMNS)
        if truth[key][i] != ours[key][i]
    ]
    cells = len(set(truth) & set(ours)) * len(COLUMNS)
    cohorts = len({cohort for cohort, _ in truth})
    print(
        f"compared {cells:,} cells ({len(truth):,} cohort months of {cohorts} cohorts x "
        f"{len(COLUMNS)} columns) with the simulator's: {len(differ)} differ, "
        f"{len(missing)} missing, {len(extra)} extra; data_quality {qualities}"
    )
    assert cohorts > 12 and cells > 1000
    assert qualities == {"actual": sum(qualities.values())}
    assert not missing, missing[:10]
    assert not extra, extra[:10]
    assert not differ, "\n".join(str(row) for row in differ[:10])


def test_every_segment_kind_partitions_the_cohort(warehouse):
    # the plan segments, and the channel segments, add up to `all` in every cell
    mismatches = warehouse.execute(
        """
        with kinds as (
            select
                case when segment = 'all' then 'all' else split_part(segment, ':', 1) end as kind,
                cohort_month, month, customers_at_start, customers_paying, starting_mrr,
                mrr_retained
            from marts.cohort_retention_monthly
        ),
        totals as (
            select kind, cohort_month, month, sum(customers_at_start) as at_start,
                sum(customers_paying) as paying, sum(starting_mrr) as starting,
                sum(mrr_retained) as retained
            from kinds group by kind, cohort_month, month
        )
        select part.*, whole.*
        from totals as whole
        inner join totals as part
            on part.kind <> 'all' and whole.kind = 'all'
            and part.cohort_month = whole.cohort_month and part.month = whole.month
        where (part.at_start, part.paying, part.starting, part.retained)
            is distinct from (whole.at_start, whole.paying, whole.starting, whole.retained)
        """
    ).fetchall()
    segments = [
        segment
        for (segment,) in warehouse.execute(
            "select distinct segment from marts.cohort_retention_monthly order by 1"
        ).fetchall()
    ]
    print(f"segments {segments}: {len(mismatches)} cells where plans or channels != all")
    assert any(s.startswith("plan:") for s in segments)
    assert any(s.startswith("channel:") for s in segments)
    assert "plan:unknown" not in segments
    assert not mismatches, mismatches[:10]


def test_revenue_cohorts_add_up_to_the_revenue(warehouse):
    # every cohort's cumulative revenue at the as-of month is all its customers' revenue to date
    ours = dict(
        warehouse.execute(
            f"""
            select cohort_month, cumulative_net_revenue
            from marts.cohort_revenue_monthly
            where segment = 'all' and month = date_trunc('month', date '{AS_OF}')
            """
        ).fetchall()
    )
    expected = dict(
        warehouse.execute(
            f"""
            select truth.cohort_month, coalesce(sum(revenue.net_revenue_reporting), 0)
            from truth_customers as truth
            left join marts.fct_revenue as revenue
                on truth.customer_id = revenue.customer_id
                and revenue.revenue_date <= date '{AS_OF}'
            where truth.cohort_month is not null
            group by truth.cohort_month
            """
        ).fetchall()
    )
    running = warehouse.execute(
        """
        select count(*) from (
            select cumulative_net_revenue - coalesce(lag(cumulative_net_revenue) over (
                partition by segment, cohort_month order by month), 0) - net_revenue as gap
            from marts.cohort_revenue_monthly
        ) as steps
        where gap <> 0
        """
    ).fetchone()[0]
    print(
        f"compared the revenue to date of {len(expected)} cohorts; "
        f"{running} rows where cumulative != previous + month"
    )
    assert ours == expected
    assert running == 0
