"""Cost sheets (CSV / XLSX) -> raw_costs."""

from ingestion.cost_sheets.source import cost_sheets_source
from orchestration.lib.sources import source_assets

cost_sheet_files, cost_sheets_load = source_assets(
    "costs",
    dlt_source=cost_sheets_source([]),
    extra_tables={"_dlt_loads": "dlt's load log of raw_costs."},
    description="Load every cost sheet into raw_costs; each file replaces what it loaded before.",
)
