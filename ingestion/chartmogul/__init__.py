"""ChartMogul: the client (our timeouts and retries over the SDK) and the dlt source that
loads what the reconciliation compares into `raw_chartmogul` (the comparison itself is dbt:
models/marts/reconciliation/)."""
