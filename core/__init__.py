"""The lowest layer: what every other part agrees on, owned in one place.

- `warehouse.Warehouse`: which warehouse (a DuckDB file or a PostgreSQL URL), its engine,
  the dlt destination, dlt's state folder, the environment dbt needs, the artifacts folder,
  and `connect(read_only=...)`.
- `settings.RunSettings`: the as-of date, parsed once, and the one definition of "today".
- `sources.SOURCES`: the registry of source systems, from which the CLI, the dlt datasets,
  the Dagster asset keys and the contract checks are derived.
- `dbt`: the dbt project's paths and the result of a `dbt build` read from its artifacts;
  `dbt_scope`: which models an hourly run builds.

Nothing here imports ingestion, the library packages, orchestration or the CLI (checked by
the import contracts in pyproject.toml).
"""
