"""What the sync knows it sent, in schema `chartmogul_sync` of the warehouse (DuckDB or
PostgreSQL, the same SQL), for the next run and for analysts:

- `object_state`: one row per (object_type, external_id): ChartMogul's uuid, the sha256 of
  the content last sent (`content_hash`) and of the content last tried (`attempted_hash`,
  which a parked object must change to be tried again), the status (sent, failed, parked,
  refused, deleted), the failed runs in a row, the last error, and when;
- `sync_log`: one row per (run_id, object_type): the run's counts, requests and up to 20
  sample errors as JSON text.

Rows are upserted by key, so a run repeated or resumed never doubles one. The sync keeps the
state in memory (`StateBook`, thread-safe) and writes what changed in short transactions
(`write`), opening the warehouse only then: a DuckDB file is not held during HTTP calls.
"""

from __future__ import annotations

import threading
from dataclasses import astuple, dataclass, fields, replace
from datetime import UTC, datetime

from core.warehouse import Warehouse

SCHEMA = "chartmogul_sync"
STATE_TABLE = f"{SCHEMA}.object_state"
LOG_TABLE = f"{SCHEMA}.sync_log"

SENT, FAILED, PARKED, REFUSED, DELETED = "sent", "failed", "parked", "refused", "deleted"
MAX_SAMPLE_ERRORS = 20

DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {STATE_TABLE} (
        object_type varchar not null,
        external_id varchar not null,
        owner_external_id varchar,
        chartmogul_uuid varchar,
        content_hash varchar,
        attempted_hash varchar,
        status varchar not null,
        failed_runs integer not null,
        last_error varchar,
        first_sent_at timestamp,
        last_sent_at timestamp,
        last_attempt_at timestamp,
        last_run_id varchar,
        primary key (object_type, external_id)
    )""",
    f"""create table if not exists {LOG_TABLE} (
        run_id varchar not null,
        object_type varchar not null,
        started_at timestamp not null,
        finished_at timestamp,
        created integer not null,
        updated integer not null,
        deleted integer not null,
        unchanged integer not null,
        failed integer not null,
        refused integer not null,
        parked integer not null,
        requests integer not null,
        error_details varchar,
        dry_run boolean not null,
        primary key (run_id, object_type)
    )""",
)


def one_line(text: str, limit: int = 500) -> str:
    """An error as stored and shown: one line, at most `limit` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def utc_now() -> datetime:
    """Naive UTC, as the warehouse's timestamps are."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass
class StateRow:
    object_type: str
    external_id: str
    owner_external_id: str | None = None
    chartmogul_uuid: str | None = None
    content_hash: str | None = None
    attempted_hash: str | None = None
    status: str = FAILED
    failed_runs: int = 0
    last_error: str | None = None
    first_sent_at: datetime | None = None
    last_sent_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_run_id: str | None = None


STATE_COLUMNS = tuple(f.name for f in fields(StateRow))


@dataclass
class LogRow:
    run_id: str
    object_type: str
    started_at: datetime
    finished_at: datetime | None
    created: int
    updated: int
    deleted: int
    unchanged: int
    failed: int
    refused: int
    parked: int
    requests: int
    error_details: str | None
    dry_run: bool


LOG_COLUMNS = tuple(f.name for f in fields(LogRow))


# ---------------------------------------------------------------- reading


def _table_exists(con, schema: str, table: str, placeholder: str) -> bool:
    sql = (
        "select count(*) from information_schema.tables "
        f"where table_schema = {placeholder} and table_name = {placeholder}"
    )
    cursor = con.cursor()
    try:
        cursor.execute(sql, (schema, table))
        return bool(cursor.fetchone()[0])
    finally:
        cursor.close()


def placeholder(warehouse: Warehouse) -> str:
    return "%s" if warehouse.is_postgres else "?"


def read_state(con, warehouse: Warehouse) -> dict[tuple[str, str], StateRow]:
    """Every object's state (empty before the first run)."""
    if not _table_exists(con, SCHEMA, "object_state", placeholder(warehouse)):
        return {}
    cursor = con.cursor()
    try:
        cursor.execute(f"select {', '.join(STATE_COLUMNS)} from {STATE_TABLE}")
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return {(r[0], r[1]): StateRow(*r) for r in rows}


# ---------------------------------------------------------------- writing

