"""A read-only copy of the marts for analysts and BI tools, published with an atomic swap.

DuckDB allows one read-write process or many readers per file, not both: a BI tool holding
the warehouse would block the pipeline. After each successful build the marts are copied
into a new DuckDB file beside the published one, which then replaces it with `os.replace`
(atomic on POSIX). Readers open the published file read-only; one that holds the old file
open keeps reading the old version until it reconnects, never a half-built mart, and never
blocks the pipeline.

    result = publish_marts("warehouse/revenue.duckdb")   # -> warehouse/published/revenue.duckdb
    con = connect_published()                            # read_only

The copy is written in an older storage format (REVWH_PUBLISHED_STORAGE_VERSION, default
v1.0.0) than the project's DuckDB writes, since BI tools bundle DuckDB 1.x, which refuses
newer files; the tables' and columns' comments (dbt's descriptions) are copied with them.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from core.warehouse import Warehouse

PUBLISHED_ENV = "REVWH_PUBLISHED_WAREHOUSE"
STORAGE_VERSION_ENV = "REVWH_PUBLISHED_STORAGE_VERSION"
# DuckDB's STORAGE_VERSION values the copy may be written in; a file in one is read by that
# DuckDB release and every later one. v1.0.0 (the format DuckDB 0.10 to 1.1 write) is read
# by every DuckDB since 0.10, older than any the BI tools' drivers bundle today.
STORAGE_VERSIONS = ("v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0", "v1.5.0", "v2.0.0")
DEFAULT_STORAGE_VERSION = "v1.0.0"
META_SCHEMA = "marts"
META_TABLE = "_published"
# connect_published's catalog name: not the file's stem, which may equal a schema ("marts")
PUBLISHED_CATALOG = "revwh_published"


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: list[str]  # "schema.name", in copy order
    rows: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    seconds: float = 0.0
    published_at: datetime | None = None
    storage_version: str = ""

    def summary(self) -> str:
        return (
            f"published {len(self.tables)} table(s), {sum(self.rows.values())} row(s), "
            f"{self.bytes} bytes to {self.path} in {self.seconds:.2f}s"
        )


def default_published_path(warehouse: str | Path) -> Path:
    """`<warehouse dir>/published/<warehouse stem>.duckdb` (Warehouse.published_copy)."""
    return Warehouse.of(warehouse).published_copy


def published_path(warehouse: str | Path, published: str | Path | None = None) -> Path:
    """The given path, else REVWH_PUBLISHED_WAREHOUSE, else the default beside the
    warehouse."""
    chosen = published or os.environ.get(PUBLISHED_ENV) or default_published_path(warehouse)
    return Path(chosen)


def resolve_storage_version(chosen: str | None = None) -> str:
    """The given storage version, else REVWH_PUBLISHED_STORAGE_VERSION, else v1.0.0; raises
    ValueError (one line naming the setting and its values) for any other."""
    source = "storage_version" if chosen else STORAGE_VERSION_ENV
    value = (chosen or os.environ.get(STORAGE_VERSION_ENV) or DEFAULT_STORAGE_VERSION).strip()
    if value not in STORAGE_VERSIONS:
        raise ValueError(
            f"{source}: {value!r} is not a storage version the published copy can be written "
            f"in; use one of {', '.join(STORAGE_VERSIONS)} (the oldest DuckDB that reads it)"
        )
    return value


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _relations(con: duckdb.DuckDBPyConnection, schemas: Iterable[str]) -> list[tuple[str, str]]:
    """(schema, name) of every table and view of `schemas` in the connection's database."""
    wanted = list(dict.fromkeys(schemas))
    if not wanted:
        return []
    marks = ", ".join("?" for _ in wanted)
    return [
        (schema, name)
        for schema, name in con.execute(
            f"""
            select schema_name, table_name from duckdb_tables()
            where database_name = current_database() and not temporary
              and schema_name in ({marks})
            union all
            select schema_name, view_name from duckdb_views()
            where database_name = current_database() and not temporary and not internal
              and schema_name in ({marks})
            order by 1, 2
            """,
            [*wanted, *wanted],
        ).fetchall()
        if name != META_TABLE
    ]


def _copy_comments(
    con: duckdb.DuckDBPyConnection, database: str, alias: str, relations: list[tuple[str, str]]
) -> None:
    """The tables' (or views') and columns' comments of `relations` onto their copies under
    `alias`: CREATE TABLE AS keeps neither."""
    wanted = set(relations)
    comments = con.execute(
        """
        select schema_name, table_name, null as column_name, comment from duckdb_tables()
        where database_name = ? and comment is not null
        union all
        select schema_name, view_name, null, comment from duckdb_views()
        where database_name = ? and comment is not null
        union all
        select schema_name, table_name, column_name, comment from duckdb_columns()
        where database_name = ? and comment is not null
        """,
        [database, database, database],
    ).fetchall()
    for schema, name, column, comment in comments:
        if (schema, name) not in wanted:
            continue
        target = f"{alias}.{quote_ident(schema)}.{quote_ident(name)}"
        if column is None:
            con.execute(f"comment on table {target} is {quote_literal(comment)}")
        else:
            con.execute(
                f"comment on column {target}.{quote_ident(column)} is {quote_literal(comment)}"
            )


