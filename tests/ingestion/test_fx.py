"""FX rates into raw_fx: real dlt into a real DuckDB file."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date
from decimal import Decimal

import fsspec
import pytest

from ingestion import pipelines
from ingestion.fx import load_fx_rates

RATES = "raw_fx.fx_rates"
REJECTS = "raw_fx.fx_rate_rejects"


@pytest.fixture(autouse=True)
def isolated_pipelines(tmp_path, monkeypatch):
    monkeypatch.setenv("REVWH_PIPELINES_DIR", str(tmp_path / "pipelines"))


@pytest.fixture
def wh(tmp_path) -> str:
    return str(tmp_path / "wh.duckdb")


def query(target: str, sql: str) -> list[tuple]:
    with pipelines.pipeline("fx", target).sql_client() as client:
        return [tuple(row) for row in client.execute_sql(sql)]


def load(location, target, **kwargs):
    return load_fx_rates(location, target, progress=None, **kwargs)


def test_small_world_fx_rates_load_exactly(small_world, wh):
    with open(small_world / "fx_rates.csv", newline="") as f:
        rates = list(csv.DictReader(f))

    report = load(small_world, wh)  # the folder that holds fx_rates.csv

    assert report.ok and not report.rejected and not report.skipped
    assert report.rows == Counter(fx_rates=len(rates), fx_rate_rejects=0)
    assert query(wh, f"SELECT COUNT(*) FROM {RATES}") == [(len(rates),)]
    for row in (rates[0], rates[1], rates[len(rates) // 2], rates[-2]):
        assert query(
            wh,
            f"SELECT rate FROM {RATES}"
            f" WHERE date = '{row['date']}' AND currency = '{row['currency']}'",
        ) == [(Decimal(row["rate"]),)]
    assert query(wh, f"SELECT DISTINCT rate FROM {RATES} WHERE currency = 'USD'") == [(Decimal(1),)]


BAD = """date,currency,rate
2026-01-01,USD,1
2026-01-01,EUR,1.085000
2026-01-01,EGP,0.032500
2026-01-32,EUR,1.1
2026-01-02,XYZ,1.1
2026-01-02,eur,1.1
2026-01-02,EUR,0
2026-01-02,EGP,-0.03
2026-01-03,EUR,abc
2026-01-03,EGP,
2026-01-01,EUR,1.090000
2026-01-04,EUR,1.123456789
"""
BAD_REJECTS = {
    5: "invalid date",
    6: "unknown currency",
    7: "unknown currency",
    8: "rate out of range",
    9: "rate out of range",
    10: "invalid rate",
    11: "missing rate",
    12: "duplicate date and currency",
    13: "rate too precise",
}


def test_bad_rates_are_quarantined_and_a_corrected_file_replaces_them(wh):
    memory = fsspec.filesystem("memory")
    memory.pipe("/revwh-fx/fx_rates.csv", BAD.encode())
    try:
        report = load("memory://revwh-fx/fx_rates.csv", wh)
        rejects = query(wh, f"SELECT row_number, reason_kinds, reasons, raw_values FROM {REJECTS}")
        assert {n: kinds for n, kinds, _, _ in rejects} == BAD_REJECTS
        duplicate = next(r for r in rejects if r[0] == 12)
        assert duplicate[2] == "same date and currency as row 3"
        assert json.loads(duplicate[3]) == {
            "date": "2026-01-01",
            "currency": "EUR",
            "rate": "1.090000",
        }
        assert query(wh, f"SELECT date, currency, rate FROM {RATES} ORDER BY currency") == [
            (date(2026, 1, 1), "EGP", Decimal("0.0325")),
            (date(2026, 1, 1), "EUR", Decimal("1.085")),
            (date(2026, 1, 1), "USD", Decimal(1)),
        ]
        data_rows = len(BAD.splitlines()) - 1
        assert report.rows == Counter(fx_rates=3, fx_rate_rejects=data_rows - 3)
        assert sum(report.rejected.values()) == len(BAD_REJECTS)

        # the corrected file: a changed rate replaces the old one, the rejects are gone, and
        # a date the new file lacks keeps its rate (a merge on date and currency)
        memory.pipe("/revwh-fx/fx_rates.csv", b"date,currency,rate\n2026-01-01,EUR,1.090000\n")
        report = load("memory://revwh-fx", wh)
        assert report.ok and not report.rejected
        assert query(wh, f"SELECT COUNT(*) FROM {REJECTS}") == [(0,)]
        assert query(wh, f"SELECT currency, rate FROM {RATES} ORDER BY currency") == [
            ("EGP", Decimal("0.0325")),
            ("EUR", Decimal("1.09")),
            ("USD", Decimal(1)),
        ]
    finally:
        memory.rm("/revwh-fx", recursive=True)


def test_absent_rates_are_skipped_not_failed(tmp_path, wh):
    for location in (None, tmp_path / "nowhere", tmp_path):
        report = load(location, wh)
        assert report.ok and report.skipped, location
    assert load(tmp_path, wh).skipped == f"{tmp_path} has no fx_rates.csv"


def test_unusable_rates_file_is_an_error_naming_it(tmp_path, wh):
    (tmp_path / "fx_rates.csv").write_text("")
    assert load(tmp_path, wh).errors == ["fx_rates.csv is empty"]
    (tmp_path / "fx_rates.csv").write_text("day,ccy,value\n2026-01-01,EUR,1.1\n")
    report = load(tmp_path, wh)
    assert not report.ok
    assert report.errors == [
        "fx_rates.csv has the wrong header: expected the columns date, currency, rate;"
        " found day, ccy, value"
    ]
