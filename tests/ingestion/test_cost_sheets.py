"""Cost sheets into raw_costs: real dlt into a real DuckDB file (and PostgreSQL once)."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import fsspec
import openpyxl
import pytest

from ingestion import contracts, pipelines
from ingestion.cost_sheets import load_cost_sheets
from ingestion.cost_sheets.location import InputFile, LocationError, find_files
from ingestion.cost_sheets.parse import SUFFIXES, parse_cost_file
from ingestion.cost_sheets.source import cost_sheets_source
from ingestion.fx import load_fx_rates
from tests.postgres import fresh_database

HEADER = "cost_date,cost_type,amount,currency,channel,description"
ROWS = "raw_costs.cost_sheet_rows"
REJECTS = "raw_costs.cost_sheet_rejects"


@pytest.fixture(autouse=True)
def isolated_pipelines(tmp_path, monkeypatch):
    monkeypatch.setenv("REVWH_PIPELINES_DIR", str(tmp_path / "pipelines"))


@pytest.fixture
def wh(tmp_path) -> str:
    return str(tmp_path / "wh.duckdb")


def query(target: str, sql: str, source: str = "costs") -> list[tuple]:
    with pipelines.pipeline(source, target).sql_client() as client:
        return [tuple(row) for row in client.execute_sql(sql)]


def load(folder, target, **kwargs):
    return load_cost_sheets(folder, target, progress=None, **kwargs)


def sheet_rows(*paths: Path) -> list[dict]:
    """What the files (or the files in folders) hold, read without the loader: one dict per
    data row."""
    files = sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*")))
    rows = []
    for path in (f for f in files if f.suffix == ".csv"):
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                rows.append({**row, "amount": Decimal(row["amount"]), "file": path.name})
    for path in (f for f in files if f.suffix == ".xlsx"):
        book = openpyxl.load_workbook(path, read_only=True)
        for sheet in book.worksheets:
            cells = list(sheet.iter_rows(values_only=True))
            for values in cells[1:]:
                row = dict(zip(cells[0], values, strict=True))
                rows.append({**row, "amount": Decimal(repr(row["amount"])), "file": path.name})
        book.close()
    return rows


def sums(rows) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for currency, amount in rows:
        out[currency] = out.get(currency, Decimal(0)) + amount
    return out


def loaded_sums(target: str) -> dict[str, Decimal]:
    return dict(query(target, f"SELECT currency, SUM(amount) FROM {ROWS} GROUP BY currency"))


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# --- the sandbox's sheets load completely ----------------------------------------------------


def test_small_world_cost_sheets_load_completely(small_world, wh):
    folder = small_world / "cost_sheets"
    expected = sheet_rows(folder)

    report = load(folder, wh)

    assert report.ok and not report.rejected and not report.skipped
    assert report.rows == Counter(cost_sheet_rows=len(expected), cost_sheet_rejects=0)
    assert query(wh, f"SELECT COUNT(*) FROM {ROWS}") == [(len(expected),)]
    assert loaded_sums(wh) == sums((r["currency"], r["amount"]) for r in expected)
    assert all(isinstance(total, Decimal) for total in loaded_sums(wh).values())
    # a row keeps its values and says where it came from
    first_xlsx = next(r for r in expected if r["file"].endswith(".xlsx"))
    assert query(
        wh,
        f"SELECT cost_date, cost_type, amount, channel FROM {ROWS}"
        f" WHERE source_file = 'marketing/{first_xlsx['file']}' AND sheet = 'spend'"
        " AND row_number = 2",
    ) == [
        (
            first_xlsx["cost_date"].date(),
            first_xlsx["cost_type"],
            first_xlsx["amount"],
            first_xlsx["channel"],
        )
    ]


def test_reloads_merge_per_file(small_world, tmp_path, wh):
    folder = tmp_path / "cost_sheets"
    shutil.copytree(small_world / "cost_sheets", folder)
    columns = "source_file, sheet, row_number, cost_date, cost_type, amount, currency, channel"
    everything = f"SELECT {columns}, description FROM {ROWS} ORDER BY 1, 2, 3"

    load(folder, wh)
    first = query(wh, everything)
    report = load(folder, wh)
    assert query(wh, everything) == first  # loading the same files again changes nothing
    assert report.rows["cost_sheet_rows"] == len(first)

    # finance corrects one month (a line removed, an amount changed) and deletes another
    corrected = folder / "finance" / "costs_2026-07.csv"
    lines = corrected.read_text().splitlines()
    fields = lines[1].split(",")
    fields[2] = str(Decimal(fields[2]) + Decimal("0.01"))
    corrected.write_text("\n".join([lines[0], ",".join(fields), *lines[3:]]) + "\n")
    (folder / "finance" / "costs_2026-08.csv").unlink()
    load(folder, wh)
    after = query(wh, everything)
    others = [r for r in first if r[0] != "finance/costs_2026-07.csv"]
    assert [r for r in after if r[0] != "finance/costs_2026-07.csv"] == others
    month = [r for r in after if r[0] == "finance/costs_2026-07.csv"]
    assert len(month) == len(lines) - 2
    assert month[0][5] == Decimal(fields[2])
    before = [r for r in first if r[0] == "finance/costs_2026-07.csv"]
    # the rows after the removed line moved up one row number, their values did not change
    assert [r[3:] for r in month[1:]] == [r[3:] for r in before[2:]]
    assert [r[2] for r in month] == list(range(2, len(month) + 2))
    # ...the deleted file kept its rows (they are in `others`) until a full refresh
    gone = f"SELECT COUNT(*) FROM {ROWS} WHERE source_file = 'finance/costs_2026-08.csv'"
    report = load(folder, wh, full_refresh=True)
    assert query(wh, gone) == [(0,)]
    assert query(wh, f"SELECT COUNT(*) FROM {ROWS}") == [(report.rows["cost_sheet_rows"],)]
    gone_rows = [r for r in after if r[0] == "finance/costs_2026-08.csv"]
    assert gone_rows and report.rows["cost_sheet_rows"] == len(after) - len(gone_rows)


# --- bad rows are quarantined, with the reason --------------------------------------------------

BAD_CSV = f"""{HEADER}
2026-01-01,sales,100.00,USD,,good
2026-13-01,sales,100.00,USD,,bad date
2026-01-02,travel,100.00,USD,,unknown cost type
2026-01-03,sales,abc,USD,,not a number
2026-01-04,sales,100.00,XYZ,,unknown currency
2026-01-05,sales,100.00,US$,,a currency symbol
2026-01-06,,100.00,USD,,no cost type
2026-01-01,sales,100.00,USD,,good

