"""Load the cost sheets of a folder (local or any fsspec URL) into `raw_costs`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from ..pipelines import pipeline, run_source
from ..report import LoadReport
from .location import find_files, locate, read_parsed
from .parse import SUFFIXES, ParsedFile, parse_cost_file, rejects_contract, rows_contract
from .source import cost_sheets_source, forget_files


def load_cost_sheets(
    location: str | Path | None,
    target: str | None = None,
    full_refresh: bool = False,
    progress: Callable[[str], None] | None = print,
) -> LoadReport:
    """Merge every *.csv and *.xlsx below `location` into raw_costs.cost_sheet_rows, rows that
    break the contract into raw_costs.cost_sheet_rejects.

    A file that cannot be read at all is an error in the report (the others still load, its
    earlier rows stay). A file gone from the folder keeps its rows unless `full_refresh`,
    which drops both tables and rebuilds them from the contract and the folder as they are
    now. `progress` gets one line per file (None: silent)."""
    started = time.perf_counter()
    report = LoadReport("costs")
    say = progress or (lambda _: None)
    files = locate(
        location, report, "no cost-sheet location given", lambda where: find_files(where, SUFFIXES)
    )
    if files is None:
        return report
    if not files:
        report.notes.append(f"no .csv or .xlsx files below {location}")

    loaded_at = datetime.now(UTC)
    parsed: list[ParsedFile] = []

    def read_all() -> Iterator[ParsedFile]:
        for file in files:
            result = read_parsed(
                file, lambda f, content: parse_cost_file(f, content, loaded_at), report
            )
            if result is None:
                say(f"  {report.errors[-1]} (not loaded)")
                continue
            parsed.append(result)
            report.rejected.update(result.kinds)
            report.notes += [f"{file.name}: {note}" for note in result.notes]
            say(f"  {file.name}: {len(result.rows):,} rows, {len(result.rejects):,} rejected")
            yield result

    pipe = pipeline("costs", target)
    run_source(pipe, cost_sheets_source(read_all()), full_refresh, report.notes)
    if not full_refresh:
        forget_files(pipe, rows_contract().table, [p.name for p in parsed if not p.rows])
        forget_files(pipe, rejects_contract().table, [p.name for p in parsed if not p.rejects])
    report.rows[rows_contract().table] = sum(len(p.rows) for p in parsed)
    report.rows[rejects_contract().table] = sum(len(p.rejects) for p in parsed)
    report.seconds = time.perf_counter() - started
    return report
