"""The product's own database: schema (portable to PostgreSQL) and bulk writing.

Timestamps are UTC text `YYYY-MM-DD HH:MM:SS` in columns typed TIMESTAMP, money is integer
minor units with its ISO currency, and every table has `updated_at` for incremental loads.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .catalog import GATEWAY_PRICES, PLANS

TABLES: dict[str, str] = {
    "plans": """
        plan_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        is_free BOOLEAN NOT NULL,
        per_seat BOOLEAN NOT NULL,
        single_user BOOLEAN NOT NULL,
        max_seats INTEGER NOT NULL,
        monthly_event_limit INTEGER NOT NULL,
        list_price_usd_monthly_minor INTEGER NOT NULL,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL""",
    "accounts": """
        account_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        owner_user_id TEXT NOT NULL,
        stripe_customer_id TEXT,
        billing_gateway TEXT,
        plan_id TEXT NOT NULL REFERENCES plans (plan_id),
        seats INTEGER NOT NULL,
        acquisition_channel TEXT NOT NULL,
        utm_source TEXT,
        utm_medium TEXT,
        utm_campaign TEXT,
        country TEXT NOT NULL,
        currency TEXT NOT NULL,
        signed_up_at TIMESTAMP NOT NULL,
        trial_started_at TIMESTAMP,
        trial_ends_at TIMESTAMP,
        converted_at TIMESTAMP,
        status TEXT NOT NULL,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL""",
    "users": """
        user_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (account_id),
        email TEXT NOT NULL,
        full_name TEXT NOT NULL,
        role TEXT NOT NULL,
        signed_up_at TIMESTAMP NOT NULL,
        last_login_at TIMESTAMP,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL""",
    "transactions": """
        transaction_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts (account_id),
        user_id TEXT NOT NULL,
        gateway TEXT NOT NULL,
        gateway_reference TEXT NOT NULL,
        gateway_subscription_id TEXT,
        product_type TEXT NOT NULL,
        plan_id TEXT,
        billing_interval TEXT,
        quantity INTEGER NOT NULL,
        amount_minor BIGINT NOT NULL,
        currency TEXT NOT NULL,
        service_period_start DATE,
        service_period_end DATE,
        status TEXT NOT NULL,
        refunded_amount_minor BIGINT NOT NULL,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL""",
    "usage_daily": """
        usage_date DATE NOT NULL,
        account_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        feature TEXT NOT NULL,
        event_count INTEGER NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        PRIMARY KEY (usage_date, user_id, feature)""",
    "activation_events": """
        event_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        event_name TEXT NOT NULL,
        occurred_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL""",
    "support_tickets": """
        ticket_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        category TEXT NOT NULL,
        priority TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TIMESTAMP NOT NULL,
        first_response_at TIMESTAMP,
        resolved_at TIMESTAMP,
        satisfaction_score INTEGER,
        opened_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL""",
    "nps_responses": """
        response_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        score INTEGER NOT NULL,
        comment TEXT,
        responded_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL""",
}
# Rows are written in dependency order so foreign keys hold in PostgreSQL too.
TABLE_ORDER = (
    "plans",
    "accounts",
    "users",
    "transactions",
    "usage_daily",
    "activation_events",
    "support_tickets",
    "nps_responses",
)


def ddl(table: str) -> str:
    return f"CREATE TABLE {table} ({TABLES[table]}\n)"


def column_count(table: str) -> int:
    body = TABLES[table]
    return sum(
        1 for line in body.strip().splitlines() if not line.strip().startswith("PRIMARY KEY")
    )


def create(path: Path) -> sqlite3.Connection:
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    for table in TABLE_ORDER:
        conn.execute(ddl(table))
    return conn


def insert(conn: sqlite3.Connection, table: str, rows) -> None:
    marks = ", ".join("?" * column_count(table))
    conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


def plan_rows(created_at: str):
    for plan in PLANS.values():
        yield (
            plan.plan_id,
            plan.name,
            plan.is_free,
            plan.per_seat,
            plan.max_seats == 1,
            plan.max_seats,
            plan.monthly_event_limit,
            GATEWAY_PRICES.get((plan.plan_id, "month", "usd"), 0),
            created_at,
            created_at,
        )


def merge_parts(target: Path, parts: list[Path], created_at: str) -> dict[str, int]:
    """Build the final database from per-chunk files, in chunk order (deterministic)."""
    conn = create(target)
    insert(conn, "plans", plan_rows(created_at))
    for part in parts:
        conn.execute("ATTACH DATABASE ? AS part", (str(part),))
        for table in TABLE_ORDER[1:]:
            conn.execute(f"INSERT INTO main.{table} SELECT * FROM part.{table}")
        conn.commit()
        conn.execute("DETACH DATABASE part")
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLE_ORDER}
    conn.execute("VACUUM")
    conn.close()
    return counts


def copy_to_database(sqlite_path: Path, target_url: str, batch_size: int = 5_000) -> dict:
    """Load the app database into another database (PostgreSQL in production) through
    SQLAlchemy, with the same DDL. The target must not have the tables yet."""
    import sqlalchemy as sa

    source = sa.create_engine(f"sqlite:///{sqlite_path}")
    target = sa.create_engine(target_url)
    counts = {}
    source_meta = sa.MetaData()
    source_meta.reflect(source)
    with target.begin() as tconn:
        for table in TABLE_ORDER:
            tconn.execute(sa.text(ddl(table)))
    target_meta = sa.MetaData()
    target_meta.reflect(target, only=list(TABLE_ORDER))
    with source.connect() as sconn, target.begin() as tconn:
        for table in TABLE_ORDER:
            result = sconn.execution_options(stream_results=True).execute(
                source_meta.tables[table].select()
            )
            counts[table] = 0
            while batch := result.fetchmany(batch_size):
                tconn.execute(target_meta.tables[table].insert(), [r._asdict() for r in batch])
                counts[table] += len(batch)
    source.dispose()
    target.dispose()
    return counts
