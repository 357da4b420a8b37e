"""The registry of source systems: every other name of a source is derived from its entry
here, so adding a source is one entry plus its loader (ingestion/<folder>/) and its Dagster
folder (orchestration/defs/<folder>/).

Derived from an entry: the `revwh load` argument (`name`), the dlt pipeline
(`revwh_<name>`), the raw dataset (`raw_<name>`, where the data contracts and the dbt
sources live), the dlt source and so the Dagster asset keys (`dlt_<dlt_source>_<table>`),
the external system's asset key, the CLI option and environment variable of the input.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    name: str  # what users type: `revwh load <name>`
    # the dlt source's name, also the Dagster keys' prefix and the section of dlt's state
    # that holds the incremental cursors (so it never changes for an existing warehouse)
    dlt_source: str
    folder: str  # ingestion/<folder>/ and orchestration/defs/<folder>/
    system: str  # the upstream external asset
    input_option: str  # the CLI option naming the input
    input_env: str  # the environment variable naming the input
    rejects_table: str  # the quarantine table in the raw dataset
    description: str
    # loaded on its own (`revwh load`, the scheduled loads); False: only by what reads it
    # (the ChartMogul source, by the reconciliation, for the days it compares)
    loaded_on_its_own: bool = True

    @property
    def dataset(self) -> str:
        return f"raw_{self.name}"

    @property
    def pipeline_name(self) -> str:
        return f"revwh_{self.name}"

    def asset_key(self, table: str) -> str:
        """The Dagster asset key of a raw table (a child table belongs to its parent's)."""
        return f"dlt_{self.dlt_source}_{table.split('__')[0].lstrip('_')}"


SOURCES: tuple[Source, ...] = (
    Source(
        name="stripe",
        dlt_source="stripe",
        folder="stripe",
        system="stripe_api",
        input_option="--stripe-api-key",
        input_env="STRIPE_API_KEY",
        rejects_table="stripe_rejects",
        description="The Stripe API of the account, read through the stripe SDK.",
    ),
    Source(
        name="app",
        dlt_source="app_db",
        folder="app_db",
        system="app_database",
        input_option="--app-db",
        input_env="REVWH_APP_DB",
        rejects_table="app_db_rejects",
        description="The product's own database (SQLite file or SQLAlchemy URL).",
    ),
    Source(
        name="costs",
        dlt_source="cost_sheets",
        folder="cost_sheets",
        system="cost_sheet_files",
        input_option="--cost-sheets",
        input_env="REVWH_COST_SHEETS",
        rejects_table="cost_sheet_rejects",
        description="The cost sheets folder (marketing, sales, infrastructure, personnel, "
        "COGS; CSV or XLSX; path or fsspec URL).",
    ),
    Source(
        name="fx",
        dlt_source="fx",
        folder="fx",
        system="fx_rate_file",
        input_option="--fx-rates",
        input_env="REVWH_FX_RATES",
        rejects_table="fx_rate_rejects",
        description="The daily exchange rates file (path or fsspec URL).",
    ),
    Source(
        name="chartmogul",
        dlt_source="chartmogul",
        folder="chartmogul",
        system="chartmogul_api",
        input_option="--chartmogul-api-base",
        input_env="CHARTMOGUL_API_KEY",
        rejects_table="chartmogul_rejects",
        description="ChartMogul's API (MRR series, customers), read through the chartmogul "
        "SDK for the reconciliation; loaded only when reconciling (revwh run --reconcile, "
        "revwh reconcile).",
        loaded_on_its_own=False,
    ),
)

SOURCE_NAMES = tuple(source.name for source in SOURCES)
# what `revwh load` takes and `revwh run` loads before the build
LOADED_SOURCE_NAMES = tuple(source.name for source in SOURCES if source.loaded_on_its_own)


def source_named(name: str) -> Source:
    for source in SOURCES:
        if source.name == name:
            return source
    raise ValueError(f"unknown source {name!r}; choose from {', '.join(SOURCE_NAMES)}")


def source_of_dataset(dataset: str) -> Source:
    for source in SOURCES:
        if source.dataset == dataset:
            return source
    raise ValueError(f"no source loads {dataset!r}")