_STATE_UPSERT = (
    f"insert into {STATE_TABLE} ({', '.join(STATE_COLUMNS)}) "
    f"select {', '.join(STATE_COLUMNS)} from incoming_state "
    "on conflict (object_type, external_id) do update set "
    + ", ".join(f"{c} = excluded.{c}" for c in STATE_COLUMNS[2:])
)
_LOG_UPSERT = (
    f"insert into {LOG_TABLE} ({', '.join(LOG_COLUMNS)}) "
    f"select {', '.join(LOG_COLUMNS)} from incoming_log "
    "on conflict (run_id, object_type) do update set "
    + ", ".join(f"{c} = excluded.{c}" for c in LOG_COLUMNS[2:])
)


def _arrow_table(rows: list, columns: tuple[str, ...], types: dict):
    import pyarrow as pa  # type: ignore[import-untyped]

    data = list(zip(*(astuple(r) for r in rows), strict=True)) if rows else [()] * len(columns)
    return pa.table(
        {
            name: pa.array(list(values), type=types[name])
            for name, values in zip(columns, data, strict=True)
        }
    )


def _arrow_types(row_type) -> dict:
    import pyarrow as pa  # type: ignore[import-untyped]

    kinds = {
        "str": pa.string(),
        "str | None": pa.string(),
        "int": pa.int64(),
        "bool": pa.bool_(),
        "datetime": pa.timestamp("us"),
        "datetime | None": pa.timestamp("us"),
    }
    return {f.name: kinds[str(f.type)] for f in fields(row_type)}


def _stage_duckdb(con, name: str, rows: list, columns: tuple[str, ...], row_type) -> None:
    con.register(name, _arrow_table(rows, columns, _arrow_types(row_type)))


def _stage_postgres(con, name: str, rows: list, columns: tuple[str, ...], source: str) -> None:
    from psycopg2.extras import execute_values

    cursor = con.cursor()
    try:
        cursor.execute(
            f"create temporary table {name} on commit drop as "
            f"select {', '.join(columns)} from {source} with no data"
        )
        execute_values(
            cursor,
            f"insert into {name} ({', '.join(columns)}) values %s",
            [astuple(r) for r in rows],
            page_size=1000,
        )
    finally:
        cursor.close()


def write(warehouse: Warehouse, state_rows: list[StateRow], log_rows: list[LogRow]) -> None:
    """Create the tables if missing and upsert the rows, in one short transaction."""
    with warehouse.connect(read_only=False) as con:
        cursor = con.cursor()
        try:
            if not warehouse.is_postgres:
                cursor.execute("begin transaction")
            for statement in DDL:
                cursor.execute(statement)
            for rows, name, columns, row_type, table, upsert in (
                (state_rows, "incoming_state", STATE_COLUMNS, StateRow, STATE_TABLE, _STATE_UPSERT),
                (log_rows, "incoming_log", LOG_COLUMNS, LogRow, LOG_TABLE, _LOG_UPSERT),
            ):
                if not rows:
                    continue
                if warehouse.is_postgres:
                    _stage_postgres(con, name, rows, columns, table)
                else:
                    _stage_duckdb(cursor, name, rows, columns, row_type)
                cursor.execute(upsert)
                if not warehouse.is_postgres:
                    cursor.unregister(name)
            cursor.execute("commit") if not warehouse.is_postgres else con.commit()
        except BaseException:
            if warehouse.is_postgres:
                con.rollback()
            else:
                cursor.execute("rollback")
            raise
        finally:
            cursor.close()


def forget_state(warehouse: Warehouse) -> int:
    """Delete every object's recorded state (the log stays): the next run sends everything
    to the data source configured then. Returns the rows deleted."""
    with warehouse.connect(read_only=False) as con:
        cursor = con.cursor()
        try:
            if not _table_exists(cursor, SCHEMA, "object_state", placeholder(warehouse)):
                return 0
            cursor.execute(f"select count(*) from {STATE_TABLE}")
            count = int(cursor.fetchone()[0])
            cursor.execute(f"delete from {STATE_TABLE}")
            if warehouse.is_postgres:
                con.commit()
            return count
        finally:
            cursor.close()


# ---------------------------------------------------------------- in memory


