"""Where raw data lands: a DuckDB file by default, PostgreSQL when configured.

Configuration follows dlt's conventions; the project-level settings are:
- `REVWH_WAREHOUSE`: a DuckDB file path (default `warehouse/revenue.duckdb`) or a
  `postgresql://` URL;
- `REVWH_PIPELINES_DIR`: where dlt keeps pipeline state (default: next to the warehouse).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dlt

DEFAULT_WAREHOUSE = "warehouse/revenue.duckdb"
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
    return dlt.destinations.duckdb(str(Path(target).resolve()))


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


def pipeline(source: str, target: str | None = None, progress: str | None = None):
    """The dlt pipeline of one source system (`stripe`, `app`, `costs`, `fx`)."""
    return dlt.pipeline(
        pipeline_name=f"revwh_{source}",
        destination=destination(target),
        dataset_name=DATASETS[source],
        pipelines_dir=pipelines_dir(target),
        progress=progress,
    )
