"""PostgreSQL as the warehouse: one `revwh run --reconcile` of the small world into a fresh
database (loads, every dbt model, the ChartMogul load, the reconciliation's models and its
check, the contract checks validated in PostgreSQL), then the same answers as on DuckDB:
every mart value for value, the reconciliation row for row, the contract checks with the
same failures."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import psycopg2
import pytest
from dagster import AssetSelection, DagsterInstance, Definitions, define_asset_job

from alerts.reconciliation import read_result
from core.warehouse import Warehouse
from orchestration.definitions import load
from orchestration.defs.quality.contracts import contract_asset_key, contract_checks
from orchestration.defs.resources import run_resources
from orchestration.lib.resources import RunSettingsResource
from quality import contract_tables, validate_contract_table
from revwh.pipeline import Inputs, run_pipeline
from sandbox.chartmogul import ChartMogulStandIn
from tests.conftest import AS_OF, CHARTMOGUL_TEST_KEY
from tests.dbt.marts import MARTS, mart_columns, mart_rows
from tests.postgres import fresh_database

pytestmark = pytest.mark.postgres

DAILY = (
    "select metric_date, period, our_mrr, chartmogul_mrr, variance, variance_percent, status, "
    "currency, threshold_percent from marts.chartmogul_reconciliation where as_of = '{}' "
    "order by metric_date"
)


@pytest.fixture(scope="module")
def postgres_run(small_world):
    """The small world's `revwh run --reconcile` into a fresh PostgreSQL database."""
    with (
        fresh_database("revwh_reconcile") as url,
        ChartMogulStandIn(small_world, as_of=AS_OF, api_key=CHARTMOGUL_TEST_KEY) as chartmogul,
    ):
        result = run_pipeline(
            Inputs.from_world(small_world),
            AS_OF,
            url,
            reconcile=True,
            chartmogul_api_base=chartmogul.url,
            chartmogul_api_key=CHARTMOGUL_TEST_KEY,
            publish=False,
        )
        yield url, result


def _pg(url: str):
    return psycopg2.connect(Warehouse.of(url).url)


def test_postgres_builds_the_same_marts_as_duckdb(postgres_run, small_run):
    url, result = postgres_run
    assert result.ok, "\n".join(result.problems())
    done, small_warehouse, output = small_run
    assert done.returncode == 0, output
    ours = duckdb.connect(str(small_warehouse), read_only=True)
    theirs = _pg(url)
    try:
        for mart in MARTS:
            columns = mart_columns(ours, mart)
            duck_rows = mart_rows(ours, mart, columns)
            pg_rows = mart_rows(theirs, mart, columns)
            differ = [(a, b) for a, b in zip(duck_rows, pg_rows, strict=False) if a != b]
            print(
                f"{mart}: {len(duck_rows):,} rows on DuckDB, {len(pg_rows):,} on "
                f"PostgreSQL, {len(differ)} differ"
            )
            assert len(duck_rows) == len(pg_rows), mart
            assert not differ, f"{mart}: {differ[:3]}"
    finally:
        ours.close()
        theirs.close()


def test_reconciles_on_postgres_as_on_duckdb(postgres_run, small_run):
    url, result = postgres_run
    assert result.ok, "\n".join(result.problems())
    assert result.reconciliation is not None and result.reconciliation.passed
    assert "every one equal to the cent" in result.reconciliation.message

    reconciliation = read_result(url, AS_OF)
    assert reconciliation.passed and reconciliation.max_abs_variance_percent == 0
    assert [r.period for r in reconciliation.rows].count("day") == 30
    assert [r.period for r in reconciliation.rows].count("month_end") == 12
    assert reconciliation.rows[-1].our_mrr == Decimal("25266.99")

    # the same rows as the DuckDB warehouse of the same run
    done, duck_path, output = small_run
    assert done.returncode == 0, output
    with duckdb.connect(str(duck_path), read_only=True) as duck:
        on_duckdb = duck.execute(DAILY.format(AS_OF)).fetchall()
    pg = _pg(url)
    try:
        with pg.cursor() as cur:
            cur.execute(DAILY.format(AS_OF))
            on_postgres = cur.fetchall()
            cur.execute("select count(*) from marts.chartmogul_reconciliation_customers")
            customers = cur.fetchone()[0]
    finally:
        pg.close()
    assert on_postgres == on_duckdb and len(on_postgres) == 42
    assert customers == 0  # nobody differs


