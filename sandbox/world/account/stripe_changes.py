"""How a live Stripe subscription changes before its period ends: a failed renewal and its
dunning, cancellation (now or at the period end), status changes, and mid-cycle upgrades
invoiced with proration lines.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ..catalog import PLANS
from .stripe_invoices import StripeInvoicing

if TYPE_CHECKING:
    from .stripe_subscriptions import SubState


class SubscriptionChanges(StripeInvoicing):
    def _dunning(self, s: SubState, paid: dict, fail_plan: str, item_key: str) -> bool:
        """Failed renewal: past due, then recovered, canceled or unpaid. True if it ended."""
        attempts = paid["attempts"]
        self._set_status(s, attempts[0][0], "past_due")
        end_of_dunning = attempts[-1][0]
        if fail_plan == "recover":
            if paid["paid_at"] is not None:
                self._set_status(s, paid["paid_at"], "active")
            else:
                self.delinquent = True
            return False
        if not self._before_cutoff(end_of_dunning):
            self.delinquent = True
            return True  # still in dunning at the as-of date
        if fail_plan == "cancel":
            self._end(s, end_of_dunning, end_of_dunning, "payment_failed", item_key)
            return True
        # unpaid: kept (and its MRR with it) until canceled at the end of the period
        self._set_status(s, end_of_dunning, "unpaid")
        s.cancel_at = s.period_end
        if self._before_cutoff(s.period_end):
            self._end(s, s.period_end, s.period_end, "payment_failed", item_key)
        else:
            self.delinquent = True
        return True

    def _cancel(self, s: SubState, at: int, draws: dict, paid: dict, item_key: str) -> None:
        if draws["immediate"]:
            self._end(s, at, at, "cancellation_requested", item_key)
            if paid["charge"] and draws["cancel_refund"]:
                unused = (
                    paid["charge"]["amount"]
                    * (s.period_end - at)
                    // (s.period_end - s.period_start)
                )
                self._refund(
                    paid["invoice"],
                    paid["charge"],
                    at,
                    unused,
                    True,
                    "c",
                    "order_change",
                    "Unused time after cancellation",
                )
            return
        s.cancel_at_period_end, s.canceled_at, s.cancel_at = True, at, s.period_end
        s.cancellation_reason = "cancellation_requested"
        self._event(at, "customer.subscription.updated", s.sub_id, {"cancel_at_period_end": False})
        if self._before_cutoff(s.period_end):
            self._end(s, s.period_end, at, "cancellation_requested", item_key)

    def _set_status(self, s: SubState, ts: int, status: str) -> None:
        if self._before_cutoff(ts):
            previous, s.status = s.status, status
            self._event(ts, "customer.subscription.updated", s.sub_id, {"status": previous})
            self._state(ts, s.plan, s.seats, status)

    def _end(
        self, s: SubState, ended_at: int, canceled_at: int, reason: str, item_key: str
    ) -> None:
        s.status, s.ended_at, s.canceled_at = "canceled", ended_at, canceled_at
        s.cancellation_reason = reason
        self._ledger(ended_at, item_key, Decimal(0), s)
        self._event(ended_at, "customer.subscription.deleted", s.sub_id)
        if reason == "payment_failed":  # the customer is no longer delinquent
            self._event(ended_at, "customer.updated", self.customer_id, {"delinquent": True})
        self._state(ended_at, s.plan, s.seats, "canceled")

    def _prorate(
        self, s: SubState, at: int, new_plan: str, new_seats: int, n: int, item_key: str
    ) -> None:
        """Mid-cycle upgrade, invoiced at once with proration lines (always_invoice)."""
        span, remaining = s.period_end - s.period_start, s.period_end - at
        old_price, old_seats, old_plan = s.price, s.seats, s.plan
        new_price = self.pb.current(new_plan, s.interval, self.currency, at)
        inv_id = f"in_{self.key}{s.role}P{n:03d}"
        discount = self._discount_at(s, at)
        credit = -(old_price["unit_amount"] * old_seats * remaining // span)
        debit = new_price["unit_amount"] * new_seats * remaining // span
        lines = [
            self._make_line(
                inv_id,
                1,
                s,
                old_price,
                old_seats,
                credit,
                at,
                s.period_end,
                f"Unused time on {old_seats} × {PLANS[old_plan].name}",
                proration=True,
                item_id=s.item_id,
                discount=discount,
            ),
            self._make_line(
                inv_id,
                2,
                s,
                new_price,
                new_seats,
                debit,
                at,
                s.period_end,
                f"Remaining time on {new_seats} × {PLANS[new_plan].name}",
                proration=True,
                item_id=s.item_id,
                discount=discount,
            ),
        ]
        s.plan, s.seats, s.price = new_plan, new_seats, new_price
        self._ledger(at, item_key, self._item_mrr(s, at), s)
        self._emit_invoice(inv_id, at, lines, "subscription_update", s, (at, s.period_end))
        s.latest_invoice = inv_id
        self._event(
            at,
            "customer.subscription.updated",
            s.sub_id,
            {"items": {"data": [{"price": {"id": old_price["id"]}, "quantity": old_seats}]}},
        )
        self._state(at, new_plan, new_seats, s.status)
