"""The PostgreSQL server on 127.0.0.1:5432 for tests: a fresh database per use.

Where no server answers, tests skip with the reason, except in CI (CI=true), where they
fail: CI must run them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import pytest

HOST = os.environ.get("REVWH_TEST_PGHOST", "127.0.0.1")
PORT = int(os.environ.get("REVWH_TEST_PGPORT", "5432"))
USER = os.environ.get("REVWH_TEST_PGUSER", "postgres")


def _admin():
    return psycopg2.connect(host=HOST, port=PORT, user=USER, dbname="postgres", connect_timeout=3)


@contextmanager
def fresh_database(prefix: str = "revwh_test") -> Iterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, drop it afterwards."""
    try:
        admin = _admin()
    except psycopg2.OperationalError as exc:
        reason = f"no PostgreSQL server at {HOST}:{PORT} as {USER}: {exc}".strip()
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests, but {reason}")
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg2://{USER}@{HOST}:{PORT}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