2026-01-07,sales,12.345,USD,,a fraction of a cent
2026-01-08,sales,"1,5",USD,,a decimal comma
2026-01-09,support,"1,234.50",EUR,,thousands separator
2026-01-10,sales,5.00,USD,,an unquoted, comma
2026-01-11,cogs,-20,EUR,,a credit
"""
# row number -> reason kinds (the blank line 10 is skipped, not rejected)
BAD_CSV_REJECTS = {
    3: "invalid cost_date",
    4: "unknown cost_type",
    5: "invalid amount",
    6: "unknown currency",
    7: "unknown currency",
    8: "missing cost_type",
    9: "duplicate row",
    11: "amount too precise",
    12: "invalid amount",
    14: "values outside the header",
}


@pytest.fixture
def bad_folder(tmp_path) -> Path:
    folder = tmp_path / "bad"
    write(folder / "finance" / "costs_2026-01.csv", BAD_CSV)
    # headers in another case, with spaces, without the optional columns
    write(
        folder / "finance" / "headers.csv",
        " Cost_Date ,COST_TYPE, Amount,Currency,Notes\n2026-02-01,other,10.00,GBP,x\n2026-02-02,other,20.50,GBP,\n",
    )
    write_xlsx(
        folder / "marketing" / "spend_2026.xlsx",
        {
            "spend": [
                HEADER.split(","),
                [date(2026, 3, 1), "advertising", 250.5, "USD", "paid_search", "ads"],
                ["05/03/2026", "advertising", 10, "USD", "paid_social", "US date as text"],
                [date(2026, 3, 2), "advertising", "12.30", "EGP", None, None],
                [date(2026, 3, 1), "advertising", 250.5, "USD", "paid_search", "ads"],
            ],
            "no currency": [
                ["cost_date", "cost_type", "amount"],
                [date(2026, 3, 1), "marketing", 5],
                [date(2026, 3, 2), "marketing", 6],
            ],
            "pivot": [["channel total", "USD"], ["paid_search", 250.5]],
            "empty": [],
        },
    )
    return folder


def test_bad_rows_are_quarantined_with_their_reason(bad_folder, wh):
    report = load(bad_folder, wh)

    assert report.ok, report.errors
    rejects = {
        (file, sheet, n): (kinds, reasons, json.loads(raw))
        for file, sheet, n, kinds, reasons, raw in query(
            wh, f"SELECT source_file, sheet, row_number, reason_kinds, reasons, raw_values FROM {REJECTS}"
        )
    }  # fmt: skip
    csv_rejects = {
        n: kinds for (f, _, n), (kinds, _, _) in rejects.items() if f == "finance/costs_2026-01.csv"
    }
    assert csv_rejects == BAD_CSV_REJECTS
    key = ("finance/costs_2026-01.csv", "costs_2026-01", 9)
    assert rejects[key][1] == "same values as row 2"
    key = ("finance/costs_2026-01.csv", "costs_2026-01", 6)
    assert rejects[key][2]["currency"] == "XYZ"
    assert rejects[key][2]["description"] == "unknown currency"
    xlsx = "marketing/spend_2026.xlsx"
    assert rejects[(xlsx, "spend", 3)][0] == "invalid cost_date"
    assert rejects[(xlsx, "spend", 5)][1] == "same values as row 2"
    assert rejects[(xlsx, "no currency", 2)][0] == "missing column currency"
    assert rejects[(xlsx, "no currency", 3)][0] == "missing column currency"
    assert rejects[(xlsx, "pivot", 0)][0] == "not a cost sheet"
    assert len(rejects) == len(BAD_CSV_REJECTS) + 5

    loaded = query(wh, f"SELECT source_file, sheet, row_number, amount, currency FROM {ROWS}")
    assert sorted((f, s, n) for f, s, n, _, _ in loaded) == [
        ("finance/costs_2026-01.csv", "costs_2026-01", 2),
        ("finance/costs_2026-01.csv", "costs_2026-01", 13),
        ("finance/costs_2026-01.csv", "costs_2026-01", 15),
        ("finance/headers.csv", "headers", 2),
        ("finance/headers.csv", "headers", 3),
        (xlsx, "spend", 2),
        (xlsx, "spend", 4),
    ]
    assert sums((c, a) for *_, a, c in loaded) == {
        "USD": Decimal("100.00") + Decimal("250.50"),
        "EUR": Decimal("1234.50") - Decimal("20"),
        "GBP": Decimal("30.50"),
        "EGP": Decimal("12.30"),
    }
    # nothing lost: every data row is loaded or rejected, plus one reject for the pivot sheet
    data_rows = 13 + 2 + 4 + 2
    assert len(loaded) + len(rejects) == data_rows + 1
    assert report.rows == Counter(cost_sheet_rows=len(loaded), cost_sheet_rejects=len(rejects))
    assert report.rejected == Counter(
        {
            "unknown currency": 2,
            "invalid amount": 2,
            "invalid cost_date": 2,
            "duplicate row": 2,
            "missing column currency": 2,
            "unknown cost_type": 1,
            "missing cost_type": 1,
            "amount too precise": 1,
            "values outside the header": 1,
            "not a cost sheet": 1,
        }
    )
    assert "marketing/spend_2026.xlsx: sheet 'empty' is empty" in report.notes
    assert (
        "finance/headers.csv: sheet 'headers': column(s) not in the contract left out: Notes"
        in report.notes
    )
    assert rejects[(xlsx, "spend", 3)][2] == {
        "cost_date": "05/03/2026",
        "cost_type": "advertising",
        "amount": 10,
        "currency": "USD",
        "channel": "paid_social",
        "description": "US date as text",
    }

    # the corrected sheet replaces exactly what the file had, rejects included
    write(bad_folder / "finance" / "costs_2026-01.csv", f"{HEADER}\n2026-01-01,sales,1.00,USD,,\n")
    load(bad_folder, wh)
    assert query(wh, f"SELECT row_number FROM {ROWS} WHERE source_file LIKE '%costs_2026-01%'") == [
        (2,)
    ]
    assert query(
        wh, f"SELECT COUNT(*) FROM {REJECTS} WHERE source_file LIKE '%costs_2026-01%'"
    ) == [(0,)]
    assert query(wh, f"SELECT COUNT(*) FROM {REJECTS}") == [(5,)]


def parse(text: str | bytes):
    file = InputFile(fsspec.filesystem("memory"), "/x/c.csv", "c.csv")
    data = text.encode() if isinstance(text, str) else text
    return parse_cost_file(file, data, loaded_at=datetime.now(UTC))


def test_reasons_name_the_rule():
    def reasons(text: str) -> list[str]:
        return [r["reasons"] for r in parse(text).rejects]

    assert reasons(f"{HEADER}\n2026-02-30,sales,1,USD,,\n") == [
        "cost_date '2026-02-30' is not a valid date"
    ]
    assert reasons(f"{HEADER}\n2026-02-01,Sales,1,USD,,\n")[0].startswith(
        "cost_type 'Sales' is not one of marketing, advertising"
    )
    assert reasons(f"{HEADER}\n2026-02-01,sales,1,usd,,\n") == [
        "currency 'usd' is not one of the 155 allowed values"
    ]
    assert reasons(f"{HEADER}\n,sales,,USD,,\n") == ["cost_date is missing; amount is missing"]
    assert reasons("cost_date,cost_type,amount\n2026-02-01,sales,1\n") == [
        "there is no currency column"
    ]
    assert reasons(f"{HEADER}\n2026-02-01,sales,1e20,USD,,\n") == [
        "amount 1E+20 does not fit DECIMAL(18,2)"
    ]


def test_excel_csv_with_bom_crlf_and_a_line_break_in_a_cell():
    text = f'\ufeff{HEADER}\r\n2026-01-01,sales,3.1,EUR,,"two\r\nlines"\r\n2026-01-02,sales,4,EUR,,\r\n'
    parsed = parse(text.encode())
    assert not parsed.rejects
    assert [(r["row_number"], r["amount"], r["description"]) for r in parsed.rows] == [
        (2, Decimal("3.10"), "two\r\nlines"),
        (3, Decimal("4.00"), None),
    ]


# --- files that cannot load are errors that name them --------------------------------------------


def test_unreadable_files_are_errors_and_the_rest_loads(small_world, tmp_path, wh):
    """Also reads through an fsspec URL: the folder is on fsspec's in-memory filesystem."""
    folder = tmp_path / "sheets"
    write(folder / "good.csv", f"{HEADER}\n2026-01-01,sales,10.00,USD,,\n")
    workbook = small_world / "cost_sheets" / "marketing" / "marketing_spend_2025.xlsx"
    shutil.copy(workbook, folder / "marketing.xlsx")
    write(folder / "wrong_header.csv", "date;type;value\n2026-01-01;sales;10\n")
    write(folder / "empty.csv", "")
    write(folder / "blank_lines.csv", "\n  \n")
    write(folder / "not_really.xlsx", "this is text")
    write_xlsx(folder / "notes.xlsx", {"notes": [["call the bank"], ["pay rent"]]})
    write(folder / "~$good.xlsx", "an Excel lock file")  # skipped, as are hidden files
    write(folder / "readme.txt", "not a sheet")
    memory = fsspec.filesystem("memory")
    for path in folder.iterdir():
        memory.pipe(f"/revwh-sheets/{path.name}", path.read_bytes())
    try:
        report = load("memory://revwh-sheets", wh)
    finally:
        memory.rm("/revwh-sheets", recursive=True)

    errors = sorted(report.errors)
    assert len(errors) == 5
    assert errors[0] == "blank_lines.csv is empty"
    assert errors[1] == "empty.csv is empty"
    assert errors[2].startswith("not_really.xlsx is not a readable .xlsx workbook")
    assert errors[3] == (
        "notes.xlsx has no cost sheet: none of its sheets ('notes') has a header with any of"
        " the columns cost_date, cost_type, amount, currency, channel, description"
    )
    assert errors[4] == (
        "wrong_header.csv has the wrong header: expected the columns cost_date, cost_type,"
        " amount, currency, channel, description; found date;type;value"
    )
    assert not report.ok and not report.rejected
    expected = sheet_rows(folder / "good.csv", folder / "marketing.xlsx")
    assert report.rows["cost_sheet_rows"] == len(expected) == 1 + len(sheet_rows(workbook))
    assert loaded_sums(wh) == sums((r["currency"], r["amount"]) for r in expected)
    names = query(wh, f"SELECT DISTINCT source_file FROM {ROWS} ORDER BY 1")
    assert names == [("good.csv",), ("marketing.xlsx",)]


