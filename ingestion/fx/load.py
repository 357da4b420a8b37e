"""Load daily FX rates from fx_rates.csv (a path or fsspec URL) into `raw_fx`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ..cost_sheets.location import find_file, locate, read_parsed
from ..cost_sheets.source import forget_files
from ..pipelines import pipeline, run_source
from ..report import LoadReport
from .source import FILE_NAME, fx_source, parse_rates, rates_contract, rejects_contract


def load_fx_rates(
    location: str | Path | None,
    target: str | None = None,
    full_refresh: bool = False,
    progress: Callable[[str], None] | None = print,
) -> LoadReport:
    """Merge fx_rates.csv into raw_fx.fx_rates on (date, currency), bad rows into
    raw_fx.fx_rate_rejects. `location` is the file or a folder holding fx_rates.csv; when it
    is None or absent the report says the source was skipped (not an error)."""
    started = time.perf_counter()
    report = LoadReport("fx")
    say = progress or (lambda _: None)
    file = locate(
        location, report, "no FX rates location given", lambda where: find_file(where, FILE_NAME)
    )
    if file is None:
        return report
    parsed = read_parsed(
        file, lambda f, content: parse_rates(f, content, datetime.now(UTC)), report
    )
    if parsed is None:
        return report
    report.rejected.update(parsed.kinds)
    if parsed.ignored_columns:
        report.notes.append(
            f"{file.name}: column(s) not in the contract left out: {', '.join(parsed.ignored_columns)}"
        )
    say(f"  {file.name}: {len(parsed.rows):,} rates, {len(parsed.rejects):,} rejected")

    pipe = pipeline("fx", target)
    run_source(pipe, fx_source(parsed), full_refresh, report.notes)
    if not parsed.rejects and not full_refresh:
        forget_files(pipe, rejects_contract().table, [parsed.name])
    report.rows[rates_contract().table] = len(parsed.rows)
    report.rows[rejects_contract().table] = len(parsed.rejects)
    report.seconds = time.perf_counter() - started
    return report
