"""One account's life: sign-up, trial, subscriptions, billing, usage and support.

Every account is simulated on its own, from random streams seeded by (world seed, account,
role), so that accounts can be generated in parallel and a later as-of date only extends
history: everything up to the earlier date comes out the same. Ids are derived from roles
(primary subscription, reactivation, second subscription...) for the same reason.

The simulator keeps its own ledger of each subscription item's MRR (`Output.mrr_ledger`) from
the subscription state it decides on; the ground truth is computed from that ledger, never
from the invoices it renders.

`AccountSimulation` (simulation.py) is put together from one mixin per concern, all on the
shared state of `AccountCore` (core.py):

- profile.py: who the account is (market, channel, plan, names), drawn once at sign-up
- events.py: the Stripe events it records, rendered as they stand at the cutoff
- stripe_invoices.py: the Stripe customer, invoice lines, invoices, charges and refunds
- stripe_changes.py: dunning, cancellation and mid-cycle proration of a subscription
- stripe_subscriptions.py: Stripe subscriptions from start to end, period by period
- gateway.py: PayPal and local-gateway subscriptions, as app `transactions` rows
- app_rows.py: the product app's account, users and activation events
- usage.py: daily product usage
- support.py: support tickets and NPS answers
"""

from .core import Output, WorldContext
from .simulation import AccountSimulation

__all__ = ["AccountSimulation", "Output", "WorldContext"]
