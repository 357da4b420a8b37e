"""Freshness: the raw Stripe tables are loaded hourly and the MRR marts rebuilt with them;
an asset whose last materialization is older than its bound fails its freshness check."""

import warnings
from datetime import timedelta

from dagster import AssetKey, build_last_update_freshness_checks, build_sensor_for_freshness_checks

from orchestration.stripe.assets import stripe_load

# an hourly schedule plus a run's own duration and one missed tick
HOURLY_BOUND = timedelta(hours=2, minutes=30)
MRR_MARTS = ("fct_mrr_movements", "fct_mrr_monthly", "mrr_summary_daily", "mrr_summary_monthly")

# Dagster 1.13 prefers FreshnessPolicy, which is not an asset check: checks sit beside the
# dbt and contract checks in the UI, fail a run's check list and reach the alert sensor.
warnings.filterwarnings("ignore", message=".*freshness_checks.*superseded", category=Warning)

freshness_checks = [
    *build_last_update_freshness_checks(
        assets=[
            key for key in stripe_load.keys if key.to_user_string() != "dlt_stripe_stripe_rejects"
        ],
        lower_bound_delta=HOURLY_BOUND,
    ),
    *build_last_update_freshness_checks(
        assets=[AssetKey(mart) for mart in MRR_MARTS], lower_bound_delta=HOURLY_BOUND
    ),
]

freshness_sensor = build_sensor_for_freshness_checks(
    freshness_checks=freshness_checks, name="freshness_checks_sensor"
)
