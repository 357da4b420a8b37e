"""The KPI table (marts.kpis), its JSON export and the paths where a KPI cannot be actual:
no cost sheets, no usage data, a month without costs (estimated only when allowed), fewer
than three months of history and a currency without exchange rates. (The estimated LTV of a
short history is a dbt unit test: the small world has no churn in its first months.) Each path is a copy of
the small world's warehouse whose raw data is changed, rebuilt by dbt for real."""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from core.settings import RunSettings
from orchestration.lib.dbt import run_dbt
from tests.conftest import AS_OF, revwh
from tests.dbt.conftest import rebuilt_copy

COST_KPIS = ("cac", "burn_rate", "net_burn", "gross_margin", "sales_efficiency")
NEEDS_COSTS = (*COST_KPIS, "clv_cac_ratio", "cac_payback_months")
CATALOGUE = [
    "mrr",
    "arr",
    "arpa",
    "paying_customers",
    "mrr_growth_rate",
    "customer_churn_rate",
    "gross_mrr_churn_rate",
    "net_mrr_churn_rate",
    "nrr",
    "grr",
    "quick_ratio",
    "ltv",
    "cac",
    "clv_cac_ratio",
    "cac_payback_months",
    "burn_rate",
    "net_burn",
    "gross_margin",
    "sales_efficiency",
    "trial_conversion_rate",
    "avg_days_to_convert",
    "avg_days_to_first_value",
]


def _query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        return connection.execute(sql, params or []).fetchall()
    finally:
        connection.close()


def _kpis_on(warehouse: Path, day: date, segment: str = "all") -> dict[str, tuple]:
    rows = _query(
        warehouse,
        "select kpi, value, data_quality, reason, method from marts.kpis"
        " where date = ? and segment = ?",
        [day, segment],
    )
    return {kpi: rest for kpi, *rest in rows}


def test_every_kpi_is_reported_on_the_as_of_date(small_warehouse):
    kpis = _kpis_on(small_warehouse, AS_OF)
    assert sorted(kpis) == sorted(CATALOGUE)
    for kpi, (value, quality, reason, method) in kpis.items():
        print(f"{kpi:<24} {value!s:>16} {quality:<18} {reason or ''}")
        assert method is None, kpi  # estimates are off by default
        assert (value is None) == (quality == "insufficient_data"), kpi
        assert (reason is None) == (quality == "actual"), kpi
    # with every input loaded, the MRR and cost KPIs are actual on the as-of date
    for kpi in ("mrr", "arr", "arpa", "paying_customers", "nrr", "grr", "ltv", *NEEDS_COSTS):
        assert kpis[kpi][1] == "actual", kpi
    # MRR is kept to 1/100 of a cent; the simulator states it in cents
    assert kpis["mrr"][0].quantize(Decimal("0.01"), ROUND_HALF_UP) == Decimal("25266.99")
    assert kpis["paying_customers"][0] == 153


def test_kpis_equal_the_marts_they_come_from(small_warehouse):
    differences = _query(
        small_warehouse,
        """
        select 'mrr', count(*) from marts.kpis as k
        join marts.mrr_summary_daily as d on d.summary_date = k.date
        where k.kpi = 'mrr' and k.segment = 'all' and k.value is distinct from d.mrr_end
        union all
        select 'nrr', count(*) from marts.kpis as k
        join marts.mrr_summary_monthly as m on k.date = least(last_day(m.month), date '2026-11-15')
        where k.kpi = 'nrr' and k.segment = 'all' and k.value is distinct from m.nrr
        union all
        select 'cac', count(*) from marts.kpis as k
        join marts.unit_economics_monthly as u
            on k.date = least(last_day(u.month), date '2026-11-15') and k.segment = u.segment
        where k.kpi = 'cac' and k.value is distinct from u.cac
        union all
        select 'ltv', count(*) from marts.kpis as k
        join marts.clv_segments_monthly as c on k.date = c.report_date and k.segment = c.segment
        where k.kpi = 'ltv' and k.value is distinct from c.ltv
        """,
    )
    assert dict(differences) == {"mrr": 0, "nrr": 0, "cac": 0, "ltv": 0}