def test_contract_checks_run_on_postgres(postgres_run):
    url, result = postgres_run
    assert result.ok, "\n".join(result.problems())

    # every contract table of the run validates in the database, none skipped as "not run"
    results = [validate_contract_table(url, t.dataset, t.table) for t in contract_tables()]
    failed = [r.summary() for r in results if not r.passed]
    assert not failed, failed
    validated = {r.name for r in results if not r.skipped}
    assert {"raw_stripe.invoices", "raw_app.usage_daily", "raw_chartmogul.customers"} <= validated
    usage = next(r for r in results if r.table == "usage_daily")
    assert usage.rows > 10_000 and usage.expectations == 17

    # the Dagster checks say the same, with the numbers in their metadata
    keys = [
        contract_asset_key("raw_fx", "fx_rates"),
        contract_asset_key("raw_chartmogul", "mrr_metrics"),
    ]
    checks = [c for c in contract_checks() if {k.asset_key for k in c.check_keys} & set(keys)]
    job = define_asset_job("contracts", selection=AssetSelection.checks(*checks))
    definitions = Definitions(
        assets=list({id(a): a for a in load().assets or []}.values()),
        asset_checks=checks,
        jobs=[job],
        resources=run_resources(run_settings=RunSettingsResource(warehouse=url)),
    )
    with DagsterInstance.ephemeral() as instance:
        run = definitions.resolve_job_def("contracts").execute_in_process(instance=instance)
    evaluations = run.get_asset_check_evaluations()
    assert len(evaluations) == 2 and all(e.passed for e in evaluations)
    for evaluation in evaluations:
        assert evaluation.metadata["rows"].value > 0
        assert "skipped" not in evaluation.metadata

    # broken rows fail with the same expectations and counts as on DuckDB
    pg = _pg(url)
    try:
        pg.autocommit = True
        with pg.cursor() as cur:
            cur.execute(
                "update raw_stripe.invoices set currency = 'EURO' "
                "where id = (select min(id) from raw_stripe.invoices)"
            )
            # a second row with the last invoice's id (dlt's own row key stays unique)
            cur.execute(
                "create temp table duplicate as select * from raw_stripe.invoices "
                "where id = (select max(id) from raw_stripe.invoices)"
            )
            cur.execute("update duplicate set _dlt_id = _dlt_id || '_copy'")
            cur.execute("insert into raw_stripe.invoices select * from duplicate")
    finally:
        pg.close()
    broken = validate_contract_table(url, "raw_stripe", "invoices")
    assert not broken.passed
    by_kind = {(f.expectation, f.column): f for f in broken.failures}
    regex = by_kind[("expect_column_values_to_match_regex", "currency")]
    assert regex.unexpected_count == 1 and regex.examples == ("EURO",)
    assert by_kind[("expect_column_values_to_be_unique", "id")].unexpected_count == 2
    assert len(broken.failures) == 2, broken.summary()


MART_COMMENTS_PG = """
    select c.relname, a.attname, obj_description(c.oid, 'pg_class'),
           col_description(c.oid, a.attnum)
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    where n.nspname = 'marts' and c.relkind in ('r', 'v', 'm', 'p')
    order by 1, 2
"""
MART_COMMENTS_DUCKDB = """
    select c.table_name, c.column_name, t.comment, c.comment
    from duckdb_columns() c
    join duckdb_tables() t using (database_name, schema_name, table_name)
    where c.schema_name = 'marts' and c.database_name = current_database()
    order by 1, 2
"""


def test_mart_descriptions_are_comments_on_postgres_as_on_duckdb(postgres_run, small_run):
    """persist_docs: every mart's and mart column's description from the YAML is a comment in
    PostgreSQL (pg_description), the same as in the DuckDB warehouse."""
    url, result = postgres_run
    assert result.ok, "\n".join(result.problems())
    pg = _pg(url)
    try:
        with pg.cursor() as cur:
            cur.execute(MART_COMMENTS_PG)
            on_postgres = cur.fetchall()
    finally:
        pg.close()
    done, duck_path, output = small_run
    assert done.returncode == 0, output
    with duckdb.connect(str(duck_path), read_only=True) as duck:
        on_duckdb = duck.execute(MART_COMMENTS_DUCKDB).fetchall()

    assert len(on_postgres) > 300
    undescribed = [f"{table}.{column}" for table, column, _, text in on_postgres if not text]
    assert not undescribed, undescribed
    assert not [table for table, _, text, _ in on_postgres if not text]
    assert on_postgres == on_duckdb


def test_source_freshness_reads_dlts_load_ids_on_postgres(postgres_run):
    """The freshness expression (to_timestamp of the text load id) runs on PostgreSQL as on
    DuckDB: every checked raw table was loaded by this run, minutes ago."""
    from core.settings import RunSettings
    from orchestration.lib.dbt import source_freshness

    url, result = postgres_run
    assert result.ok, "\n".join(result.problems())
    answers = source_freshness(url, RunSettings.of(AS_OF))
    assert len(answers) >= 19
    assert {a.status for a in answers} == {"pass"}, [a.describe() for a in answers]
    assert all(a.age_seconds is not None and a.age_seconds < 3600 for a in answers)
