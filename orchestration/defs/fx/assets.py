"""Exchange rates file -> raw_fx."""

from ingestion.fx.source import ParsedRates, fx_source
from orchestration.lib.sources import source_assets

fx_rate_file, fx_load = source_assets(
    "fx",
    dlt_source=fx_source(ParsedRates(name="specs")),
    extra_tables={"_dlt_loads": "dlt's load log of raw_fx."},
    description="Load the exchange rates file into raw_fx (rows breaking the contract to the rejects).",
)
