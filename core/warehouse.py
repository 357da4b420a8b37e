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
  to disk beyond);
- `REVWH_WAREHOUSE_WAIT_SECONDS`: how long a run waits for another one writing the same
  DuckDB file before it stops (default 120).

DuckDB lets one process write a file, or several read it, never both: a reader holding the
file (a BI tool, a notebook) stops a run, and a run stops readers. Readers belong on the
published copy (`published_copy`), which runs never lock; `connect` and `check_writable`
name the process holding the file instead of DuckDB's lock error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import time
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
WAIT_SECONDS = 120  # REVWH_WAREHOUSE_WAIT_SECONDS
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def target_problem(text: str) -> str | None:
    """What is wrong with a warehouse setting (a DuckDB file path or a PostgreSQL URL), as
    words that end in what to give instead; None when it can be a warehouse."""
    if text.startswith(_POSTGRES_SCHEMES):
        return None
    if "://" in text:  # only the scheme is named: the rest may hold a password
        scheme = text.split("://", 1)[0]
        return (
            f"a {scheme}:// URL is not a warehouse: give a DuckDB file path (e.g. "
            f"{DEFAULT_WAREHOUSE}) or a postgresql:// URL"
        )
    if Path(text).expanduser().is_dir():
        return (
            f"{text} is a folder: give the DuckDB file in it, e.g. {Path(text) / 'revenue.duckdb'}"
        )
    return None


class WarehouseLockedError(RuntimeError):
    """The DuckDB file is held by another process; the message names it and what to do."""


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

    @property
    def published_copy(self) -> Path:
        """Where runs publish the marts for readers: `<dir>/published/<stem>.duckdb`."""
        return self.path.parent / "published" / f"{self.path.stem}.duckdb"

    # ------------------------------------------------------------------ locks

    def locked_error(self, error: BaseException) -> WarehouseLockedError | None:
        """DuckDB's lock error as one line naming the holder and what to do; None for any
        other error."""
        text = str(error)
        if "Could not set lock" not in text and "Conflicting lock" not in text:
            return None
        match = _LOCK_HOLDER.search(text)
        holder = f"{match['program']} (PID {match['pid']})" if match else "another process"
        return WarehouseLockedError(
            f"the warehouse {self.target} is locked by {holder}. DuckDB lets one process "
            "write a file or several read it, not both: readers (BI tools, notebooks, "
            "exports) should open the published copy "
            f"{os.environ.get('REVWH_PUBLISHED_WAREHOUSE') or self.published_copy}, which runs "
            "never lock. Close that process or wait for it, then run again."
        )

    def check_writable(self) -> None:
        """Raise WarehouseLockedError when another process holds the DuckDB file now."""
        if self.is_postgres or not self.path.is_file():
            return
        import duckdb

        try:
            duckdb.connect(self.target).close()
        except duckdb.IOException as error:
            raise self.locked_error(error) or error from None

    @contextmanager
    def writer(self, wait_seconds: float | None = None) -> Iterator[None]:
        """Hold the warehouse for one writing run: a second run on the same DuckDB file waits
        up to `wait_seconds` (REVWH_WAREHOUSE_WAIT_SECONDS, default 120) for the first to
        finish, then stops with a WarehouseLockedError naming it; it never interleaves
        its loads and builds with the first's. PostgreSQL takes writers side by side."""
        if self.is_postgres:
            yield
            return
        from filelock import FileLock, Timeout

        if wait_seconds is None:
            wait_seconds = float(os.environ.get("REVWH_WAREHOUSE_WAIT_SECONDS", WAIT_SECONDS))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        holder_file = self.path.with_name(f"{self.path.name}.writer.json")
        lock = FileLock(str(self.path.with_name(f"{self.path.name}.writer.lock")))
        try:
            lock.acquire(timeout=wait_seconds)
        except Timeout:
            try:
                holder = json.loads(holder_file.read_text())
            except (OSError, ValueError):
                holder = {}
            raise WarehouseLockedError(
                f"another run is writing the warehouse {self.target}: "
                f"{holder.get('command', 'a process')} (PID {holder.get('pid', '?')}, since "
                f"{holder.get('since', '?')}); waited {wait_seconds:g} s. Wait for it to "
                "finish, or set REVWH_WAREHOUSE_WAIT_SECONDS to wait longer."
            ) from None
        try:
            holder_file.write_text(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "command": " ".join(
                            Path(a).name if i == 0 else a for i, a in enumerate(sys.argv[:2])
                        ),
                        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                    }
                )
            )
            yield
        finally:
            holder_file.unlink(missing_ok=True)
            lock.release()

    def backup(self, destination: str | Path, wait_seconds: float | None = None) -> Path:
        """A consistent copy of the DuckDB file at `destination`: a `.duckdb` file, or a
        folder to write `<name>-<UTC time>.duckdb` in. It is taken between runs: holding the writer lock
        as a run does (waiting for one that writes, see `writer`), after a checkpoint has
        moved the write-ahead log into the file; the copy gets its name only when complete.
        A PostgreSQL warehouse is backed up with PostgreSQL's own tools (pg_dump)."""
        if self.is_postgres:
            raise ValueError(
                f"{self}: a PostgreSQL warehouse is backed up with pg_dump, not copied"
            )
        target = Path(destination).expanduser()
        if target.is_dir() or target.suffix != ".duckdb":
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            target = target / f"{self.path.stem}-{stamp}.duckdb"
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.partial")
        with self.writer(wait_seconds):
            with self.connect(read_only=False) as con:
                con.execute("CHECKPOINT")
            shutil.copyfile(self.path, partial)
        partial.replace(target)
        return target

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

            try:
                con = duckdb.connect(self.target, read_only=read_only)
            except duckdb.IOException as error:
                raise self.locked_error(error) or error from None
        try:
            yield con
        finally:
            con.close()
