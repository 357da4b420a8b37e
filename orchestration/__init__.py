"""Dagster, and only Dagster: the definitions of the code location (`defs/`, one folder per
source system: assets, checks, schedules, sensors, resources) and the building blocks they
share (`lib/`). The work itself (loading, validating, publishing, alerting) is done by the
library packages below (ingestion, quality, serving, alerts, core)."""