def test_absent_folder_is_skipped(tmp_path, wh):
    report = load(tmp_path / "nowhere", wh)
    assert report.skipped and report.ok and "nowhere" in report.skipped
    assert load(None, wh).skipped == "no cost-sheet location given"


# --- any fsspec filesystem -------------------------------------------------------------------------


def test_file_urls_and_single_files(small_world):
    folder = small_world / "cost_sheets"
    by_url = find_files(folder.as_uri(), SUFFIXES)
    assert [f.name for f in by_url] == [f.name for f in find_files(folder, SUFFIXES)]
    assert {f.name.split("/")[0] for f in by_url} == {"finance", "marketing"}
    single = folder / "finance" / "costs_2025-06.csv"
    assert [(f.name, f.stem) for f in find_files(single.as_uri(), SUFFIXES)] == [
        ("costs_2025-06.csv", "costs_2025-06")
    ]
    with pytest.raises(LocationError, match=r"is not a \.xlsx file"):
        find_files(small_world / "fx_rates.csv", (".xlsx",))
    with pytest.raises(LocationError, match="cannot open"):
        find_files("nosuchprotocol://bucket/costs", SUFFIXES)


# --- the schema contract is applied ----------------------------------------------------------------


def test_a_column_outside_the_contract_is_refused(tmp_path, wh):
    from dlt.extract.exceptions import ResourceExtractionError
    from dlt.pipeline.exceptions import PipelineStepFailed

    from ingestion.cost_sheets.parse import ParsedFile

    row = {
        "cost_date": date(2026, 1, 1),
        "cost_type": "sales",
        "amount": Decimal("1.00"),
        "currency": "USD",
        "source_file": "x.csv",
        "sheet": "x",
        "row_number": 2,
        "loaded_at": datetime.now(UTC),
        "surprise": "a column nobody agreed on",
    }
    source = cost_sheets_source([ParsedFile("x.csv", rows=[row])])
    assert source.resources["cost_sheet_rows"].schema_contract == {
        "tables": "evolve",
        "columns": "freeze",
        "data_type": "freeze",
    }
    pipe = pipelines.pipeline("costs", wh)
    # dlt lets a table's first extract shape it; the freeze holds from then on
    good = {k: v for k, v in row.items() if k != "surprise"}
    pipe.extract(cost_sheets_source([ParsedFile("x.csv", rows=[good])]))
    pipe.normalize()
    with pytest.raises((PipelineStepFailed, ResourceExtractionError)) as failure:
        pipe.extract(source)
        pipe.normalize()
    assert "surprise" in str(failure.value)


