"""The dlt source over the app database: dlt's `sql_database` with the data contracts applied.

Per table: column hints, primary key and schema-contract mode from
`data_contracts/raw_app/<table>.yml`, `merge` on the primary key, incremental on
`updated_at`, and the contract gate that sends rows breaking the contract to
`raw_app.app_db_rejects`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import dlt
import sqlalchemy as sa
from dlt.sources.sql_database import sql_database

from ingestion import contracts

from .database import duplicate_keys, loosen_sqlite_types
from .gate import REJECTS_TABLE, ContractGate

DATASET = "raw_app"
SOURCE_NAME = "app_db"
CURSOR = "updated_at"
# Each load reads again the rows updated up to this long before the last cursor: a row
# committed late (a long transaction) can carry an updated_at older than rows already
# loaded; merge on the primary key makes reading a row twice harmless.
CURSOR_LAG = timedelta(hours=1)
TABLES = (
    "plans",
    "accounts",
    "users",
    "transactions",
    "usage_daily",
    "activation_events",
    "support_tickets",
    "nps_responses",
)
# Rows per page from the database: large enough that per-page overhead vanishes, small
# enough that a page of dicts stays a few tens of MB.
CHUNK_SIZE = 20_000


def app_db_source(
    engine: sa.Engine,
    tables: list[str],
    loaded_at: datetime,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[str], None] | None = None,
) -> tuple[dlt.sources.DltSource, dict[str, ContractGate]]:
    """The source and the contract gate of each table (the gates count what they pass)."""
    sqlite = engine.dialect.name == "sqlite"
    source = sql_database.with_args(name=SOURCE_NAME)(
        credentials=engine,
        table_names=list(tables),
        chunk_size=chunk_size,
        # dicts, so that every row can be checked in Python (pyarrow is not installed)
        backend="sqlalchemy",
        # column types come from the contracts, not from reflection
        reflection_level="minimal",
        detect_precision_hints=None,  # its default False only triggers a deprecation warning
        table_adapter_callback=loosen_sqlite_types if sqlite else None,
    )
    rejects = contracts.load(DATASET, REJECTS_TABLE)
    gates: dict[str, ContractGate] = {}
    for table in tables:
        contract = contracts.load(DATASET, table)
        resource = source.resources[table]
        # The quarantine table is a variant of every table's resource with hints of its own.
        # Variants start from a copy of the resource's hints: set them before the
        # incremental (not allowed in variants) and clear the copied columns first.
        resource.apply_hints(table_name=REJECTS_TABLE, create_table_variant=True, columns={})
        resource.apply_hints(
            table_name=REJECTS_TABLE,
            create_table_variant=True,
            write_disposition="merge",
            primary_key=list(rejects.primary_key),
            columns=rejects.dlt_columns(),
            schema_contract=rejects.schema_contract,
        )
        resource.apply_hints(
            write_disposition="merge",
            primary_key=list(contract.primary_key),
            columns=contract.dlt_columns(),
            schema_contract=contract.schema_contract,
            incremental=dlt.sources.incremental(
                CURSOR,
                # `>=` the last cursor: rows updated in the same second as the last load
                # are read again rather than lost; merge on the primary key absorbs them.
                range_start="closed",
                lag=CURSOR_LAG.total_seconds(),
                # and no dedup state on the boundary: it would key on the primary key and
                # skip a row changed again within that same second
                primary_key=(),
                # quarantine rows carry no cursor and pass (see ContractGate._reject)
                on_cursor_value_missing="include",
            ),
        )
        gate = ContractGate(
            contract,
            loaded_at,
            cursor=CURSOR,
            progress=progress,
            duplicate_keys=duplicate_keys(engine, table, contract.primary_key),
        )
        resource.add_step(gate)
        gates[table] = gate
    return source, gates
