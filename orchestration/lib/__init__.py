"""Dagster building blocks the definitions in `defs/` share: the multi-asset of a dlt source
from the registry (`sources`), dagster-dbt's runner pointed at one warehouse and `run_dbt`
for the CLI and tests (`dbt`), the resource types (`resources`) and the freshness policies
(`freshness`)."""
