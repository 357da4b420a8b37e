"""PayPal and the Egyptian gateway: no Stripe objects, only the app's `transactions` rows
(one per paid period, failed attempt or credit pack) and the subscription's ground truth.
"""

from __future__ import annotations

from decimal import Decimal

from ..catalog import GATEWAY_PRICES, PLANS
from ..mrr import monthly
from ..timeutil import DAY, add_months, day_of, iso
from .core import AccountCore


class GatewayBilling(AccountCore):
    def _gateway_subscription(self, role: str, start: int) -> None:
        """PayPal or the Egyptian gateway: each paid period is a row of `transactions`."""
        if not self._before_cutoff(start):
            return
        plan, interval, seats = self.plan, self.interval, self.seats
        months = 12 if interval == "year" else 1
        gsub = f"gws_{self.key}{role}"
        item_key = f"{gsub}:1"
        period_start, k, mrr, ended_at = start, 0, Decimal(0), None
        while period_start < self.ctx.cutoff:
            k += 1
            rng = self._rng("gateway", role, k)
            failed_first, recovers = rng.random() < 0.04, rng.random() < 0.6
            refunded, pack = rng.random() < 0.02, rng.random() < 0.03 * months
            pack_day, roll = rng.randint(1, 25), rng.random()
            period_end = add_months(period_start, months)
            amount = GATEWAY_PRICES[(plan, interval, self.currency)] * seats
            txn = f"gwt_{self.key}{role}{k:03d}"
            if failed_first:
                self._transaction(
                    f"{txn}f",
                    period_start,
                    gsub,
                    plan,
                    interval,
                    seats,
                    amount,
                    period_start,
                    period_end,
                    "failed",
                )
                if not recovers:  # never paid: it lapses when the paid time ran out
                    ended_at = period_start
                    break
            mrr = monthly(amount, "month", months)
            self._ledger(period_start, item_key, mrr)
            self._state(period_start, plan, seats, "past_due" if failed_first else "active")
            paid_at = period_start + (DAY if failed_first else 120)
            if not self._before_cutoff(paid_at):
                if not failed_first:  # charged, the gateway has not confirmed it yet
                    self._transaction(
                        txn,
                        period_start,
                        gsub,
                        plan,
                        interval,
                        seats,
                        amount,
                        period_start,
                        period_end,
                        "pending",
                    )
                break  # still being retried or confirmed: MRR stays until it ends
            if failed_first:
                self._state(paid_at, plan, seats, "active")
            self._transaction(
                txn,
                paid_at,
                gsub,
                plan,
                interval,
                seats,
                amount,
                period_start,
                period_end,
                "refunded" if refunded else "succeeded",
            )
            self._stat(f"{self.gateway}_collected", paid_at, self.currency, amount)
            if pack and self._before_cutoff(period_start + pack_day * DAY):
                price = {"usd": 4_900, "eur": 4_500, "egp": 75_000}[self.currency]
                self._transaction(
                    f"{txn}c",
                    period_start + pack_day * DAY,
                    gsub,
                    None,
                    None,
                    1,
                    price,
                    None,
                    None,
                    "succeeded",
                    product_type="credit_pack",
                )
            if not self._before_cutoff(period_end):
                break
            churn = 1 - (1 - 0.04 * (1.4 - self.engagement)) ** months
            if roll < churn:
                ended_at = period_end
                break
            if roll < churn + 0.03 and plan != "scale":
                plan = "growth" if plan == "starter" else "scale"
                seats = max(seats, PLANS[plan].seats[0])
            elif roll < churn + 0.05 and PLANS[plan].per_seat:
                seats += 1
            period_start = period_end
        if ended_at is not None:
            self._ledger(ended_at, item_key, Decimal(0))
            self._state(ended_at, plan, seats, "canceled")
        self.out.subscriptions_truth.append(
            {
                "subscription_id": gsub,
                "customer_id": self.user_id,
                "gateway": self.gateway,
                "plan_id": plan,
                "billing_interval": interval,
                "quantity": seats,
                "currency": self.currency,
                "status": "canceled" if ended_at else "active",
                "started_at": iso(start),
                "trial_end": None,
                "canceled_at": iso(ended_at),
                "ended_at": iso(ended_at),
                "cancellation_reason": None,
                "coupon_id": None,
                "current_mrr": "0" if ended_at else str(mrr),
            }
        )

    def _transaction(
        self,
        txn_id,
        at,
        gsub,
        plan,
        interval,
        seats,
        amount,
        period_start,
        period_end,
        status,
        product_type="subscription",
    ) -> None:
        updated = at + 5 * DAY if status == "refunded" else at
        if not self._before_cutoff(updated):
            updated, status = at, "succeeded"  # the refund has not happened yet
        self.out.app["transactions"].append(
            (
                txn_id,
                self.account_id,
                self.user_id,
                self.gateway,
                f"{self.gateway.upper()}-{txn_id[4:]}",
                gsub,
                product_type,
                plan,
                interval,
                seats,
                amount,
                self.currency.upper(),
                day_of(period_start).isoformat() if period_start else None,
                day_of(period_end).isoformat() if period_end else None,
                status,
                amount if status == "refunded" else 0,
                iso(at),
                iso(updated),
            )
        )
