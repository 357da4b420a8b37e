"""Exchange rates file -> raw_fx."""

from ingestion.fx.source import ParsedRates, fx_source
from orchestration.ingestion.factory import source_assets

fx_rate_file, fx_load = source_assets(
    source="fx",
    dlt_source=fx_source(ParsedRates(name="specs")),
    dataset="raw_fx",
    system="fx_rate_file",
    system_description="The daily exchange rates file (REVWH_FX_RATES: path or fsspec URL).",
    extra_tables={"_dlt_loads": "dlt's load log of raw_fx."},
    description="Load the exchange rates file into raw_fx (rows breaking the contract to the rejects).",
)
