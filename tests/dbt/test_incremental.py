"""Incremental MRR: a run after new loads rebuilds only the customers that changed, picks
up late changes (a back-dated cancellation), never duplicates, and ends where a full
refresh ends."""

from __future__ import annotations

import calendar
import time
from datetime import timedelta

import duckdb
import pytest

from core.settings import RunSettings
from orchestration.lib.dbt import run_dbt
from tests.conftest import AS_OF
from tests.dbt.marts import MARTS, mart_columns, mart_rows

# The full refreshes below only give the marts to compare with the incremental build's,
# whose data tests ran on them already; equal marts would pass the same tests again.
DATA_TESTS = ("test_type:data",)


def _snapshot(db) -> dict[str, list[tuple[str, ...]]]:
    connection = duckdb.connect(str(db), read_only=True)
    try:
        return {mart: mart_rows(connection, mart, mart_columns(connection, mart)) for mart in MARTS}
    finally:
        connection.close()


def _new_load_id(connection) -> str:
    """Register a load the way dlt does, so its id becomes the newest watermark."""
    load_id = f"{time.time():.6f}"
    connection.execute(
        "insert into raw_stripe._dlt_loads (load_id, schema_name, status, inserted_at, "
        "schema_version_hash) select ?, schema_name, 0, now(), schema_version_hash "
        "from raw_stripe._dlt_loads limit 1",
        [load_id],
    )
    return load_id


@pytest.fixture
def warehouse(small_warehouse_copy):
    return small_warehouse_copy


def test_an_incremental_run_without_new_data_changes_nothing(warehouse):
    before = _snapshot(warehouse)
    result = run_dbt(warehouse, RunSettings.of(AS_OF))
    assert result.success, result.describe_failures()
    assert _snapshot(warehouse) == before


def test_a_back_dated_cancellation_is_picked_up_and_matches_a_full_refresh(warehouse):
    connection = duckdb.connect(str(warehouse))
    ended = AS_OF - timedelta(days=20)
    # a paying monthly customer whose subscription is cancelled 20 days before the as-of
    # date, recorded only now (a late-arriving change)
    subscription_id, customer_id = connection.execute(
        """
        select s.id, c.customer_id
        from raw_stripe.subscriptions as s
        join marts.dim_customers as c on c.stripe_customer_id = s.customer
        where s.status = 'active' and c.status = 'active' and s.created < ?
            and s.customer in (
                select customer from raw_stripe.subscriptions
                group by customer having count(*) filter (where status = 'active') = 1)
        order by s.id limit 1
        """,
        [calendar.timegm((ended - timedelta(days=60)).timetuple())],
    ).fetchone()
    ended_epoch = calendar.timegm(ended.timetuple()) + 3600
    connection.execute(
        "update raw_stripe.subscriptions set status = 'canceled', ended_at = ?, "
        "canceled_at = ?, _dlt_load_id = ? where id = ?",
        [ended_epoch, ended_epoch, _new_load_id(connection), subscription_id],
    )
    # and a late refund of the customer's latest charge, loaded in the same run
    connection.execute(
        """
        insert into raw_stripe.refunds by name
        select * replace (
            'py_late_refund' as id, charges.id as charge, 500 as amount,
            charges.currency as currency, ? as created, ? as _dlt_load_id,
            'py_late_refund' as _dlt_id)
        from (select * from raw_stripe.refunds limit 1) as template,
            (select id, currency from raw_stripe.charges
             where customer = (select customer from raw_stripe.subscriptions where id = ?)
                and status = 'succeeded'
             order by created desc limit 1) as charges
        """,
        [
            ended_epoch,
            connection.execute("select max(load_id) from raw_stripe._dlt_loads").fetchone()[0],
            subscription_id,
        ],
    )
    untouched = connection.execute(
        "select count(*) from intermediate.int_mrr__customer_days where customer_id <> ?",
        [customer_id],
    ).fetchone()[0]
    connection.close()

    incremental = run_dbt(warehouse, RunSettings.of(AS_OF))
    assert incremental.success, incremental.describe_failures()
    after_incremental = _snapshot(warehouse)
    connection = duckdb.connect(str(warehouse), read_only=True)
    churn = connection.execute(
        "select movement_date, movement_type from marts.fct_mrr_movements "
        "where customer_id = ? order by movement_date desc limit 1",
        [customer_id],
    ).fetchone()
    rows_of_others = connection.execute(
        "select count(*) from intermediate.int_mrr__customer_days where customer_id <> ?",
        [customer_id],
    ).fetchone()[0]
    connection.close()
    assert churn == (ended, "churn")
    assert rows_of_others == untouched  # nobody else duplicated or lost

    full = run_dbt(warehouse, RunSettings.of(AS_OF), full_refresh=True, exclude=DATA_TESTS)
    assert full.success, full.describe_failures()
    assert _snapshot(warehouse) == after_incremental
    print(
        f"back-dated cancellation of {subscription_id} on {ended}: churn picked up "
        "incrementally, marts equal to a full refresh"
    )


def test_a_changed_setting_rebuilds_every_customer(warehouse):
    requested = run_dbt(warehouse, RunSettings.of(AS_OF, {"churn_recognition": "requested"}))
    assert requested.success, requested.describe_failures()
    after_setting = _snapshot(warehouse)
    full = run_dbt(
        warehouse,
        RunSettings.of(AS_OF, {"churn_recognition": "requested"}),
        full_refresh=True,
        exclude=DATA_TESTS,
    )
    assert full.success, full.describe_failures()
    assert _snapshot(warehouse) == after_setting