def _fsync(path: Path) -> None:
    flags = (os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# the marts, and the ChartMogul sync's state and log (serving/chartmogul_sync) for analysts
PUBLISHED_SCHEMAS = ("marts", "chartmogul_sync")


def publish_marts(
    warehouse: str | Path,
    published: str | Path | None = None,
    schemas: Iterable[str] = PUBLISHED_SCHEMAS,
    *,
    connection: duckdb.DuckDBPyConnection | None = None,
    storage_version: str | None = None,
) -> PublishResult:
    """Copy every table and view of `schemas` (as tables, same column types and comments)
    into a new DuckDB file, written in `storage_version` (see `resolve_storage_version`),
    and swap it atomically onto the published path. Pass `connection` when the caller already holds
    the warehouse's read-write connection; otherwise the warehouse is opened here (and
    closed). Returns what was published; on any failure the temporary file is removed and
    the published file is left as it was."""
    started = time.perf_counter()
    version = resolve_storage_version(storage_version)
    warehouse = Path(warehouse)
    target = published_path(warehouse, published)
    schemas = list(dict.fromkeys(schemas))
    if connection is None and not warehouse.is_file():
        raise FileNotFoundError(f"no DuckDB warehouse at {warehouse}")
    if target.resolve() == warehouse.resolve():
        raise ValueError("the published copy cannot replace the warehouse itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    temp = target.parent / f".{target.name}.{token}.tmp"
    temp_wal = temp.with_name(temp.name + ".wal")
    alias = f"revwh_publish_{token}"

    con = connection if connection is not None else duckdb.connect(str(warehouse))
    attached = False
    try:
        relations = _relations(con, schemas)
        (database,) = con.execute("select current_database()").fetchone()
        # fully qualified: a warehouse file named like a schema (marts.duckdb) is ambiguous
        source = quote_ident(database)
        con.execute(
            f"attach {quote_literal(str(temp))} as {alias} "
            f"(storage_version {quote_literal(version)})"
        )
        attached = True
        for schema in dict.fromkeys([*schemas, META_SCHEMA]):
            con.execute(f"create schema if not exists {alias}.{quote_ident(schema)}")
        rows: dict[str, int] = {}
        for schema, name in relations:
            qualified = f"{quote_ident(schema)}.{quote_ident(name)}"
            con.execute(f"create table {alias}.{qualified} as select * from {source}.{qualified}")
            (count,) = con.execute(f"select count(*) from {alias}.{qualified}").fetchone()
            rows[f"{schema}.{name}"] = int(count)
        _copy_comments(con, database, alias, relations)
        published_at = datetime.now(UTC)
        meta = f"{alias}.{quote_ident(META_SCHEMA)}.{quote_ident(META_TABLE)}"
        con.execute(
            f"""create table {meta} (
                published_at timestamptz not null,
                source_warehouse varchar not null,
                table_schema varchar not null,
                table_name varchar not null,
                row_count bigint not null
            )"""
        )
        if rows:
            con.executemany(
                f"insert into {meta} values (?, ?, ?, ?, ?)",
                [
                    [published_at, str(warehouse.resolve()), *key.split(".", 1), count]
                    for key, count in rows.items()
                ],
            )
        con.execute(f"checkpoint {alias}")
        con.execute(f"detach {alias}")
        attached = False
        _fsync(temp)
        # a WAL beside the target belongs to its old version: never replay it on the new one
        _remove(target.with_name(target.name + ".wal"))
        os.replace(temp, target)
        _fsync(target.parent)
    except BaseException:
        if attached:
            with contextlib.suppress(Exception):
                con.execute(f"detach {alias}")
        _remove(temp, temp_wal)
        raise
    finally:
        if connection is None:
            con.close()
    _remove(temp_wal)
    return PublishResult(
        path=target,
        tables=list(rows),
        rows=rows,
        bytes=target.stat().st_size,
        seconds=time.perf_counter() - started,
        published_at=published_at,
        storage_version=version,
    )


def connect_published(path: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published marts: `path`, else
    REVWH_PUBLISHED_WAREHOUSE, else the default beside the warehouse (REVWH_WAREHOUSE).

    The file is attached read-only to a fresh in-memory database (catalog
    `revwh_published`, made the default): every call reads the file's current version, and
    `marts.x` is never ambiguous whatever the file is called."""
    if path is None:
        warehouse = Warehouse.of(None)
        if warehouse.is_postgres and not os.environ.get(PUBLISHED_ENV):
            raise ValueError(f"the warehouse is PostgreSQL: set {PUBLISHED_ENV} or pass a path")
        path = published_path(warehouse.target)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no published warehouse at {path}: run publish_marts first")
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach {quote_literal(str(path))} as {PUBLISHED_CATALOG} (read_only)")
        con.execute(f"use {PUBLISHED_CATALOG}")
    except BaseException:
        con.close()
        raise
    return con
