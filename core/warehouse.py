"""Which warehouse: a DuckDB file (default `warehouse/revenue.duckdb`) or a PostgreSQL URL,
and everything that follows from it, in one object.

    warehouse = Warehouse.of(None)          # REVWH_WAREHOUSE, else the default file
    warehouse.engine                        # "duckdb" | "postgres"
    warehouse.destination()                 # the dlt destination the loads write to
    warehouse.dbt_env()                     # what profiles/profiles.yml reads
    with warehouse.connect(read_only=True) as con: ...

Settings read from the environment (dlt's conventions otherwise):
- `REVWH_WAREHOUSE`: the DuckDB file path or `postgresql://` URL;
- `REVWH_PIPELINES_DIR`: where dlt keeps pipeline state (default: next to the warehouse);
- `REVWH_DUCKDB_LOAD_MEMORY_LIMIT`: DuckDB's memory during a load (default 1GB; it spills
  to disk beyond).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WAREHOUSE = "warehouse/revenue.duckdb"
LOAD_MEMORY_LIMIT = "1GB"  # DuckDB's memory during a load (REVWH_DUCKDB_LOAD_MEMORY_LIMIT)
_POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+")

Engine = Literal["duckdb", "postgres"]


@dataclass(frozen=True)
class Warehouse:
    """`target`: an absolute DuckDB file path, or a `postgresql://` URL (as given)."""

    target: str

    @classmethod
    def of(cls, value: Warehouse | str | Path | None = None) -> Warehouse:
        """The warehouse `value` names; None: REVWH_WAREHOUSE, else the default file."""
        if isinstance(value, Warehouse):
            return value
        text = str(value) if value else os.environ.get("REVWH_WAREHOUSE") or DEFAULT_WAREHOUSE
        if text.startswith(_POSTGRES_SCHEMES):
            return cls(text)
        return cls(str(Path(text).expanduser().resolve()))

    # ------------------------------------------------------------------ what it is

    @property
    def engine(self) -> Engine:
        return "postgres" if self.target.startswith(_POSTGRES_SCHEMES) else "duckdb"

    @property
    def is_postgres(self) -> bool:
        return self.engine == "postgres"

    @property
    def path(self) -> Path:
        """The DuckDB file (a PostgreSQL warehouse has none)."""
        if self.is_postgres:
            raise ValueError("a PostgreSQL warehouse is not a file")
        return Path(self.target)

    @property
    def url(self) -> str:
        """The PostgreSQL URL as dlt and psycopg2 take it: `postgresql://`, and an empty
        password (`user:@host`) when trust auth gives none."""
        parts = urlsplit(
            self.target.replace("postgresql+psycopg2://", "postgresql://").replace(
                "postgres://", "postgresql://"
            )
        )
        if parts.username and parts.password is None:
            host = parts.netloc.split("@", 1)[1]
            parts = parts._replace(netloc=f"{parts.username}:@{host}")
        return urlunsplit(parts)

    def __str__(self) -> str:
        """How a message names it: the file, or PostgreSQL's host and database (never the
        password)."""
        if not self.is_postgres:
            return self.target
        parts = urlsplit(self.url)
        return f"PostgreSQL {parts.hostname}:{parts.port or 5432}/{parts.path.lstrip('/')}"

    # ------------------------------------------------------------------ dlt

    def destination(self):
        """The dlt destination of the loads."""
        import dlt
        from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

        if self.is_postgres:
            return dlt.destinations.postgres(credentials=self.url)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # DuckDB takes 80% of the machine's memory by default; a load's merge spills to disk
        # past this instead, which keeps the load of a large account inside a small machine
        limit = os.environ.get("REVWH_DUCKDB_LOAD_MEMORY_LIMIT", LOAD_MEMORY_LIMIT)
        return dlt.destinations.duckdb(
            DuckDbCredentials(self.target, global_config={"memory_limit": limit})
        )

    @property
    def pipelines_dir(self) -> str:
        """dlt's working state for this warehouse: the state belongs to where the data went,
        so two warehouses never share it."""
        base = os.environ.get("REVWH_PIPELINES_DIR")
        if self.is_postgres:
            folder, name = Path(base or REPO_ROOT / "warehouse" / ".dlt_pipelines"), "postgres"
        else:
            folder, name = Path(base or self.path.parent / ".dlt_pipelines"), self.path.stem
        digest = hashlib.sha1(self.target.encode()).hexdigest()[:10]
        return str((folder / f"{name}-{digest}").resolve())

    # ------------------------------------------------------------------ dbt

    def dbt_env(self) -> dict[str, str]:
        """The environment that points profiles/profiles.yml at this warehouse."""
        if not self.is_postgres:
            return {"REVWH_TARGET": "duckdb", "REVWH_WAREHOUSE": self.target}
        parts = urlsplit(self.url)
        return {
            "REVWH_TARGET": "postgres",
            "REVWH_PG_HOST": parts.hostname or "127.0.0.1",
            "REVWH_PG_PORT": str(parts.port or 5432),
            "REVWH_PG_USER": unquote(parts.username or "postgres"),
            "REVWH_PG_PASSWORD": unquote(parts.password or ""),
            "REVWH_PG_DATABASE": unquote(parts.path.lstrip("/")) or "revenue",
        }

    @property
    def artifacts_dir(self) -> Path:
        """Where dbt writes target/ and logs/ for this warehouse: next to a DuckDB file,
        under the repository's (git-ignored) warehouse/ folder for PostgreSQL, so builds of
        two warehouses never share (or race on) one manifest."""
        if self.is_postgres:
            parts = urlsplit(self.url)
            # host, port and database only: the password never reaches a path
            key = f"{parts.hostname}:{parts.port or 5432}/{parts.path.lstrip('/')}"
            base, name = REPO_ROOT / "warehouse" / ".dbt", "postgres"
        else:
            key, base, name = self.target, self.path.parent / ".dbt", self.path.stem
        return base / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"

    # ------------------------------------------------------------------ SQL

    @contextmanager
    def connect(self, read_only: bool = True) -> Iterator:
        """A DB-API connection (duckdb or psycopg2), closed on exit. Read-only by default; a
        PostgreSQL connection is made read-only by its session."""
        if self.is_postgres:
            import psycopg2

            con = psycopg2.connect(self.url)
            con.set_session(readonly=read_only, autocommit=read_only)
        else:
            import duckdb

            con = duckdb.connect(self.target, read_only=read_only)
        try:
            yield con
        finally:
            con.close()
