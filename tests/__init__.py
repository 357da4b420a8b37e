"""The test suite: one folder per layer (core, ingestion, dbt, quality, serving, alerts,
orchestration, chartmogul, sandbox); shared fixtures in conftest.py build the small world
and its run once per session."""
