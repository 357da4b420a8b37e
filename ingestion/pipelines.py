"""The dlt pipeline of each source, tuned for bounded memory: columnar files (parquet on
DuckDB, CSV through COPY on PostgreSQL), rotated every FILE_MAX_ITEMS rows, deleted once
loaded, and a bounded number of load jobs at once."""

from __future__ import annotations

import os

import dlt

from core.sources import source_named
from core.warehouse import Warehouse

# Rows per intermediate file: bounds what one normalize or load job holds in memory and
# lets a large table be normalized by several processes.
FILE_MAX_ITEMS = 10_000
# DuckDB takes one writer: more load threads only hold more files in memory at once.
LOAD_WORKERS = {"duckdb": 4, "postgres": 2}


def loader_file_format(warehouse: Warehouse) -> str:
    """How dlt hands rows to the warehouse: columnar files DuckDB reads natively (parquet),
    or CSV through COPY into PostgreSQL. dlt's default for both, INSERT statements, grew
    one process past 19 GB on a 20,000-customer Stripe history; parquet loads the same
    package in about a second per 100,000 rows within a bounded buffer."""
    return "csv" if warehouse.is_postgres else "parquet"


def file_format_of(pipeline: dlt.Pipeline) -> str:
    """`loader_file_format` for the warehouse a pipeline loads."""
    return "csv" if pipeline.destination.destination_name == "postgres" else "parquet"


def normalize_workers(rows: int) -> int:
    """Worker processes for normalize: starting one costs about a second (imports), worth it
    for big loads only."""
    return min(2, os.cpu_count() or 1) if rows > 100_000 else 1


def _tune(pipeline_name: str, warehouse: Warehouse) -> None:
    """dlt settings for this pipeline only, as dlt reads them: `<PIPELINE>__<SECTION>__<KEY>`
    variables (an environment that already sets one wins; nothing else is touched).

    Intermediate files uncompressed (gzip costs a fifth of extract and normalize time on
    local disk), rotated every FILE_MAX_ITEMS rows, deleted once loaded (they are full
    copies of business rows; the source is still there to read again), and a bounded
    number of load jobs at once."""
    prefix = pipeline_name.upper()
    settings = {
        "DATA_WRITER__DISABLE_COMPRESSION": "true",
        "DATA_WRITER__FILE_MAX_ITEMS": str(FILE_MAX_ITEMS),
        "LOAD__DELETE_COMPLETED_JOBS": "true",
        "LOAD__WORKERS": str(LOAD_WORKERS[warehouse.engine]),
    }
    for key, value in settings.items():
        os.environ.setdefault(f"{prefix}__{key}", value)


def pipeline(source: str, warehouse: Warehouse | str | None = None, progress: str | None = None):
    """The dlt pipeline of one source system (core.sources), tuned (see `_tune`); load with
    `loader_file_format(warehouse)`."""
    spec = source_named(source)
    warehouse = Warehouse.of(warehouse)
    _tune(spec.pipeline_name, warehouse)
    return dlt.pipeline(
        pipeline_name=spec.pipeline_name,
        destination=warehouse.destination(),
        dataset_name=spec.dataset,
        pipelines_dir=warehouse.pipelines_dir,
        progress=progress,
    )


def drop_staging_dataset(pipeline: dlt.Pipeline) -> None:
    """Drop the staging dataset dlt merges through (`raw_<name>_staging`) once everything is
    loaded: dlt leaves it behind, a second schema per source in what analysts browse. The
    next merge creates it again, as on a first load; while a package is still pending (a
    run stopped part way) it stays, since that package's merge needs it."""
    if pipeline.has_pending_data or not pipeline.default_schema_name:
        return
    with pipeline.sql_client() as client, client.with_staging_dataset():
        if client.has_dataset():
            client.drop_dataset()


def run_source(pipeline: dlt.Pipeline, source, full_refresh: bool, notes: list[str]) -> None:
    """Run `source`; a full refresh drops its tables first and rebuilds them from the contracts.

    dlt's `run` only finishes what an earlier, failed run left pending and ignores new data
    when there is some, so that goes first."""
    if pipeline.has_pending_data:
        pipeline.run()
        notes.append("finished loading what an earlier run had left pending")
    pipeline.run(
        source,
        refresh="drop_sources" if full_refresh else None,
        loader_file_format=file_format_of(pipeline),
    )
    drop_staging_dataset(pipeline)
