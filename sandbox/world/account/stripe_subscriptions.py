"""Stripe subscriptions from start to end: the trial, each billing period with the random
draws that decide what happens in it, the final subscription object and its ground truth;
the free plan's $0 subscription, reactivations and a second subscription.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from .. import stripe_shapes as shapes
from ..catalog import INTERVALS, PLANS, TRIAL_DAYS, Coupon
from ..timeutil import DAY, add_months, iso
from .stripe_changes import SubscriptionChanges


@dataclass
class SubState:
    """What a Stripe subscription is on a given day."""

    sub_id: str
    role: str
    plan: str
    interval: str
    seats: int
    price: dict
    coupon: Coupon | None
    discount_id: str | None
    discount_start: int | None
    discount_end: int | None
    item_id: str
    metered_item_id: str | None
    created: int
    status: str = "active"
    trial_start: int | None = None
    trial_end: int | None = None
    canceled_at: int | None = None
    cancel_at: int | None = None
    cancel_at_period_end: bool = False
    ended_at: int | None = None
    cancellation_reason: str | None = None
    period_start: int = 0
    period_end: int = 0
    latest_invoice: str | None = None
    once_used: bool = False
    mrr: Decimal = Decimal(0)  # the item's MRR as last booked in the ledger


class StripeSubscriptions(SubscriptionChanges):
    @staticmethod
    def _period_end(anchor: int, interval: str, k: int) -> int:
        unit, count = INTERVALS[interval]
        return add_months(anchor, (12 if unit == "year" else 1) * count * k)

    def _draw_period(self, rng: random.Random, s: SubState, months: int, secondary: bool) -> dict:
        """Everything random about one billing period, drawn up front in a fixed order."""

        def per_period(p: float) -> float:
            return 1 - (1 - p) ** months

        churn_scale = {"starter": 1.3, "growth": 1.0, "scale": 0.55, "free": 0.2}
        per_seat = PLANS[s.plan].per_seat and not secondary
        odds = (
            (
                "cancel",
                per_period(
                    0.06 if secondary else 0.035 * churn_scale[s.plan] * (1.4 - self.engagement)
                ),
            ),
            ("upgrade", 0 if secondary else per_period(0.025 * self.engagement)),
            ("seats_up", per_period(0.05) if per_seat else 0),
            ("seats_down", per_period(0.025) if per_seat else 0),
            ("downgrade", 0 if secondary else per_period(0.012)),
            ("switch_annual", 0.015 if s.interval == "month" and not secondary else 0),
        )
        roll, change, acc = rng.random(), None, 0.0
        for name, p in odds:
            acc += p
            if roll < acc:
                change = name
                break
        fail = rng.random() < 0.05
        return {
            "fail_plan": rng.choices(("recover", "cancel", "unpaid"), weights=(60, 30, 10))[0]
            if fail
            else None,
            "recover_attempt": rng.randint(1, 3),
            "refund": (rng.randint(1, 10), rng.random() < 0.5, rng.random() < 0.4)
            if rng.random() < 0.025
            else None,
            "credit_pack": (rng.random(), rng.randint(1, 3))
            if rng.random() < 0.03 * months
            else None,
            "overage_units": int(rng.expovariate(1 / 40)) if rng.random() < 0.5 else 0,
            "change": change,
            "change_at": rng.random(),
            "immediate": rng.random() < 0.3,
            "cancel_refund": rng.random() < 0.5,
            "new_seats": rng.randint(1, 40),
        }

    def _stripe_subscription(
        self,
        role: str,
        start: int,
        plan: str,
        interval: str,
        seats: int,
        coupon: Coupon | None,
        trial: bool,
        onboarding: bool = False,
        secondary: bool = False,
        depth: int = 0,
    ) -> None:
        if not self._before_cutoff(start):
            return
        sub_id = f"sub_{self.key}{role}"
        price = self.pb.current(plan, interval, self.currency, start)
        metered = plan == "scale" and interval == "month" and not secondary
        s = SubState(
            sub_id=sub_id,
            role=role,
            plan=plan,
            interval=interval,
            seats=seats,
            price=price,
            coupon=coupon,
            discount_id=None,
            discount_start=None,
            discount_end=None,
            item_id=f"si_{self.key}{role}1",
            metered_item_id=f"si_{self.key}{role}2" if metered else None,
            created=start,
        )
        item_key = f"{sub_id}:{s.item_id}"
        self._event(start, "customer.subscription.created", sub_id)
        if coupon:
            s.discount_id = f"di_{self.key}{role}"
            s.discount_start = start + (TRIAL_DAYS * DAY if trial else 0)
            if coupon.duration == "repeating":
                s.discount_end = add_months(s.discount_start, coupon.duration_in_months)
        anchor = start
        if trial:
            s.status, s.trial_start, s.trial_end = "trialing", start, start + TRIAL_DAYS * DAY
            s.period_start, s.period_end = start, s.trial_end
            inv_id = f"in_{self.key}{role}000"
            line = self._make_line(
                inv_id,
                1,
                s,
                price,
                seats,
                0,
                start,
                s.trial_end,
                f"Trial period for {PLANS[plan].name}",
                item_id=s.item_id,
            )
            self._emit_invoice(inv_id, start, [line], "subscription_create", s, (start, start))
            s.latest_invoice = inv_id
            self._ledger(start, item_key, Decimal(0), s)
            self._state(start, plan, seats, "trialing")
            if not self._before_cutoff(s.trial_end):
                self._finish_subscription(s)
                return
            if not self.trial_converts:
                s.status, s.canceled_at, s.ended_at = "canceled", s.trial_end, s.trial_end
                s.cancellation_reason = "cancellation_requested"
                self._event(s.trial_end, "customer.subscription.deleted", sub_id)
                self._state(s.trial_end, plan, seats, "canceled")
                self._finish_subscription(s)
                return
            s.status = "active"
            anchor = s.trial_end
            self._event(anchor, "customer.subscription.updated", sub_id, {"status": "trialing"})
        pending: tuple[str, str, int] | None = None
        prev_period: tuple[int, int] | None = None
        billing_reason = "subscription_cycle" if trial else "subscription_create"
        period_start, k, n = anchor, 0, 0
        while period_start < self.ctx.cutoff:
            if pending:
                new_plan, new_interval, new_seats = pending
                if new_interval != s.interval:
                    anchor, k = period_start, 0
                s.plan, s.interval, s.seats = new_plan, new_interval, new_seats
                s.price = self.pb.current(new_plan, new_interval, self.currency, period_start)
                pending = None
            k += 1
            n += 1
            period_end = self._period_end(anchor, s.interval, k)
            s.period_start, s.period_end = period_start, period_end
            months = {"month": 1, "quarter": 3, "year": 12}[s.interval]
            draws = self._draw_period(self._rng("sub", role, n), s, months, secondary)
            inv_id = f"in_{self.key}{role}{n:03d}"
            discount = self._discount_at(s, period_start)
            gross = s.price["unit_amount"] * s.seats
            lines = [
                self._make_line(
                    inv_id,
                    1,
                    s,
                    s.price,
                    s.seats,
                    gross,
                    period_start,
                    period_end,
                    f"{s.seats} × {PLANS[s.plan].name} (at {s.price['unit_amount'] / 100:.2f} "
                    f"per {s.interval})",
                    item_id=s.item_id,
                    discount=discount,
                )
            ]
            if s.metered_item_id and prev_period and s.interval == "month":
                units = draws["overage_units"]
                overage = self.pb.overage(self.currency)
                lines.append(
                    self._make_line(
                        inv_id,
                        2,
                        s,
                        overage,
                        units,
                        units * overage["unit_amount"],
                        prev_period[0],
                        prev_period[1],
                        f"{units} × API overage (per 1,000 calls)",
                        item_id=s.metered_item_id,
                        discountable=False,
                    )
                )
            if onboarding and n == 1:
                fee = self.pb.one_time("prod_onboarding", self.currency)
                lines.append(
                    self._make_line(
                        inv_id,
                        len(lines) + 1,
                        s,
                        fee,
                        1,
                        fee["unit_amount"],
                        period_start,
                        period_start,
                        "Onboarding fee",
                        invoice_item=f"ii_{inv_id[3:]}",
                        discountable=False,
                    )
                )
            self._ledger(period_start, item_key, self._item_mrr(s, period_start), s)
            if discount != (None, None) and s.coupon.duration == "once":
                s.once_used = True
            self._state(period_start, s.plan, s.seats, "active")
            paid = self._emit_invoice(
                inv_id,
                period_start,
                lines,
                billing_reason,
                s,
                (period_start, period_end),
                draws["fail_plan"],
                draws["recover_attempt"],
                draws["refund"],
            )
            s.latest_invoice = inv_id
            billing_reason = "subscription_cycle"
            if n > 1:
                self._event(
                    period_start,
                    "customer.subscription.updated",
                    sub_id,
                    {"items": {"data": [{"current_period_start": prev_period[0]}]}},
                )
            prev_period = (period_start, period_end)
            if draws["fail_plan"] and self._dunning(s, paid, draws["fail_plan"], item_key):
                break
            if draws["credit_pack"]:
                frac, qty = draws["credit_pack"]
                at = period_start + DAY + int(frac * (period_end - period_start - 2 * DAY))
                if self._before_cutoff(at):
                    self._credit_pack_invoice(f"in_{self.key}{role}C{n:03d}", at, qty)
            change = draws["change"]
            span = period_end - period_start
            at = period_start + DAY + int(draws["change_at"] * (span - 2 * DAY))
            if change is None or not self._before_cutoff(at):
                period_start = period_end
                continue
            if change == "cancel":
                self._cancel(s, at, draws, paid, item_key)
                break
            if change in ("upgrade", "seats_up"):
                if change == "upgrade":
                    if s.plan == "scale":
                        period_start = period_end
                        continue
                    new_plan = "growth" if s.plan == "starter" else "scale"
                    low, high = PLANS[new_plan].seats
                    new_seats = max(s.seats, low + draws["new_seats"] % (high - low + 1))
                else:
                    new_plan, new_seats = (
                        s.plan,
                        s.seats + 1 + draws["new_seats"] % max(1, s.seats // 3),
                    )
                self._prorate(s, at, new_plan, new_seats, n, item_key)
            else:
                if change == "downgrade":
                    if s.plan == "starter":
                        period_start = period_end
                        continue
                    new_plan = "starter" if s.plan == "growth" else "growth"
                    new_seats = (
                        1
                        if not PLANS[new_plan].per_seat
                        else max(PLANS[new_plan].seats[0], s.seats // 2)
                    )
                    pending = (new_plan, s.interval, new_seats)
                elif change == "seats_down":
                    pending = (
                        s.plan,
                        s.interval,
                        max(PLANS[s.plan].seats[0], s.seats - 1 - draws["new_seats"] % 3),
                    )
                else:
                    pending = (s.plan, "year", s.seats)
                self._event(
                    at,
                    "customer.subscription.updated",
                    sub_id,
                    {"metadata": {"scheduled_change": None}},
                )
            period_start = period_end
        self._finish_subscription(s)
        if s.ended_at is not None and depth < 2:
            self._maybe_reactivate(s, depth)

    def _finish_subscription(self, s: SubState) -> None:
        if s.discount_end is not None and (s.ended_at is None or s.discount_end < s.ended_at):
            self._event(
                s.discount_end,
                "customer.subscription.updated",
                s.sub_id,
                {"discounts": [s.discount_id]},
            )
        tax_rates = [shapes.tax_rate(self.tax_rate, self.ctx.start_ts)] if self.tax_rate else []
        items = [
            shapes.subscription_item(
                s.item_id,
                s.sub_id,
                s.price,
                s.seats,
                s.created,
                s.period_start,
                s.period_end,
                tax_rates,
            )
        ]
        if s.metered_item_id:
            items.append(
                shapes.subscription_item(
                    s.metered_item_id,
                    s.sub_id,
                    self.pb.overage(self.currency),
                    None,
                    s.created,
                    s.period_start,
                    s.period_end,
                    [],
                )
            )
        active_discount = (
            s.discount_id is not None
            and s.status != "canceled"
            and self._discount_at(s, self.ctx.cutoff - 1) != (None, None)
        )
        obj = shapes.subscription(
            s.sub_id,
            self.customer_id,
            s.created,
            currency=self.currency,
            status=s.status,
            items=items,
            start_date=s.created,
            billing_cycle_anchor=s.trial_end or s.created,
            cancel_at=s.cancel_at,
            cancel_at_period_end=s.cancel_at_period_end,
            canceled_at=s.canceled_at,
            ended_at=s.ended_at,
            cancellation_reason=s.cancellation_reason,
            trial_start=s.trial_start,
            trial_end=s.trial_end,
            discounts=[s.discount_id] if active_discount else [],
            latest_invoice=s.latest_invoice,
            default_tax_rates=[],
            metadata={"app_account_id": self.account_id} if self.account_id else {},
        )
        self.out.stripe["subscriptions"].append(obj)
        self.objects[s.sub_id] = obj
        live = s.status in ("active", "past_due", "unpaid")
        self.out.subscriptions_truth.append(
            {
                "subscription_id": s.sub_id,
                "customer_id": self.user_id or self.customer_id,
                "gateway": "stripe",
                "plan_id": s.plan,
                "billing_interval": s.interval,
                "quantity": s.seats,
                "currency": self.currency,
                "status": s.status,
                "started_at": iso(s.created),
                "trial_end": iso(s.trial_end),
                "canceled_at": iso(s.canceled_at),
                "ended_at": iso(s.ended_at),
                "cancellation_reason": s.cancellation_reason,
                "coupon_id": s.coupon.coupon_id if s.coupon else None,
                "current_mrr": str(s.mrr) if live else "0",
            }
        )

    def _maybe_reactivate(self, s: SubState, depth: int) -> None:
        rng = self._rng("reactivate", s.role)
        p = 0.18 if s.cancellation_reason == "cancellation_requested" else 0.1
        if s.trial_end is not None and s.ended_at == s.trial_end:
            p = 0.05  # a trial that never converted, coming back to buy
        comes_back = rng.random() < p
        gap, plan = rng.randint(20, 240), rng.choice(("starter", "growth", "scale"))
        interval = rng.choice(("month", "month", "year"))
        seats = 1 if not PLANS[plan].per_seat else rng.randint(*PLANS[plan].seats)
        if comes_back:
            self._stripe_subscription(
                f"R{depth + 1}",
                s.ended_at + gap * DAY,
                plan,
                interval,
                seats,
                None,
                trial=False,
                depth=depth + 1,
            )

    def _maybe_second_subscription(self) -> None:
        start = self.signup_ts + self.second_sub_after * DAY
        primary = self.objects.get(f"sub_{self.key}A")
        if primary is None or primary["created"] > start or primary["status"] == "trialing":
            return
        if primary["trial_end"] and primary["trial_end"] > start:
            return
        if primary["ended_at"] is not None and primary["ended_at"] <= start:
            return
        self._stripe_subscription(
            "S", start, "starter", "month", 1, None, trial=False, secondary=True
        )

    def _free_path(self) -> int | None:
        """Free plan; some keep a $0 Stripe subscription, some upgrade later. -> paid start."""
        self._state(self.signup_ts, "free", 1, "free")
        upgrade = (
            self.signup_ts + self.free_upgrade_after * DAY if self.free_upgrade_after else None
        )
        if self.free_stripe:
            start = self.signup_ts + 600
            self._ensure_customer(start)
            s = SubState(
                sub_id=f"sub_{self.key}F",
                role="F",
                plan="free",
                interval="month",
                seats=1,
                price=self.pb.current("free", "month", self.currency, start),
                coupon=None,
                discount_id=None,
                discount_start=None,
                discount_end=None,
                item_id=f"si_{self.key}F1",
                metered_item_id=None,
                created=start,
            )
            self._event(start, "customer.subscription.created", s.sub_id)
            k, period_start = 0, start
            while period_start < self.ctx.cutoff and (upgrade is None or period_start < upgrade):
                k += 1
                s.period_start, s.period_end = period_start, add_months(start, k)
                inv_id = f"in_{self.key}F{k:03d}"
                line = self._make_line(
                    inv_id,
                    1,
                    s,
                    s.price,
                    1,
                    0,
                    period_start,
                    s.period_end,
                    "1 × Free plan",
                    item_id=s.item_id,
                )
                self._emit_invoice(
                    inv_id,
                    period_start,
                    [line],
                    "subscription_create" if k == 1 else "subscription_cycle",
                    s,
                    (period_start, s.period_end),
                )
                s.latest_invoice = inv_id
                if k > 1:
                    self._event(
                        period_start,
                        "customer.subscription.updated",
                        s.sub_id,
                        {"latest_invoice": f"in_{self.key}F{k - 1:03d}"},
                    )
                self._ledger(period_start, f"{s.sub_id}:{s.item_id}", Decimal(0), s)
                period_start = s.period_end
            if upgrade is not None and self._before_cutoff(upgrade):
                s.status, s.canceled_at, s.ended_at = "canceled", upgrade, upgrade
                s.cancellation_reason = "cancellation_requested"
                self._event(upgrade, "customer.subscription.deleted", s.sub_id)
            self._finish_subscription(s)
        if upgrade is not None and self._before_cutoff(upgrade):
            self._ensure_customer(upgrade)
            self._stripe_subscription(
                "A", upgrade, self.plan, self.interval, self.seats, None, trial=False
            )
        return upgrade
