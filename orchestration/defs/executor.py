"""How a run's steps execute."""

import dagster as dg


@dg.definitions
def executor() -> dg.Definitions:
    # DuckDB takes one writer per file: a run's steps go one after another in one process
    # (which also spares a process start-up and the dbt manifest load per step)
    return dg.Definitions(executor=dg.in_process_executor)
