"""The sandbox app database's schema and rows load into PostgreSQL unchanged."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from sandbox.world.app_db import TABLE_ORDER, copy_to_database
from tests.postgres import fresh_database

pytestmark = pytest.mark.postgres


def test_app_database_loads_into_postgresql(small_world):
    sqlite_path = small_world / "app.sqlite"
    with sqlite3.connect(sqlite_path) as conn:
        expected = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLE_ORDER}
    with fresh_database() as url:
        counts = copy_to_database(sqlite_path, url)
        assert counts == expected
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            for table in TABLE_ORDER:
                assert (
                    conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
                    == expected[table]
                )
            types = dict(
                conn.execute(
                    sa.text(
                        "SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_name = 'transactions'"
                    )
                ).all()
            )
            revenue = conn.execute(
                sa.text("SELECT sum(amount_minor) FROM transactions WHERE status = 'succeeded'")
            ).scalar()
            paid_plans = conn.execute(
                sa.text("SELECT count(*) FROM plans WHERE NOT is_free")
            ).scalar()
        engine.dispose()
    assert types["amount_minor"] == "bigint"
    assert types["service_period_start"] == "date"
    assert types["updated_at"] == "timestamp without time zone"
    assert revenue > 0 and paid_plans == 3
