"""Run a contract's great-expectations suite over a whole raw table of the DuckDB warehouse.

great-expectations 1.24 cannot validate DuckDB through SQLAlchemy (every metric fails), so
the table is streamed out of DuckDB in chunks of `chunk_rows` rows (only the columns the
suite needs) and each chunk is validated with GX's pandas datasource; the per-chunk results
are combined exactly (unexpected counts summed, a few examples kept). What a chunk cannot
decide is answered over the whole table in DuckDB itself:
- column existence, from the table's schema;
- primary-key uniqueness (a duplicate may sit in two different chunks): one GROUP BY over
  the key columns; its unexpected count is every row whose key occurs more than once (a
  key seen twice counts 2), as GX counts it.

Speed (13.4 M rows of raw_app.usage_daily, 17 expectations, 2 cores; see
benchmarks/quality.py): the cost is per row, mostly GX's pandas regex (Python `re` on
every value) and DuckDB -> pandas string conversion; GX's fixed cost is about 40 ms per
chunk, so chunks of 256 Ki-1 Mi rows amortize it. GX's batch fingerprint (hashing every
value of every chunk) is turned off; the next chunk is fetched and the key checked in
DuckDB while GX validates the current chunk.

On PostgreSQL (a `postgresql://` warehouse) GX's SQL datasource validates the table where it
is: every expectation becomes a query over the whole table, nothing is streamed out. Column
existence and key uniqueness are answered the same way as on DuckDB (the schema, one GROUP
BY), so a failure reads the same on both engines.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from quality.expectations import ContractTable, build_suite, find_table
from quality.results import ContractValidation, ExpectationFailure

DUCKDB_VECTOR = 2048  # rows per DuckDB vector: fetch_df_chunk counts in vectors
EXAMPLES = 5
_RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": EXAMPLES}
_EXIST = "expect_column_to_exist"
_NOT_NULL = "expect_column_values_to_not_be_null"  # its examples would all be null
_UNIQUE = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
_lock = threading.Lock()
# duckdb's fetch_df_chunk calls DataFrame.drop(inplace=True), deprecated in pandas 3.1
warnings.filterwarnings(
    "ignore",
    message="The inplace keyword in DataFrame.drop",
    module=r"orchestration\.quality\.validate",
)
_gx: dict[str, Any] = {}


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _kind(expectation) -> str:
    return expectation.expectation_type


def _column_of(expectation) -> str:
    column_list = getattr(expectation, "column_list", None)
    if column_list:
        return ",".join(column_list)
    return expectation.column


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _batch_definition(table: ContractTable):
    """A fresh dataframe asset (and its whole-dataframe batch definition) on the process's
    ephemeral GX context, created once."""
    import great_expectations as gx

    with _lock:
        if "source" not in _gx:
            import great_expectations.execution_engine.pandas_execution_engine as engine
            from great_expectations.data_context.types.base import ProgressBarsConfig

            # GX fingerprints every in-memory batch under this size by hashing all of its
            # values (a batch marker nobody reads here): a third of the time of a chunk
            engine.HASH_THRESHOLD = 0
            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            _gx["source"] = context.data_sources.add_pandas("data_contracts")
        asset = _gx["source"].add_dataframe_asset(f"{table.suite_name}.{uuid.uuid4().hex}")
        return asset, asset.add_batch_definition_whole_dataframe("whole_table")


def _drop_asset(asset) -> None:
    with _lock:
        asset.datasource.delete_asset(asset.name)


def _cursor(con):
    cursor = con.cursor()
    cursor.execute("set enable_progress_bar = false")
    return cursor


def _schema(con, dataset: str, table: str) -> dict[str, str]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [dataset, table],
    ).fetchall()
    return dict(rows)


def _key_duplicates(con, relation: str, key: list[str]) -> tuple[int, list]:
    """Rows whose key occurs more than once, over the whole table, and a few such keys."""
    cursor = _cursor(con)
    try:
        cols = ", ".join(_quote(c) for c in key)
        k = _quote(key[0]) if len(key) == 1 else f"concat_ws('|', {cols})"
        n, examples = cursor.execute(
            f"select coalesce(sum(n), 0), list(k order by k)[1:{EXAMPLES}] from "
            f"(select {k} as k, count(*) as n from {relation} group by {cols} having n > 1)"
        ).fetchone()
        return int(n), list(examples or [])
    finally:
        cursor.close()


def validate_contract_table(
    warehouse: str | Path,
    dataset: str,
    table: str,
    *,
    chunk_rows: int = 262144,
    connection=None,
) -> ContractValidation:
    """Validate every row of `<dataset>.<table>` against its data contract.

    `warehouse`: a DuckDB file, or a PostgreSQL URL (validated in the database through
    GX's SQL datasource; `chunk_rows` and `connection` do not apply). Opens the DuckDB file
    read-only unless `connection` (an open duckdb connection to the warehouse; `warehouse` is
    then only named in messages) is given. A table not created yet passes as skipped; a
    missing warehouse file raises FileNotFoundError."""
    import duckdb

    from core.warehouse import Warehouse

    started = time.perf_counter()
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    item = find_table(dataset, table)
    if connection is None and Warehouse.of(str(warehouse)).is_postgres:
        return _validate_postgres(Warehouse.of(str(warehouse)), item, started)
    close = connection is None
    if close:
        path = Path(warehouse)
        if not path.is_file():
            raise FileNotFoundError(
                f"DuckDB warehouse {path} does not exist: run the pipeline (revwh run) "
                "first, or point the contract checks at the warehouse file"
            )
        connection = duckdb.connect(str(path), read_only=True)
    try:
        return _validate(connection, item, chunk_rows, started)
    finally:
        if close:
            connection.close()


def _validated(
    item: ContractTable, rows: int, expectations: list, failures: list, started: float
) -> ContractValidation:
    """The result of a validation, its failures in the suite's order."""
    order = {(_kind(e), _column_of(e)): i for i, e in enumerate(expectations)}
    failures.sort(key=lambda f: order.get((f.expectation, f.column), len(order)))
    return ContractValidation(
        item.dataset,
        item.table,
        passed=not failures,
        rows=rows,
        expectations=len(expectations),
        failures=failures,
        seconds=time.perf_counter() - started,
    )


def _not_loaded_yet(item: ContractTable, expectations: int, started: float) -> ContractValidation:
    """A table its source has not created yet: nothing to validate, said so."""
    return ContractValidation(
        item.dataset,
        item.table,
        passed=True,
        skipped=True,
        reason=f"table {item.dataset}.{item.table} does not exist in the warehouse yet",
        expectations=expectations,
        seconds=time.perf_counter() - started,
    )


def _validate(con, item: ContractTable, chunk_rows: int, started: float) -> ContractValidation:
    dataset, table = item.dataset, item.table
    expectations = list(build_suite(item).expectations)
    schema = _schema(con, dataset, table)
    if not schema:
        return _not_loaded_yet(item, len(expectations), started)
    relation = f"{_quote(dataset)}.{_quote(table)}"
    rows = int(con.execute(f"select count(*) from {relation}").fetchone()[0])
    missing = {_column_of(e) for e in expectations if _kind(e) == _EXIST} - set(schema)

    failures: list[ExpectationFailure] = []
    chunked, unique = [], []
    for e in expectations:
        kind, column = _kind(e), _column_of(e)
        if kind == _EXIST:
            if column in missing:  # every row lacks it
                failures.append(ExpectationFailure(kind, column, rows))
        elif set(column.split(",")) & missing:
            continue  # reported by its column's existence
        elif kind in _UNIQUE:
            unique.append(e)
        else:
            chunked.append(e)

    with ThreadPoolExecutor(max_workers=1) as pool:
        # DuckDB runs the GROUP BY without the GIL while GX works on the chunks
        keys = [
            (e, pool.submit(_key_duplicates, con, relation, _column_of(e).split(",")))
            for e in unique
        ]
        if chunked and rows:
            failures.extend(_validate_chunks(con, item, relation, schema, chunked, chunk_rows))
        for e, future in keys:
            n, examples = future.result()
            if n:
                failures.append(
                    ExpectationFailure(_kind(e), _column_of(e), n, tuple(map(_jsonable, examples)))
                )

    return _validated(item, rows, expectations, failures, started)


def _select(column: str, data_type: str) -> str:
    # decimals reach pandas as Python Decimal objects (slow, and GX compares them with the
    # contract's numeric bounds anyway): a double is exact enough for a range check
    if data_type.upper().startswith("DECIMAL"):
        return f"cast({_quote(column)} as double) as {_quote(column)}"
    return _quote(column)


def _chunks(con, sql: str, vectors: int, out: queue.Queue, stop: threading.Event) -> None:
    """Producer: DataFrames of the query, then None (or the exception)."""
    cursor = _cursor(con)
    try:
        result = cursor.execute(sql)
        while not stop.is_set():
            frame = result.fetch_df_chunk(vectors)
            if frame is None or len(frame) == 0:
                break
            out.put(frame)
        out.put(None)
    except BaseException as exc:  # handed to the consumer
        out.put(exc)
    finally:
        cursor.close()


def _validate_chunks(con, item, relation, schema, chunked, chunk_rows) -> list[ExpectationFailure]:
    from great_expectations.core import ExpectationSuite

    columns = list(dict.fromkeys(_column_of(e) for e in chunked))
    sql = f"select {', '.join(_select(c, schema[c]) for c in columns)} from {relation}"
    suite = ExpectationSuite(name=f"{item.suite_name}.chunk", expectations=chunked)
    totals: dict[tuple[str, str], list] = {(_kind(e), _column_of(e)): [0, []] for e in chunked}
    vectors = max(1, -(-chunk_rows // DUCKDB_VECTOR))

    frames: queue.Queue = queue.Queue(maxsize=2)  # one chunk ahead of GX
    stop = threading.Event()
    producer = threading.Thread(target=_chunks, args=(con, sql, vectors, frames, stop), daemon=True)
    asset, batch_definition = _batch_definition(item)
    producer.start()
    try:
        while (frame := frames.get()) is not None:
            if isinstance(frame, BaseException):
                raise frame
            batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
            outcome = batch.validate(suite, result_format=_RESULT_FORMAT)
            for r in outcome.results:
                config = r.expectation_config
                key = (config.type, config.kwargs.get("column"))
                info = r.exception_info or {}
                if info.get("raised_exception"):
                    raise RuntimeError(
                        f"{item.dataset}.{item.table}: {config.type} on {key[1]} raised "
                        f"{info.get('exception_message')}"
                    )
                if r.success:
                    continue
                total = totals[key]
                total[0] += int(r.result.get("unexpected_count") or 0)
                room = EXAMPLES - len(total[1])
                if room > 0:
                    total[1].extend((r.result.get("partial_unexpected_list") or [])[:room])
    finally:
        stop.set()
        while producer.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                frames.get(timeout=0.1)
        _drop_asset(asset)
    return [
        ExpectationFailure(
            kind,
            column,
            count,
            () if kind == _NOT_NULL else tuple(_jsonable(v) for v in examples),
        )
        for (kind, column), (count, examples) in totals.items()
        if count
    ]


# ---------------------------------------------------------------------------- PostgreSQL


def _postgres_batch_definition(url: str, item: ContractTable):
    """A table asset of the process's GX context on the warehouse's SQL datasource (one
    datasource per database, created once), and its whole-table batch definition."""
    import hashlib

    import great_expectations as gx

    with _lock:
        if "context" not in _gx:
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            _gx["context"] = context
        context = _gx["context"]
        name = f"warehouse_{hashlib.sha1(url.encode()).hexdigest()[:10]}"
        source = _gx.get(name)
        if source is None:
            source = context.data_sources.add_postgres(name, connection_string=url)
            _gx[name] = source
        asset = source.add_table_asset(
            f"{item.suite_name}.{uuid.uuid4().hex}", table_name=item.table, schema_name=item.dataset
        )
        return asset, asset.add_batch_definition_whole_table("whole_table")


def _pg_schema(cur, dataset: str, table: str) -> dict[str, str]:
    cur.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = %s order by ordinal_position",
        [dataset, table],
    )
    return dict(cur.fetchall())


def _pg_key_duplicates(cur, relation: str, key: list[str]) -> tuple[int, list]:
    cols = ", ".join(_quote(c) for c in key)
    k = f"cast({_quote(key[0])} as text)" if len(key) == 1 else f"concat_ws('|', {cols})"
    cur.execute(
        f"select k, n from (select {k} as k, count(*) as n from {relation} group by {cols} "
        'having count(*) > 1) as duplicated order by k collate "C"'
    )
    rows = cur.fetchall()
    return sum(int(n) for _, n in rows), [k for k, _ in rows[:EXAMPLES]]


def _validate_postgres(warehouse, item: ContractTable, started: float) -> ContractValidation:
    from great_expectations.core import ExpectationSuite

    dataset, table = item.dataset, item.table
    expectations = list(build_suite(item).expectations)
    with warehouse.connect(read_only=True) as con:
        cur = con.cursor()
        schema = _pg_schema(cur, dataset, table)
        if not schema:
            return _not_loaded_yet(item, len(expectations), started)
        relation = f"{_quote(dataset)}.{_quote(table)}"
        cur.execute(f"select count(*) from {relation}")
        rows = int(cur.fetchone()[0])
        missing = {_column_of(e) for e in expectations if _kind(e) == _EXIST} - set(schema)
        failures: list[ExpectationFailure] = []
        in_database = []
        for e in expectations:
            kind, column = _kind(e), _column_of(e)
            if kind == _EXIST:
                if column in missing:
                    failures.append(ExpectationFailure(kind, column, rows))
            elif set(column.split(",")) & missing:
                continue  # reported by its column's existence
            elif kind in _UNIQUE:
                n, examples = _pg_key_duplicates(cur, relation, column.split(","))
                if n:
                    failures.append(
                        ExpectationFailure(kind, column, n, tuple(map(_jsonable, examples)))
                    )
            else:
                in_database.append(e)
    if in_database and rows:
        asset, batch_definition = _postgres_batch_definition(warehouse.url, item)
        try:
            suite = ExpectationSuite(name=f"{item.suite_name}.sql", expectations=in_database)
            outcome = batch_definition.get_batch().validate(suite, result_format=_RESULT_FORMAT)
        finally:
            _drop_asset(asset)
        for r in outcome.results:
            config = r.expectation_config
            column = config.kwargs.get("column")
            info = r.exception_info or {}
            if info.get("raised_exception"):
                raise RuntimeError(
                    f"{dataset}.{table}: {config.type} on {column} raised "
                    f"{info.get('exception_message')}"
                )
            if r.success:
                continue
            examples = (
                ()
                if config.type == _NOT_NULL
                else tuple(
                    _jsonable(v) for v in (r.result.get("partial_unexpected_list") or [])[:EXAMPLES]
                )
            )
            failures.append(
                ExpectationFailure(
                    config.type, column, int(r.result.get("unexpected_count") or 0), examples
                )
            )
    return _validated(item, rows, expectations, failures, started)
