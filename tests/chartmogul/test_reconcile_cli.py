"""`revwh reconcile`: the warehouse of the small run against the ChartMogul stand-in."""

import pytest
from typer.testing import CliRunner

from revwh.cli import app
from sandbox.chartmogul import ChartMogulStandIn
from tests.conftest import AS_OF, CHARTMOGUL_TEST_KEY

runner = CliRunner()


@pytest.fixture(scope="module")
def standin(small_world):
    with ChartMogulStandIn(small_world, as_of=AS_OF, api_key=CHARTMOGUL_TEST_KEY) as server:
        yield server


def _reconcile(warehouse, standin, *extra):
    return runner.invoke(
        app,
        [
            "reconcile",
            "--warehouse",
            str(warehouse),
            "--as-of",
            AS_OF.isoformat(),
            "--chartmogul-api-base",
            standin.url,
            *extra,
        ],
        env={"CHARTMOGUL_API_KEY": CHARTMOGUL_TEST_KEY, "COLUMNS": "200"},
    )


@pytest.fixture
def warehouse(small_warehouse_copy):
    return small_warehouse_copy


def test_the_same_business_passes(warehouse, standin):
    standin.set_behaviour(drift_percent=0, fail_next=0)
    result = _reconcile(warehouse, standin, "--days", "7", "--month-ends", "2")
    assert result.exit_code == 0, result.output
    assert "passed: 9 days compared" in result.output
    assert "25,266.99" in result.output


def test_a_drift_over_the_threshold_exits_1_and_names_the_customers(warehouse, standin):
    standin.set_behaviour(drift_percent=3, drift_customers=None)
    try:
        result = _reconcile(warehouse, standin, "--threshold", "2.5")
    finally:
        standin.set_behaviour(drift_percent=0)
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output and "Customers that explain the gap" in result.output


def test_an_unavailable_chartmogul_exits_1_with_the_reason(warehouse, standin):
    standin.set_behaviour(fail_next=100, fail_status=500)
    try:
        result = _reconcile(warehouse, standin)
    finally:
        standin.set_behaviour(fail_next=0)
    assert result.exit_code == 1
    assert "HTTP 500" in result.output and CHARTMOGUL_TEST_KEY not in result.output
