"""Where raw data lands: a DuckDB file by default, PostgreSQL when configured.

Configuration follows dlt's conventions; the project-level settings are:
- `REVWH_WAREHOUSE`: a DuckDB file path (default `warehouse/revenue.duckdb`) or a
  `postgresql://` URL;
- `REVWH_PIPELINES_DIR`: where dlt keeps pipeline state (default: next to the warehouse);
- `REVWH_DUCKDB_LOAD_MEMORY_LIMIT`: DuckDB's memory during a load (default 1GB; it spills
  to disk beyond).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dlt
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

DEFAULT_WAREHOUSE = "warehouse/revenue.duckdb"
LOAD_MEMORY_LIMIT = "1GB"  # DuckDB's memory during a load (REVWH_DUCKDB_LOAD_MEMORY_LIMIT)
DATASETS = {"stripe": "raw_stripe", "app": "raw_app", "costs": "raw_costs", "fx": "raw_fx"}


def warehouse_target(value: str | None = None) -> str:
    return value or os.environ.get("REVWH_WAREHOUSE") or DEFAULT_WAREHOUSE


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://", "postgresql+"))


def destination(target: str | None = None):
    target = warehouse_target(target)
    if is_postgres(target):
        return dlt.destinations.postgres(credentials=dlt_postgres_url(target))
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    # DuckDB takes 80% of the machine's memory by default; a load's merge spills to disk
    # past this instead, which keeps the load of a large account inside a small machine
    limit = os.environ.get("REVWH_DUCKDB_LOAD_MEMORY_LIMIT", LOAD_MEMORY_LIMIT)
    return dlt.destinations.duckdb(
        DuckDbCredentials(str(Path(target).resolve()), global_config={"memory_limit": limit})
    )


def dlt_postgres_url(url: str) -> str:
    """dlt wants `postgresql://` and a password; a trust-auth URL has none, so give it an
    empty one (`user:@host`)."""
    parts = urlsplit(
        url.replace("postgresql+psycopg2://", "postgresql://").replace(
            "postgres://", "postgresql://"
        )
    )
    if parts.username and parts.password is None:
        host = parts.netloc.split("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username}:@{host}")
    return urlunsplit(parts)


def pipelines_dir(target: str | None = None) -> str:
    """dlt's working state for one warehouse: the state belongs to where the data went, so
    two warehouses never share it."""
    target = warehouse_target(target)
    if is_postgres(target):
        base = Path(os.environ.get("REVWH_PIPELINES_DIR") or "warehouse/.dlt_pipelines")
        name = "postgres"
    else:
        base = Path(
            os.environ.get("REVWH_PIPELINES_DIR")
            or Path(target).resolve().parent / ".dlt_pipelines"
        )
        name, target = Path(target).stem, str(Path(target).resolve())
    digest = hashlib.sha1(target.encode()).hexdigest()[:10]
    return str((base / f"{name}-{digest}").resolve())


def loader_file_format(target: str | None = None) -> str:
    """How dlt hands rows to the warehouse: columnar files DuckDB reads natively (parquet),
    or CSV through COPY into PostgreSQL. dlt's default for both, INSERT statements, grew
    one process past 19 GB on a 20,000-customer Stripe history; parquet loads the same
    package in about a second per 100,000 rows within a bounded buffer."""
    return "csv" if is_postgres(warehouse_target(target)) else "parquet"


def file_format_of(pipeline: dlt.Pipeline) -> str:
    """`loader_file_format` for the warehouse a pipeline loads."""
    return "csv" if pipeline.destination.destination_name == "postgres" else "parquet"


# Rows per intermediate file: bounds what one normalize or load job holds in memory and
# lets a large table be normalized by several processes.
FILE_MAX_ITEMS = 10_000
# DuckDB takes one writer: more load threads only hold more files in memory at once.
LOAD_WORKERS = {"duckdb": 4, "postgres": 2}


def normalize_workers(rows: int) -> int:
    """Worker processes for normalize: starting one costs about a second (imports), worth it
    for big loads only."""
    return min(2, os.cpu_count() or 1) if rows > 100_000 else 1


def _tune(pipeline_name: str, engine: str) -> None:
    """dlt settings for this pipeline only (an environment that already sets them wins).

    Intermediate files uncompressed (gzip costs a fifth of extract and normalize time on
    local disk), rotated every FILE_MAX_ITEMS rows, deleted once loaded (they are full
    copies of business rows; the source is still there to read again), and a bounded
    number of load jobs at once."""
    prefix = pipeline_name.upper()
    settings = {
        "DATA_WRITER__DISABLE_COMPRESSION": "true",
        "DATA_WRITER__FILE_MAX_ITEMS": str(FILE_MAX_ITEMS),
        "LOAD__DELETE_COMPLETED_JOBS": "true",
        "LOAD__WORKERS": str(LOAD_WORKERS[engine]),
    }
    for key, value in settings.items():
        os.environ.setdefault(f"{prefix}__{key}", value)


def pipeline(source: str, target: str | None = None, progress: str | None = None):
    """The dlt pipeline of one source system (`stripe`, `app`, `costs`, `fx`), tuned for
    bounded memory (see `_tune`); load with `loader_file_format(target)`."""
    name = f"revwh_{source}"
    _tune(name, "postgres" if is_postgres(warehouse_target(target)) else "duckdb")
    return dlt.pipeline(
        pipeline_name=name,
        destination=destination(target),
        dataset_name=DATASETS[source],
        pipelines_dir=pipelines_dir(target),
        progress=progress,
    )
