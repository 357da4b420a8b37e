"""The MetricFlow semantic layer (dbt_project/models/semantic/): its configs validate against
the small world's warehouse, and `mf query` answers with the marts' numbers (MRR as a stock
at the end of each month, the bridge's flows, the rates as ratios of monthly sums, LTV over
the six full months before)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from revwh.semantic import mf_env, prepare_semantic_layer
from tests.conftest import AS_OF

MF = Path(sys.executable).parent / "mf"


@dataclass
class SemanticLayer:
    warehouse: Path
    project: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def semantic_layer(small_warehouse, tmp_path_factory) -> SemanticLayer:
    """`dbt parse` (the semantic manifest) for a copy of the small warehouse: `mf` opens its
    warehouse read-write, and other tests read the shared file."""
    folder = tmp_path_factory.mktemp("semantic")
    warehouse = folder / small_warehouse.name
    shutil.copy(small_warehouse, warehouse)
    project = prepare_semantic_layer(str(warehouse), AS_OF)
    return SemanticLayer(warehouse, project, mf_env(str(warehouse), project))


def mf(layer: SemanticLayer, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(MF), *args],
        cwd=cwd,  # an unrelated folder: mf finds the project through DBT_PROJECT_DIR
        env=layer.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


FLOWS = [
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churned_mrr",
    "fx_adjustment",
]
RATES = ["customer_churn_rate", "nrr", "grr"]
# one `mf query` for every test (each mf start costs seconds); mrr first, as the issue asks
METRICS = ["mrr", *FLOWS, *RATES, "arr", "arpa", "ltv", "cac", "trial_conversion_rate"]


def query(layer: SemanticLayer, metrics: list[str], tmp_path: Path) -> dict[date, dict]:
    """`mf query --metrics ... --group-by metric_time__month`, as {month: {metric: text}}."""
    out = tmp_path / "result.csv"
    mf(
        layer,
        "query",
        "--metrics",
        ",".join(metrics),
        "--group-by",
        "metric_time__month",
        "--csv",
        str(out),
        "--quiet",
        cwd=tmp_path,
    )
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {date.fromisoformat(row["metric_time__month"][:10]): row for row in rows}


@pytest.fixture(scope="module")
def monthly(semantic_layer, tmp_path_factory) -> dict[date, dict]:
    return query(semantic_layer, METRICS, tmp_path_factory.mktemp("mf_query"))


def marts(layer: SemanticLayer, sql: str) -> list[tuple]:
    with duckdb.connect(str(layer.warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_semantic_configs_validate_against_the_warehouse(semantic_layer, tmp_path):
    manifest = semantic_layer.project / "target" / "semantic_manifest.json"
    assert manifest.is_file()
    done = mf(semantic_layer, "validate-configs", cwd=tmp_path)
    output = done.stdout + done.stderr
    assert "ERRORS: 0" in output and "Successfully validated metrics against data warehouse" in (
        output
    ), output


def test_monthly_mrr_is_the_month_end_mrr_of_the_summary(semantic_layer, monthly):
    result = monthly
    expected = dict(marts(semantic_layer, "select month, mrr_end from marts.mrr_summary_monthly"))
    assert set(expected) <= set(result)
    # months of other metrics only (sign-ups before the first paid month) have no MRR
    assert all(result[month]["mrr"] == "" for month in set(result) - set(expected))
    # a stock: the last day of the month (the as-of date for the current one), to the cent
    last = max(expected)
    assert last == AS_OF.replace(day=1)
    assert Decimal(result[last]["mrr"]) == expected[last]
    for month, mrr_end in expected.items():
        assert Decimal(result[month]["mrr"]) == mrr_end, month
    # and not the sum of the days
    (day_sum,) = marts(
        semantic_layer,
        f"select sum(mrr_end) from marts.mrr_summary_daily where summary_date >= '{last}'",
    )[0]
    assert AS_OF.day == 1 or Decimal(result[last]["mrr"]) != day_sum


def test_flows_rates_and_ltv_match_the_marts(semantic_layer, monthly):
    flows, rates, result = FLOWS, RATES, monthly
    rows = marts(
        semantic_layer,
        f"select month, {', '.join(flows)}, {', '.join(rates)}, arr, mrr_end, "
        "paying_customers_end from marts.mrr_summary_monthly order by month",
    )
    assert len(rows) > 12
    for row in rows:
        month, values = row[0], dict(zip([*flows, *rates, "arr"], row[1:], strict=False))
        got = result[month]
        for flow in flows:  # sums of DECIMAL: exact
            assert Decimal(got[flow] or "0") == values[flow], (month, flow)
        assert Decimal(got["arr"]) == values["arr"], month
        for rate in rates:  # the marts round rates to 6 places
            if values[rate] is None:
                assert got[rate] == "", (month, rate)
            else:
                assert abs(Decimal(got[rate]) - values[rate]) <= Decimal("0.0000005"), (
                    month,
                    rate,
                )

    # LTV = ARPA at the month's end / churn pooled over the six full months before it
    parts = {
        month: (lost, paying_start)
        for month, lost, paying_start in marts(
            semantic_layer,
            "select month, sum(case when is_paying_start and not is_paying_end then 1 else 0 "
            "end), sum(case when is_paying_start then 1 else 0 end) "
            "from marts.fct_mrr_monthly group by month",
        )
    }
    checked = 0
    for row in rows:
        month, mrr_end, paying_end = row[0], row[-2], row[-1]
        before = [
            m
            for m in parts
            if m < month and (month.year - m.year) * 12 + month.month - m.month <= 6
        ]
        lost = sum(parts[m][0] for m in before)
        paying_start = sum(parts[m][1] for m in before)
        if not lost or not paying_end:
            assert result[month]["ltv"] == "", month
            continue
        expected = mrr_end / paying_end * paying_start / lost
        assert abs(Decimal(result[month]["ltv"]) - expected) <= expected * Decimal("1e-9"), month
        checked += 1
    assert checked >= 6


def test_acquisition_metrics_match_the_marts(semantic_layer, monthly):
    result = monthly
    cac = marts(
        semantic_layer,
        "select month, cac from marts.unit_economics_monthly where segment = 'all'",
    )
    conversion = marts(
        semantic_layer, "select month, trial_conversion_rate from marts.activation_monthly"
    )
    assert any(value is not None for _, value in cac)
    assert any(value is not None for _, value in conversion)
    for rows, metric, places in (
        (cac, "cac", "0.00005"),
        (conversion, "trial_conversion_rate", "0.0000005"),
    ):
        for month, value in rows:
            got = result.get(month, {}).get(metric, "")
            if value is None:
                assert got == "", (month, metric)
            else:
                assert abs(Decimal(got) - value) <= Decimal(places), (month, metric)
