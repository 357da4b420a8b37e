"""Each customer's MRR history and movements, from the simulator's own ledger.

Follows MRR_RULES.md: per customer per day, all changes net into one movement; a line is
converted at the rate of its service-period start; a change that comes only from exchange
rates is an `fx_adjustment`, not a movement. For every day:

    mrr_after = mrr_before_at_old_rates + fx_adjustment + mrr_change

where the FX part revalues the items that were already there at their new rates, and the
movement is the rest. Items that end are valued at their last rate, so churn carries no FX.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from .mrr import to_reporting

ZERO = Decimal("0.0000")

CHANGE_COLUMNS = (
    "customer_id",
    "date",
    "currency",
    "mrr_original",
    "mrr_reporting",
    "movement_type",
    "mrr_change",
    "fx_adjustment",
)
MOVEMENT_COLUMNS = (
    "customer_id",
    "movement_date",
    "movement_type",
    "mrr_change",
    "mrr_before",
    "mrr_after",
)


def customer_history(customer_id: str, currency: str, ledger, fx):
    """-> (change rows, movement rows, facts) for one customer's ledger entries."""
    by_day: dict = defaultdict(list)
    for _ts, item, amount, rate_day in sorted(ledger, key=lambda e: e[0]):
        by_day[rate_day].append((item, amount, rate_day))
    state: dict[str, tuple[Decimal, Decimal]] = {}
    changes, movements = [], []
    paid_before = False
    first_paid = None
    for day in sorted(by_day):
        previous = dict(state)
        for item, amount, rate_day in by_day[day]:
            state[item] = (amount, fx.rate(currency, rate_day))
        mrr_before = sum((to_reporting(o, r) for o, r in previous.values()), ZERO)
        fx_adjustment = ZERO
        for item, (o_prev, r_prev) in previous.items():
            o_new, r_new = state[item]
            if o_prev and o_new:
                fx_adjustment += to_reporting(o_prev, r_new) - to_reporting(o_prev, r_prev)
        mrr_after = sum((to_reporting(o, r) for o, r in state.values()), ZERO)
        original_before = sum((o for o, _ in previous.values()), ZERO)
        original_after = sum((o for o, _ in state.values()), ZERO)
        change = mrr_after - mrr_before - fx_adjustment
        if mrr_after == mrr_before and original_after == original_before:
            continue
        if original_before == 0 and original_after > 0:
            movement = "reactivation" if paid_before else "new"
        elif original_after == 0 and original_before > 0:
            movement = "churn"
        elif change > 0:
            movement = "expansion"
        elif change < 0:
            movement = "contraction"
        else:
            movement = None
        if original_after > 0 and not paid_before:
            paid_before, first_paid = True, day
        changes.append(
            (
                customer_id,
                day.isoformat(),
                currency,
                original_after,
                mrr_after,
                movement or "",
                change if movement else ZERO,
                fx_adjustment,
            )
        )
        if movement:
            movements.append(
                (
                    customer_id,
                    day.isoformat(),
                    movement,
                    change,
                    mrr_before + fx_adjustment,
                    mrr_after,
                )
            )
    current = changes[-1][4] if changes else ZERO
    current_original = changes[-1][3] if changes else ZERO
    return (
        changes,
        movements,
        {
            "first_paid_date": first_paid,
            "current_mrr": current,
            "current_mrr_original": current_original,
        },
    )
