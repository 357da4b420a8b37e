"""ChartMogul: the client the reconciliation reads through (timeouts and retries are ours)
and the reconciliation of our MRR against ChartMogul's."""