def test_contracts_describe_every_column_and_share_the_currency_list():
    rows = contracts.load("raw_costs", "cost_sheet_rows")
    tables = [
        rows,
        contracts.load("raw_costs", "cost_sheet_rejects"),
        contracts.load("raw_fx", "fx_rates"),
        contracts.load("raw_fx", "fx_rate_rejects"),
    ]
    for table in tables:
        assert table.description
        assert all(column.description for column in table.columns.values()), table.table
    currencies = rows.columns["currency"].allowed_values
    assert currencies == contracts.load("raw_fx", "fx_rates").columns["currency"].allowed_values
    assert {"USD", "EUR", "EGP", "GBP", "JPY", "CHF", "INR"} <= set(currencies)
    assert len(set(currencies)) == len(currencies) and all(len(c) == 3 for c in currencies)


# --- PostgreSQL as the warehouse -------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_warehouse(small_world):
    expected = sheet_rows(small_world / "cost_sheets")
    with open(small_world / "fx_rates.csv", newline="") as f:
        rates = list(csv.DictReader(f))
    with fresh_database() as url:
        costs = load(small_world / "cost_sheets", url)
        fx = load_fx_rates(small_world, url, progress=None)

        assert costs.ok and fx.ok and not costs.rejected and not fx.rejected
        assert query(url, f"SELECT COUNT(*) FROM {ROWS}") == [(len(expected),)]
        assert loaded_sums(url) == sums((r["currency"], r["amount"]) for r in expected)
        assert query(url, "SELECT COUNT(*) FROM raw_fx.fx_rates", "fx") == [(len(rates),)]
        last = rates[-1]
        assert query(
            url,
            "SELECT rate FROM raw_fx.fx_rates"
            f" WHERE date = '{last['date']}' AND currency = '{last['currency']}'",
            "fx",
        ) == [(Decimal(last["rate"]),)]
