"""Contract validations (quality/) on the small world's warehouse (PostgreSQL: in
tests/test_postgres_reconciliation.py)."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from quality import (
    ContractValidation,
    build_suite,
    contract_tables,
    validate_contract_table,
)


@pytest.fixture(scope="module")
def warehouse(small_run):
    done, path, output = small_run
    assert done.returncode == 0, output
    return path


@pytest.fixture
def broken(warehouse, tmp_path):
    """A copy of the warehouse to break rows in."""
    copy = tmp_path / "broken.duckdb"
    shutil.copy(warehouse, copy)
    return copy


def test_contract_tables_cover_every_raw_contract():
    tables = {(t.dataset, t.table) for t in contract_tables()}
    assert ("raw_stripe", "invoices") in tables
    assert ("raw_app", "usage_daily") in tables
    assert ("raw_app", "app_db_rejects") in tables
    assert ("raw_chartmogul", "customers") in tables
    assert {d for d, _ in tables} == {
        "raw_stripe",
        "raw_app",
        "raw_fx",
        "raw_costs",
        "raw_chartmogul",
    }


def test_suite_expresses_the_contract():
    usage = next(t for t in contract_tables() if t.table == "usage_daily")
    suite = build_suite(usage)
    assert suite.name == usage.suite_name
    kinds = {(e.expectation_type, getattr(e, "column", None)) for e in suite.expectations}
    assert ("expect_column_to_exist", "usage_date") in kinds
    assert ("expect_column_values_to_not_be_null", "event_count") in kinds
    assert ("expect_column_values_to_be_in_set", "feature") in kinds
    assert ("expect_column_values_to_be_between", "event_count") in kinds
    assert ("expect_column_values_to_match_regex", "user_id") in kinds
    (compound,) = [e for e in suite.expectations if hasattr(e, "column_list")]
    assert compound.column_list == ["usage_date", "user_id", "feature"]


def test_every_contract_table_of_the_small_run_passes(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        results = [
            validate_contract_table(warehouse, t.dataset, t.table, connection=con)
            for t in contract_tables()
        ]
    finally:
        con.close()
    failed = [r.summary() for r in results if not r.passed]
    assert not failed, failed
    validated = [r for r in results if not r.skipped]
    assert len(validated) >= 15
    usage = next(r for r in validated if r.table == "usage_daily")
    assert usage.rows > 10_000 and usage.expectations == 17
    assert "passed" in usage.summary()
    json.dumps(usage.metadata())


def _failure(result: ContractValidation, expectation: str, column: str):
    matches = [f for f in result.failures if f.expectation == expectation and f.column == column]
    assert matches, result.summary()
    return matches[0]


def test_broken_rows_fail_with_the_right_expectation(broken):
    con = duckdb.connect(str(broken))
    # dlt declares the contract's non-null columns NOT NULL: lift it to break the rows
    con.execute("alter table raw_app.usage_daily alter column event_count drop not null")
    # a duplicate of the first row's key, far from it (appended at the end of the table)
    con.execute("insert into raw_app.usage_daily select * from raw_app.usage_daily where rowid = 0")
    con.execute("update raw_app.usage_daily set event_count = null where rowid in (1, 2, 3)")
    con.execute("update raw_app.usage_daily set feature = 'teleport' where rowid in (7, 9000)")
    con.close()

    result = validate_contract_table(broken, "raw_app", "usage_daily", chunk_rows=2048)
    assert not result.passed and not result.skipped
    assert (
        _failure(result, "expect_column_values_to_not_be_null", "event_count").unexpected_count == 3
    )
    in_set = _failure(result, "expect_column_values_to_be_in_set", "feature")
    assert in_set.unexpected_count == 2 and in_set.examples == ("teleport", "teleport")
    key = _failure(result, "expect_compound_columns_to_be_unique", "usage_date,user_id,feature")
    assert key.unexpected_count == 2  # both rows of the duplicated key
    assert len(key.examples) == 1
    assert key.examples[0].split("|")[1].startswith("usr_")
    assert len(result.failures) == 3, result.summary()

    meta = result.metadata()
    assert meta["failed"] == 3
    assert meta["expect_column_values_to_not_be_null:event_count"] == 3
    json.dumps(meta)
    assert "FAILED" in result.summary() and "teleport" in result.summary()


def test_single_column_key_and_regex(broken):
    con = duckdb.connect(str(broken))
    con.execute("update raw_stripe.invoices set currency = 'EURO' where rowid = 0")
    con.execute("insert into raw_stripe.invoices select * from raw_stripe.invoices where rowid = 5")
    con.close()
    result = validate_contract_table(broken, "raw_stripe", "invoices", chunk_rows=512)
    regex = _failure(result, "expect_column_values_to_match_regex", "currency")
    assert regex.unexpected_count == 1 and regex.examples == ("EURO",)
    assert _failure(result, "expect_column_values_to_be_unique", "id").unexpected_count == 2


def test_missing_column_fails_exists(broken):
    con = duckdb.connect(str(broken))
    con.execute("alter table raw_stripe.refunds drop column charge")
    con.close()
    result = validate_contract_table(broken, "raw_stripe", "refunds")
    failure = _failure(result, "expect_column_to_exist", "charge")
    assert failure.unexpected_count == result.rows
    assert len(result.failures) == 1


def test_chunked_equals_unchunked(broken):
    con = duckdb.connect(str(broken))
    con.execute("update raw_app.users set email = 'nobody' where rowid % 97 = 0")
    con.close()
    whole = validate_contract_table(broken, "raw_app", "users", chunk_rows=10_000_000)
    chunked = validate_contract_table(broken, "raw_app", "users", chunk_rows=2048)
    assert not whole.passed
    assert chunked.failures == whole.failures
    assert (chunked.rows, chunked.expectations) == (whole.rows, whole.expectations)


def test_missing_table_is_skipped(warehouse):
    result = validate_contract_table(warehouse, "raw_fx", "fx_rate_rejects")
    assert result.passed and result.skipped
    assert "does not exist" in result.reason
    assert result.metadata()["skipped"] is True


def test_missing_warehouse_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        validate_contract_table(tmp_path / "nope.duckdb", "raw_stripe", "invoices")
