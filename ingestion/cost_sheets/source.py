"""The dlt source of the cost sheets: parsed files fan out into rows and rejects."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import dlt
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from ..contracts import Contract
from .parse import ParsedFile, rejects_contract, rows_contract


def table_hints(contract: Contract, merge_key: str | None = None) -> dict[str, Any]:
    """dlt resource hints from a data contract: columns, keys and schema contract, merged with
    delete-insert (on `merge_key` when given, else on the primary key)."""
    return {
        "table_name": contract.table,
        "columns": contract.dlt_columns(),
        "primary_key": list(contract.primary_key),
        "merge_key": merge_key,
        "write_disposition": {"disposition": "merge", "strategy": "delete-insert"},
        "schema_contract": contract.schema_contract,
    }


@dlt.source(name="cost_sheets", max_table_nesting=0)
def cost_sheets_source(files: Iterable[ParsedFile]):
    """`files` is read once; both tables are merged on source_file, so each file loaded
    replaces all the rows and rejects it contributed before."""

    # not a table: dlt hands each parsed file to both transformers below
    @dlt.resource(name="cost_sheet_files", selected=False)
    def parsed_files():
        yield from files

    rows_hints = table_hints(rows_contract(), merge_key="source_file")
    rejects_hints = table_hints(rejects_contract(), merge_key="source_file")

    @dlt.transformer(data_from=parsed_files, name=rows_hints["table_name"], **rows_hints)
    def cost_sheet_rows(parsed: ParsedFile):
        if parsed.rows:
            yield parsed.rows

    @dlt.transformer(data_from=parsed_files, name=rejects_hints["table_name"], **rejects_hints)
    def cost_sheet_rejects(parsed: ParsedFile):
        if parsed.rejects:
            yield parsed.rejects

    return cost_sheet_rows, cost_sheet_rejects


def forget_files(pipeline: dlt.Pipeline, table: str, files: Sequence[str]) -> None:
    """Delete the rows of `files` from `table`, for files that contributed none this run.

    A delete-insert merge only replaces the merge keys it is given; a file that now has no
    rows (or no rejects) sends none, so its earlier ones would stay. Run after a successful
    load, so a failed load leaves the previous state whole."""
    if not files:
        return
    with pipeline.sql_client() as client:
        name = client.make_qualified_table_name(table)
        for start in range(0, len(files), 500):
            chunk = list(files[start : start + 500])
            placeholders = ", ".join(["%s"] * len(chunk))
            try:
                client.execute_sql(
                    f"DELETE FROM {name} WHERE source_file IN ({placeholders})", *chunk
                )
            except DatabaseUndefinedRelation:
                return  # the table was never created: nothing to forget