def test_ltv_is_arpa_over_the_six_month_churn_rate(small_warehouse):
    """MRR_RULES.md: LTV = ARPA / customer churn rate averaged over the six full months before."""
    months = _query(
        small_warehouse,
        "select month, mrr_end, paying_customers_end, customer_churn_rate"
        " from marts.mrr_summary_monthly order by month",
    )
    by_month = {m: (mrr, paying, churn) for m, mrr, paying, churn in months}
    current = AS_OF.replace(day=1)
    window = [m for m in by_month if m < current][-6:]
    assert len(window) == 6
    average = (sum(by_month[m][2] for m in window) / 6).quantize(Decimal("0.000001"), ROUND_HALF_UP)
    mrr, paying, _ = by_month[current]
    arpa = (mrr / paying).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    expected = (arpa / average).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    print(f"ARPA {arpa} / churn {average} = LTV {expected}")
    assert _kpis_on(small_warehouse, AS_OF)["ltv"][0] == expected
    (clv,) = _query(
        small_warehouse,
        "select ltv from marts.clv_segments_monthly where segment = 'all' and month = ?",
        [current],
    )
    assert clv[0] == expected


def test_export_writes_the_range_as_json(small_warehouse, tmp_path):
    out = tmp_path / "kpis.json"
    done = revwh(
        "kpis",
        "export",
        "--start",
        "2026-10-01",
        "--end",
        AS_OF.isoformat(),
        "--out",
        str(out),
        "--warehouse",
        str(small_warehouse),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(out.read_text())
    assert set(document) == {"start", "end", "kpis"}
    assert (document["start"], document["end"]) == ("2026-10-01", AS_OF.isoformat())
    (count,) = _query(
        small_warehouse,
        "select count(*) from marts.kpis where date between '2026-10-01' and ?",
        [AS_OF],
    )
    assert len(document["kpis"]) == count[0] > 0
    keys = {"date", "kpi", "segment", "value", "unit", "target", "data_quality", "reason", "method"}
    for record in document["kpis"]:
        assert set(record) == keys
        assert "2026-10-01" <= record["date"] <= AS_OF.isoformat()
        assert record["kpi"] in CATALOGUE
        assert record["data_quality"] in ("actual", "estimated", "insufficient_data")
        assert (record["value"] is None) == (record["data_quality"] == "insufficient_data")
        assert record["value"] is None or isinstance(record["value"], int | float)
        assert isinstance(record["unit"], str)
    mrr = [r for r in document["kpis"] if r["kpi"] == "mrr" and r["segment"] == "all"]
    assert mrr[-1] == {**mrr[-1], "date": AS_OF.isoformat(), "value": 25266.9899, "unit": "USD"}
    # to stdout, and a clear error for a warehouse that is not there
    printed = revwh(
        "kpis", "export", "--start", "2026-11-15", "--end", "2026-11-15",
        "--warehouse", str(small_warehouse), cwd=tmp_path,
    )  # fmt: skip
    assert printed.returncode == 0 and json.loads(printed.stdout)["kpis"]
    missing = revwh(
        "kpis", "export", "--start", "2026-11-01", "--end", "2026-11-15",
        "--warehouse", str(tmp_path / "none.duckdb"), cwd=tmp_path,
    )  # fmt: skip
    assert missing.returncode == 1 and "no warehouse at" in missing.stdout + missing.stderr


def test_no_costs_and_no_usage_are_insufficient_data_even_with_estimates(bare_warehouse):
    kpis = _kpis_on(bare_warehouse, AS_OF)
    for kpi in NEEDS_COSTS:
        value, quality, reason, method = kpis[kpi]
        print(kpi, quality, reason)
        assert value is None and quality == "insufficient_data" and method is None, kpi
        assert "no cost sheets loaded" in reason, kpi
    value, quality, reason, _ = kpis["avg_days_to_first_value"]
    assert value is None and quality == "insufficient_data" and "no usage" in reason
    # what needs neither input stays actual
    for kpi in ("mrr", "arr", "arpa", "paying_customers", "nrr", "ltv"):
        assert kpis[kpi][1] == "actual", kpi
    # the whole history: no cost-based KPI has a value on any day, in any segment
    (valued,) = _query(
        bare_warehouse,
        "select count(*) from marts.kpis where value is not null and kpi in ?",
        [list(NEEDS_COSTS)],
    )
    assert valued[0] == 0


def test_a_month_without_costs_is_estimated_only_when_allowed(small_warehouse, tmp_path):
    warehouse = rebuilt_copy(
        small_warehouse,
        tmp_path / "late_costs.duckdb",
        [f"delete from raw_costs.cost_sheet_rows where cost_date >= '{AS_OF:%Y-%m-01}'"],
        AS_OF,
        full_refresh=False,
        select="int_costs__rows_reporting+",
    )
    before = _kpis_on(warehouse, AS_OF)
    for kpi in COST_KPIS:
        value, quality, reason, method = before[kpi]
        assert value is None and quality == "insufficient_data", kpi
        assert "no cost sheets loaded for this month" in reason, kpi

    result = run_dbt(
        warehouse,
        RunSettings.of(AS_OF, {"allow_estimates": True}),
        select="clv_segments_monthly+",
    )
    assert result.success, result
    after = _kpis_on(warehouse, AS_OF)
    history = _query(
        warehouse,
        "select kpi, value from marts.kpis where segment = 'all' and kpi in ?"
        " and date in ('2026-08-31', '2026-09-30', '2026-10-31')",
        [list(COST_KPIS)],
    )
    for kpi in COST_KPIS:
        value, quality, reason, method = after[kpi]
        values = [v for k, v in history if k == kpi]
        expected = (sum(values) / len(values)).quantize(Decimal("0.000001"), ROUND_HALF_UP)
        print(f"{kpi:<18} {value} (previous three: {values}) {method}")
        assert quality == "estimated" and value == expected, kpi
        assert "average of the 3 previous month(s)" in method, kpi
        assert "no cost sheets loaded for this month" in reason, kpi
    # a plan has no CAC of its own: its CLV:CAC uses the blended CAC, marked as estimated
    value, quality, _, method = _kpis_on(warehouse, AS_OF, "plan:growth")["clv_cac_ratio"]
    assert value is not None and quality == "estimated" and "blended CAC" in method
    # actual values stay actual
    assert after["mrr"] == before["mrr"] and after["ltv"][1] == "actual"


@pytest.fixture(scope="module")
def young_warehouse(small_warehouse, tmp_path_factory) -> Path:
    """Two and a half months into the business, and no exchange rate for EUR at all."""
    return rebuilt_copy(
        small_warehouse,
        tmp_path_factory.mktemp("young") / "young.duckdb",
        ["delete from raw_fx.fx_rates where currency = 'EUR'"],
        date(2025, 1, 20),
    )


def test_short_history_and_a_currency_without_rates(young_warehouse):
    day = date(2025, 1, 20)
    kpis = _kpis_on(young_warehouse, day)
    value, quality, reason, _ = kpis["ltv"]
    print("ltv", quality, reason)
    assert value is None and quality == "insufficient_data"
    assert "MRR lacks an exchange rate" in reason or "fewer than 3 full months" in reason
    # channel segments without EUR customers show the history rule alone
    reasons = _query(
        young_warehouse,
        "select distinct reason from marts.kpis where kpi = 'ltv' and date = ?",
        [day],
    )
    assert any(r and "fewer than 3 full months" in r for (r,) in reasons), reasons
    assert not _query(
        young_warehouse,
        "select 1 from marts.kpis where kpi = 'ltv' and value is not null and date <= ?",
        [day],
    )
    # the EUR customer's MRR cannot be converted: company MRR is unknown, never a guess
    for kpi in ("mrr", "arr", "arpa"):
        value, quality, reason, _ = kpis[kpi]
        assert value is None and quality == "insufficient_data", kpi
        assert "exchange rate" in reason, kpi
    assert kpis["paying_customers"][1] == "actual"
