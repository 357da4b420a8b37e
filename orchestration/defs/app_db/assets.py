"""The product's database -> raw_app: one asset per table."""

import dlt

from ingestion.app_db.source import SOURCE_NAME, TABLES
from orchestration.lib.sources import source_assets


@dlt.source(name=SOURCE_NAME)
def _app_db_tables():
    """The tables app_db_source loads, for the asset specs: the real source reflects the
    database, which needs a connection the definitions must not open."""
    return [dlt.resource([], name=table) for table in TABLES]


app_database, app_db_load = source_assets(
    "app",
    dlt_source=_app_db_tables(),
    extra_tables={
        "app_db_rejects": "Rows of any app table that broke their data contract, with the reason.",
        "_dlt_loads": "dlt's load log of raw_app: the MRR engine's incremental watermark.",
    },
    description="Load the app database's rows changed since the last run (updated_at) into raw_app.",
)
