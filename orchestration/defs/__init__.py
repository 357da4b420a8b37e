"""The code location's definitions, loaded by `load_from_defs_folder`: one folder per source
system (stripe, app_db, cost_sheets, fx, chartmogul), dbt, the quality checks, the published
copy (serving), the alerting sensors, and the jobs, schedules, resources and executor."""