class StateBook:
    """The state during a run: what was read, plus what this run did, thread-safe."""

    def __init__(
        self,
        rows: dict[tuple[str, str], StateRow],
        run_id: str,
        park_after: int,
    ):
        self._rows = rows
        self._before = {key: replace(row) for key, row in rows.items()}
        self._dirty: set[tuple[str, str]] = set()
        # objects whose failure this run was ChartMogul's availability, not the object
        self._unavailable: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.run_id = run_id
        self.park_after = park_after
        self.newly_parked: list[tuple[str, str, str]] = []

    def get(self, object_type: str, external_id: str) -> StateRow | None:
        with self._lock:
            row = self._rows.get((object_type, external_id))
            return replace(row) if row else None

    def rows(self, object_type: str | None = None) -> list[StateRow]:
        with self._lock:
            return [
                replace(r)
                for r in self._rows.values()
                if object_type is None or r.object_type == object_type
            ]

    def _row(self, object_type: str, external_id: str, owner: str | None) -> StateRow:
        key = (object_type, external_id)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = StateRow(object_type, external_id)
        if owner is not None:
            row.owner_external_id = owner
        row.last_run_id = self.run_id
        self._dirty.add(key)
        return row

    def sent(
        self,
        object_type: str,
        external_id: str,
        uuid: str | None,
        content_hash: str,
        owner: str | None = None,
    ) -> None:
        now = utc_now()
        with self._lock:
            row = self._row(object_type, external_id, owner)
            row.chartmogul_uuid = uuid or row.chartmogul_uuid
            row.content_hash = row.attempted_hash = content_hash
            row.status, row.failed_runs, row.last_error = SENT, 0, None
            row.first_sent_at = row.first_sent_at or now
            row.last_sent_at = row.last_attempt_at = now
            self._unavailable.discard((object_type, external_id))

    def failed(
        self,
        object_type: str,
        external_id: str,
        error: str,
        attempted_hash: str | None,
        owner: str | None = None,
        *,
        attempted: bool = True,
        unavailable: bool = False,
    ) -> bool:
        """Record a failure; `attempted` False (a dependency was not synced) neither counts
        a failed run nor parks. True when the object is parked by this failure."""
        error = one_line(error)
        with self._lock:
            key = (object_type, external_id)
            row = self._row(object_type, external_id, owner)
            row.last_error = error
            if not attempted:
                if row.status not in (PARKED,):
                    row.status = FAILED
                return False
            before = self._before.get(key)
            row.failed_runs = (before.failed_runs if before else 0) + 1
            row.attempted_hash = attempted_hash
            row.last_attempt_at = utc_now()
            if unavailable:
                self._unavailable.add(key)
            if row.failed_runs >= self.park_after:
                row.status = PARKED
                if before is None or before.status != PARKED:
                    self.newly_parked.append((object_type, external_id, error))
                return True
            row.status = FAILED
            return False

    def refused(
        self,
        object_type: str,
        external_id: str,
        reason: str,
        attempted_hash: str,
        owner: str | None = None,
    ) -> None:
        with self._lock:
            row = self._row(object_type, external_id, owner)
            if (row.status, row.last_error, row.attempted_hash) == (
                REFUSED,
                reason,
                attempted_hash,
            ):
                self._dirty.discard((object_type, external_id))  # nothing new to write
                return
            row.status, row.last_error, row.attempted_hash = REFUSED, reason, attempted_hash

    def deleted(self, object_type: str, external_id: str) -> None:
        """Gone from ChartMogul (deleted, or never to be sent again)."""
        with self._lock:
            row = self._row(object_type, external_id, None)
            row.chartmogul_uuid = row.content_hash = None
            row.status, row.last_error = DELETED, None
            row.last_attempt_at = utc_now()

    def forget_uuid(self, object_type: str, external_id: str) -> None:
        """Deleted from ChartMogul to be imported again: nothing of it is there now."""
        with self._lock:
            row = self._row(object_type, external_id, None)
            row.chartmogul_uuid = row.content_hash = None

    def remember_uuid(self, object_type: str, external_id: str, uuid: str) -> None:
        with self._lock:
            row = self._row(object_type, external_id, None)
            row.chartmogul_uuid = uuid

    def forgive_unavailable(self) -> None:
        """The run stopped because ChartMogul was gone: failures that were its
        availability do not count against the objects."""
        with self._lock:
            for key in self._unavailable:
                row, before = self._rows[key], self._before.get(key)
                row.failed_runs = before.failed_runs if before else 0
                if row.status == PARKED and row.failed_runs < self.park_after:
                    row.status = FAILED
            self.newly_parked = [
                p for p in self.newly_parked if (p[0], p[1]) not in self._unavailable
            ]

    def take_dirty(self) -> list[StateRow]:
        with self._lock:
            rows = [replace(self._rows[key]) for key in sorted(self._dirty)]
            self._dirty.clear()
            return rows

    def put_back(self, rows: list[StateRow]) -> None:
        """Rows a write could not store: written with the next one."""
        with self._lock:
            self._dirty.update((r.object_type, r.external_id) for r in rows)

    def backlog(self) -> dict[str, int]:
        with self._lock:
            counts = {FAILED: 0, PARKED: 0}
            for row in self._rows.values():
                if row.status in counts:
                    counts[row.status] += 1
            return counts
