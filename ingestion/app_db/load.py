"""Load the product's app database into `raw_app`: incremental, merged, contract-checked."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from core.warehouse import Warehouse
from ingestion.pipelines import drop_staging_dataset, loader_file_format, normalize_workers
from ingestion.pipelines import pipeline as dlt_pipeline
from ingestion.report import LoadReport
from ingestion.runtime import fewer_collections

from .database import check_connection, create_engine, redact, resolve_url
from .gate import REJECTS_TABLE
from .source import SOURCE_NAME, TABLES, app_db_source


def load_app_db(
    url: str | None,
    target: str | None = None,
    full_refresh: bool = False,
    tables: Sequence[str] | None = None,
    *,
    progress: Callable[[str], None] | None = print,
) -> LoadReport:
    """Load the app database at `url` (SQLAlchemy URL or SQLite file path) into `raw_app`.

    Each table is read from its last `updated_at` cursor on (inclusive) and merged on its
    primary key; rows that break the table's data contract go to `raw_app.app_db_rejects`.
    `full_refresh` drops the tables and their cursors and reloads them. `target` is the
    warehouse (DuckDB path or postgresql:// URL; default from `REVWH_WAREHOUSE`).
    A missing database is skipped (see the report); one that cannot be reached raises
    `AppDatabaseError`. `progress` gets a line per step and per table (None: silent).
    """

    def say(message: str) -> None:
        if progress:
            progress(f"app_db: {message}")

    started = time.monotonic()
    report = LoadReport(source="app")
    selected = _selected(tables)
    source_url, skip = resolve_url(url)
    if skip:
        report.skipped = skip
        say(f"skipped: {skip}")
        return report

    engine = create_engine(source_url)
    try:
        missing = check_connection(engine, selected)
        for table in missing:
            report.errors.append(f"table {table} is missing from {redact(source_url)}")
            say(f"error: table {table} is missing from the app database")
        present = [t for t in selected if t not in missing]
        if not present:
            return report

        pipeline = dlt_pipeline("app", target)
        # Resume from the warehouse's copy of the state when the local one is gone.
        pipeline.sync_destination()
        if pipeline.has_pending_data:
            # a previous run extracted but did not finish loading: finish it first
            say("loading the packages a previous run left pending")
            pipeline.normalize()
            pipeline.load()
            report.notes.append("loaded the packages a previous run left pending")

        source, gates = app_db_source(engine, present, datetime.now(UTC), progress=say)
        refresh = None
        if full_refresh:
            # all tables: a clean slate (cursors, tables, quarantine); some: only theirs
            refresh = "drop_sources" if set(present) == set(TABLES) else "drop_resources"
            if refresh == "drop_resources":
                _keep_quarantine(pipeline, present)
            report.notes.append(f"full refresh ({refresh}) of {', '.join(present)}")
        destination = Warehouse.of(target)
        say(
            f"{'full refresh' if full_refresh else 'incremental load'} of {len(present)} "
            f"tables from {redact(source_url)} into {_shown(destination)}"
        )
        extract_started = time.monotonic()
        with fewer_collections():
            pipeline.extract(
                source,
                refresh=refresh,
                loader_file_format=loader_file_format(destination),
            )
        report.extract_seconds = time.monotonic() - extract_started
        for table in present:
            gate = gates[table]
            rejected = sum(gate.rejected.values())
            say(
                f"  {table}: {gate.passed:,} rows read"
                + (f", {rejected:,} rejected" * bool(rejected))
            )
            for reasons, count in gate.rejected.items():
                report.rejected[f"{table}: {reasons}"] += count
            if gate.duplicate_keys:
                report.notes.append(
                    f"{table}: {len(gate.duplicate_keys):,} primary keys are held by more "
                    "than one row in the app database; those rows are quarantined and the "
                    "warehouse keeps what it had for those keys"
                )
        say("normalizing and loading")
        pipeline.normalize(workers=normalize_workers(sum(g.passed for g in gates.values())))
        pipeline.load()
        drop_staging_dataset(pipeline)
        # What the gates passed is what loads: the incremental step after them filters with
        # the same `>=` as the query. (dlt's own row counts are off for CSV into PostgreSQL.)
        for table in present:
            report.rows[table] = gates[table].passed
    finally:
        engine.dispose()
    report.seconds = time.monotonic() - started
    say(report.summary())
    return report


def _keep_quarantine(pipeline, tables: list[str]) -> None:
    """`drop_resources` drops the tables whose schema names one of the refreshed resources.
    Every table's resource writes the quarantine and the schema names the last one: detach
    it first, so that a partial refresh keeps the other tables' rejects."""
    if SOURCE_NAME not in pipeline.schema_names:
        return
    quarantine = pipeline.schemas[SOURCE_NAME].tables.get(REJECTS_TABLE)
    if quarantine is not None and quarantine.get("resource") in tables:
        quarantine["resource"] = REJECTS_TABLE


def _selected(tables: Sequence[str] | None) -> list[str]:
    if tables is None:
        return list(TABLES)
    if isinstance(tables, str):
        tables = [tables]
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise ValueError(f"unknown app tables {unknown}; known: {', '.join(TABLES)}")
    return [t for t in TABLES if t in tables]


def _shown(destination: Warehouse) -> str:
    return str(destination)


__all__ = ["SOURCE_NAME", "load_app_db"]
