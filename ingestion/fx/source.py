"""fx_rates.csv into contract rows and rejects, and the dlt source that loads them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import dlt

from .. import contracts
from ..cost_sheets.location import InputFile
from ..cost_sheets.reader import FileProblem, read_csv
from ..cost_sheets.rows import Header, SheetChecker, input_columns
from ..cost_sheets.source import table_hints

FILE_NAME = "fx_rates.csv"


def rates_contract() -> contracts.Contract:
    return contracts.load("raw_fx", "fx_rates")


def rejects_contract() -> contracts.Contract:
    return contracts.load("raw_fx", "fx_rate_rejects")


@dataclass
class ParsedRates:
    name: str
    rows: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    ignored_columns: list[str] = field(default_factory=list)


def parse_rates(file: InputFile, data: bytes, loaded_at: datetime) -> ParsedRates:
    """Rates that keep the contract, and rejects; FileProblem when the file is unusable."""
    contract = rates_contract()
    columns = input_columns(contract)
    sheet = read_csv(data, file.stem)
    if not sheet.rows:
        raise FileProblem("is empty")
    header = Header(sheet.rows[0][1], columns)
    if not header.positions:
        raise FileProblem(
            f"has the wrong header: expected the columns {', '.join(columns)};"
            f" found {', '.join(header.names) or 'nothing'}"
        )
    lineage = {"source_file": file.name, "loaded_at": loaded_at}
    # the primary key: two rates for one day and currency cannot both be right
    checker = SheetChecker(contract, header, lineage, unique_on=contract.primary_key)
    for row_number, cells in sheet.rows[1:]:
        checker.add(row_number, cells)
    return ParsedRates(file.name, checker.good, checker.rejects, checker.kinds, header.ignored)


@dlt.source(name="fx", max_table_nesting=0)
def fx_source(parsed: ParsedRates):
    """Rates merged on (date, currency); rejects merged on source_file (replaced per file)."""
    rates_hints = table_hints(rates_contract())
    rejects_hints = table_hints(rejects_contract(), merge_key="source_file")

    @dlt.resource(name=rates_hints["table_name"], **rates_hints)
    def fx_rates():
        if parsed.rows:
            yield parsed.rows

    @dlt.resource(name=rejects_hints["table_name"], **rejects_hints)
    def fx_rate_rejects():
        if parsed.rejects:
            yield parsed.rejects

    return fx_rates, fx_rate_rejects
