"""Freshness: the raw Stripe tables are loaded hourly and the MRR marts rebuilt with them.
Each carries Dagster's FreshnessPolicy (a time window): WARN when its last materialization is
older than WARN_WINDOW, FAIL past FAIL_WINDOW. Dagster's freshness daemon evaluates the
policies and records a state change; the `alert_on_freshness_failure` sensor alerts on FAIL.

The policies are set where the specs are made: `sources.source_assets` (source "stripe")
and the dbt translator (the MRR marts)."""

from datetime import timedelta

from dagster import AssetSpec, FreshnessPolicy

# an hourly schedule plus a run's own duration and one missed tick
FAIL_WINDOW = timedelta(hours=2, minutes=30)
# one missed tick
WARN_WINDOW = timedelta(hours=1, minutes=30)
HOURLY = FreshnessPolicy.time_window(fail_window=FAIL_WINDOW, warn_window=WARN_WINDOW)

HOURLY_SOURCES = ("stripe",)
# quarantined rows arrive only when something breaks its contract: no schedule to keep
NOT_HOURLY_TABLES = ("stripe_rejects",)
MRR_MARTS = ("fct_mrr_movements", "fct_mrr_monthly", "mrr_summary_daily", "mrr_summary_monthly")


def source_policy(source: str, table: str) -> FreshnessPolicy | None:
    """The policy of a raw table of `source` (None: no freshness expectation)."""
    if source in HOURLY_SOURCES and table.lstrip("_") not in NOT_HOURLY_TABLES:
        return HOURLY
    return None


def model_policy(model_name: str) -> FreshnessPolicy | None:
    return HOURLY if model_name in MRR_MARTS else None


def with_policy(spec: AssetSpec, policy: FreshnessPolicy | None) -> AssetSpec:
    return spec if policy is None else spec.replace_attributes(freshness_policy=policy)
