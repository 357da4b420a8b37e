"""Stripe -> raw_stripe: one asset per resource (customers, subscriptions, invoices, ...)."""

from ingestion.stripe.source import stripe_source
from orchestration.lib.sources import source_assets

stripe_api, stripe_load = source_assets(
    "stripe",
    # the source is lazy: this key is never used, the run's key comes from the environment
    dlt_source=stripe_source(api_key="resolved-when-a-run-starts"),
    extra_tables={
        "stripe_rejects": "Stripe objects that broke their data contract, with the reason.",
        "_dlt_loads": "dlt's load log of raw_stripe: the MRR engine's incremental watermark.",
    },
    description="Backfill Stripe, or fetch what changed since the last run (events), and merge "
    "it into raw_stripe.",
)
