"""Reaching the app database: URLs, connection checks and SQLite's loose typing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url


class AppDatabaseError(RuntimeError):
    """The app database cannot be read (unusable URL, unreachable, wrong credentials)."""


def resolve_url(url: str | None) -> tuple[URL | None, str | None]:
    """The SQLAlchemy URL to read, or None and the reason to skip the load.

    A plain file path means a SQLite file. A SQLite file that does not exist is a reason to
    skip, not an error: SQLAlchemy would silently create an empty database there."""
    if not url:
        return None, "no app database configured"
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise AppDatabaseError(f"not a database URL: {redact(url)}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        # SQLAlchemy 2.1 defaults to psycopg 3, which is not installed; psycopg2 is
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            return None, f"{redact(parsed)} is an in-memory SQLite database: nothing to load"
        if not Path(database).is_file():
            return None, f"the app database {database} does not exist"
    return parsed, None


def redact(url: URL | str) -> str:
    """The URL as text without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"


def create_engine(url: URL) -> sa.Engine:
    connect_args = {}
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg2":
        # The app stores UTC in `timestamp without time zone`: a UTC session compares the
        # cursor (which dlt may hand back with a time zone) without shifting it.
        connect_args = {"connect_timeout": 10, "options": "-c timezone=UTC"}
    try:
        return sa.create_engine(url, connect_args=connect_args)
    except (sa.exc.ArgumentError, ImportError) as exc:  # unknown dialect, driver missing
        raise AppDatabaseError(f"cannot use the app database at {redact(url)}: {exc}") from exc


def check_connection(engine: sa.Engine, tables: list[str]) -> list[str]:
    """Connect once (clear error naming the URL without password); return missing tables."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            present = set(sa.inspect(conn).get_table_names())
    except sa.exc.SQLAlchemyError as exc:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        cause = lines[0] if lines else type(exc).__name__
        raise AppDatabaseError(
            f"cannot connect to the app database at {redact(engine.url)}: {cause}"
        ) from exc
    return [t for t in tables if t not in present]


# SQLite does not enforce column types. Its SQLAlchemy date/time types raise on text they
# cannot parse, which would abort the whole load for one bad value; these pass such values
# through so that the contract check quarantines the row instead.
class _LooseTimestamp(sa.types.TypeDecorator):
    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            # the stored form, 'YYYY-MM-DD HH:MM:SS': the cursor comparison is textual here,
            # and SQLAlchemy's default '.000000' suffix would skip rows equal to the cursor
            return value.isoformat(sep=" ")
        return value

    def process_result_value(self, value, dialect):
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                return value
        return value


class _LooseDate(sa.types.TypeDecorator):
    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return value.isoformat() if isinstance(value, date) else value

    def process_result_value(self, value, dialect):
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                return value
        return value


class _LooseBool(sa.types.TypeDecorator):
    impl = sa.Integer
    cache_ok = True

    def process_result_value(self, value, dialect):
        # only 0/1 are booleans; anything else reaches the contract check as it is
        return bool(value) if value in (0, 1) and not isinstance(value, str) else value


def loosen_sqlite_types(table: sa.Table) -> None:
    """sql_database table adapter for SQLite sources (changes column types in place)."""
    for column in table.columns:
        if isinstance(column.type, sa.DateTime):
            column.type = _LooseTimestamp()
        elif isinstance(column.type, sa.Date):
            column.type = _LooseDate()
        elif isinstance(column.type, sa.Boolean):
            column.type = _LooseBool()


def duplicate_keys(engine: sa.Engine, table: str, key: Sequence[str]) -> set[tuple]:
    """The values of `key` that more than one row of `table` holds, or none when the database
    itself keeps the key unique (a primary key or unique constraint on exactly these
    columns): only then can it happen, and then the check is one GROUP BY."""
    inspector = sa.inspect(engine)
    wanted = set(key)
    enforced = [inspector.get_pk_constraint(table).get("constrained_columns") or []]
    enforced += [u["column_names"] for u in inspector.get_unique_constraints(table)]
    enforced += [i["column_names"] for i in inspector.get_indexes(table) if i.get("unique")]
    if any(set(columns) == wanted for columns in enforced):
        return set()
    columns = [sa.column(name) for name in key]
    query = (
        sa.select(*columns)
        .select_from(sa.table(table))
        .group_by(*columns)
        .having(sa.func.count() > 1)
    )
    with engine.connect() as connection:
        return {tuple(row) for row in connection.execute(query)}
