"""unit_economics_monthly against the small world's own inputs: CAC per channel and blended,
recomputed from the cost sheet files and the ground-truth customers, to the cent; and the
`insufficient_data` path when no cost sheet is loaded.

The simulator (sandbox/world/costs.py) books marketing spend per channel from the month's
sign-ups (paid channels) or new paying customers (partner 150, referral 50 each), and a
sales commission per new paying customer. CAC = sales, marketing and advertising cost of the
month / customers whose first paid period started in the month, per acquisition channel (the
rows of that channel) and blended (every such row, channel or not)."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from tests.conftest import AS_OF

SALES_MARKETING = ("sales", "marketing", "advertising")
PLACES = Decimal("0.0001")


def _round4(value: Decimal) -> Decimal:
    return value.quantize(PLACES, ROUND_HALF_UP)


def _cost_sheet_rows(folder: Path) -> list[dict]:
    """Every data row of the cost sheets: finance CSVs and marketing XLSX workbooks."""
    rows = []
    for path in sorted(folder.rglob("*.csv")):
        with path.open(newline="") as f:
            rows.extend(csv.DictReader(f))
    for path in sorted(folder.rglob("*.xlsx")):
        workbook = load_workbook(path, read_only=True, data_only=True)
        for sheet in workbook.worksheets:
            values = list(sheet.iter_rows(values_only=True))
            header = [str(h) for h in values[0]]
            for line in values[1:]:
                record = dict(zip(header, line, strict=False))
                cost_date = record["cost_date"]
                record["cost_date"] = (
                    cost_date.date().isoformat()
                    if hasattr(cost_date, "date")
                    else str(cost_date)[:10]
                )
                rows.append(record)
        workbook.close()
    out = []
    for record in rows:
        out.append(
            {
                "cost_date": date.fromisoformat(str(record["cost_date"])),
                "cost_type": str(record["cost_type"]).lower(),
                "amount": Decimal(str(record["amount"])),
                "currency": str(record["currency"]).lower(),
                "channel": (str(record["channel"]).strip().lower() if record["channel"] else None)
                or None,
            }
        )
    return out


@pytest.fixture(scope="module")
def expected_cac(small_world) -> dict:
    """(month 'YYYY-MM-01', segment) -> (new customers, S&M cost, CAC or None), from the
    world's files."""
    rates = {}
    with (small_world / "fx_rates.csv").open(newline="") as f:
        for rate in csv.DictReader(f):
            rates[(date.fromisoformat(rate["date"]), rate["currency"].lower())] = Decimal(
                rate["rate"]
            )
    cost = defaultdict(Decimal)
    for row in _cost_sheet_rows(small_world / "cost_sheets"):
        if row["cost_type"] not in SALES_MARKETING or row["cost_date"] > AS_OF:
            continue
        month = row["cost_date"].replace(day=1).isoformat()
        rate = (
            Decimal(1) if row["currency"] == "usd" else rates[(row["cost_date"], row["currency"])]
        )
        cost[(month, "all")] += _round4(row["amount"] * rate)
        if row["channel"]:
            # the generator books channel spend in USD, so no rate is involved
            assert row["currency"] == "usd", row
            cost[(month, f"channel:{row['channel']}")] += row["amount"]
    new = Counter()
    with (small_world / "ground_truth" / "customers.csv").open(newline="") as f:
        for customer in csv.DictReader(f):
            if not customer["first_paid_date"]:
                continue
            month = date.fromisoformat(customer["first_paid_date"]).replace(day=1).isoformat()
            new[(month, "all")] += 1
            # sales-led ("direct") Stripe customers have no app account: the simulator gives
            # them a channel, but no loaded row carries it, so the warehouse counts them as
            # `channel:unknown` (and in the blended CAC)
            channel = customer["acquisition_channel"] if customer["account_id"] else "unknown"
            new[(month, f"channel:{channel or 'unknown'}")] += 1
    expected = {}
    for key in set(cost) | set(new):
        count = new[key]
        amount = cost.get(key, Decimal(0))
        expected[key] = (count, amount, _round4(amount / count) if count else None)
    return expected


def _mart(warehouse: Path) -> dict:
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = connection.execute(
            """
            select cast(month as varchar), segment, new_customers, sales_marketing_cost, cac,
                burn, net_burn, gross_margin, sales_efficiency, arr, data_quality, reason
            from marts.unit_economics_monthly
            order by month, segment
            """
        ).fetchall()
    finally:
        connection.close()
    columns = [
        "new_customers",
        "sales_marketing_cost",
        "cac",
        "burn",
        "net_burn",
        "gross_margin",
        "sales_efficiency",
        "arr",
        "data_quality",
        "reason",
    ]
    return {(r[0], r[1]): dict(zip(columns, r[2:], strict=True)) for r in rows}


def test_cac_matches_the_generator_inputs(small_warehouse, expected_cac):
    mart = _mart(small_warehouse)
    compared = 0
    for key, (count, amount, cac) in sorted(expected_cac.items()):
        row = mart.get(key)
        if key[1] == "channel:unknown":
            # no cost is attributed to an unknown channel: no CAC, flagged
            print(f"{key[0]} {key[1]:<22} new {count:>3} (mart {row and row['new_customers']})")
            assert row["new_customers"] == count and row["cac"] is None, key
            assert row["data_quality"] == "insufficient_data", key
            continue
        assert row is not None, f"no row {key} in unit_economics_monthly"
        print(
            f"{key[0]} {key[1]:<22} new {count:>3} (mart {row['new_customers']:>3})  "
            f"S&M {amount:>10} (mart {row['sales_marketing_cost']})  "
            f"CAC {cac} (mart {row['cac']})"
        )
        assert row["data_quality"] == "actual", (key, row)
        assert row["new_customers"] == count, key
        assert row["sales_marketing_cost"] == amount, key
        assert row["cac"] == cac, key
        compared += 1
    assert compared > 100
    # the commissions the generator pays per new customer come through exactly
    partner = [r["cac"] for (_, s), r in mart.items() if s == "channel:partner" and r["cac"]]
    referral = [r["cac"] for (_, s), r in mart.items() if s == "channel:referral" and r["cac"]]
    assert partner and set(partner) == {Decimal("150.0000")}
    assert referral and set(referral) == {Decimal("50.0000")}
    # customers without a channel: no CAC of their own, but counted in the blended one
    for (month, segment), row in mart.items():
        if segment == "channel:unknown":
            assert row["cac"] is None and row["data_quality"] == "insufficient_data", month
    # with every cost sheet loaded, the company rows are actual and complete
    company = [r for (_, s), r in mart.items() if s == "all"]
    assert company and all(r["data_quality"] == "actual" for r in company)
    assert all(r["burn"] is not None and r["net_burn"] is not None for r in company)
    assert all(r["gross_margin"] is None or r["gross_margin"] <= 1 for r in company)


def test_no_cost_sheets_is_insufficient_data(bare_warehouse):
    copy = bare_warehouse
    mart = _mart(copy)
    assert mart
    for (month, segment), row in mart.items():
        print(month, segment, row["cac"], row["burn"], row["data_quality"], row["reason"])
        assert row["data_quality"] == "insufficient_data", (month, segment)
        assert "no cost sheets loaded for this month" in row["reason"], (month, segment)
        assert row["cac"] is None and row["sales_marketing_cost"] is None, (month, segment)
        if segment == "all":
            assert row["burn"] is None and row["net_burn"] is None, month
            assert row["gross_margin"] is None and row["sales_efficiency"] is None, month
            assert row["arr"] is not None, month  # MRR-based values do not need cost sheets
