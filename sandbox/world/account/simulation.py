"""`AccountSimulation`: an account's whole life, from sign-up to the cutoff.

`run` follows the account's path (trial, direct purchase or free plan) on its gateway, then
fills the app rows, renders the Stripe events and writes the customer's ground truth.
"""

from __future__ import annotations

from ..catalog import TRIAL_DAYS
from ..timeutil import DAY, iso
from .app_rows import AppRows
from .core import Output
from .gateway import GatewayBilling
from .stripe_subscriptions import StripeSubscriptions


class AccountSimulation(StripeSubscriptions, GatewayBilling, AppRows):
    """`AccountSimulation(ctx, index, signup_ts).run()` -> the account's `Output`."""

    def run(self) -> Output:
        self.events = []
        self.objects = {}
        self.delinquent = False
        self.customer_created = None
        trial_start = trial_end = converted_at = None
        if self.path == "trial":
            trial_start = self.signup_ts + 300
            trial_end = trial_start + TRIAL_DAYS * DAY
            converted_at = trial_end if self.trial_converts else None
        if self.gateway == "stripe":
            if self.path == "trial":
                self._ensure_customer(trial_start)
                self._stripe_subscription(
                    "A", trial_start, self.plan, self.interval, self.seats, self.coupon, trial=True
                )
            elif self.path == "direct":
                converted_at = self.signup_ts + 600
                self._ensure_customer(converted_at)
                if self.sales_led:
                    self._services_invoice(converted_at)
                self._stripe_subscription(
                    "A",
                    converted_at,
                    self.plan,
                    self.interval,
                    self.seats,
                    self.coupon,
                    trial=False,
                    onboarding=self.plan == "scale",
                )
            else:
                converted_at = self._free_path()
            if self.second_sub_after and self.plan != "starter":
                self._maybe_second_subscription()
        else:
            if self.path == "trial":
                self._state(trial_start, self.plan, self.seats, "trialing")
                if self.trial_converts:
                    self._gateway_subscription("A", trial_end)
                else:
                    self._state(trial_end, self.plan, self.seats, "canceled")
            elif self.path == "direct":
                converted_at = self.signup_ts + 600
                self._gateway_subscription("A", converted_at)
            else:
                self._state(self.signup_ts, "free", 1, "free")
                if self.free_upgrade_after:
                    converted_at = self.signup_ts + self.free_upgrade_after * DAY
                    self._gateway_subscription("A", converted_at)
        self._stat("signup", self.signup_ts, self.channel, 1)
        if trial_start is not None:
            self._stat("trial", trial_start, self.channel, 1)
        if self.customer_id and self._before_cutoff(self.customer_created):
            self._finish_customer()
        if self.user_id:
            self._app_rows(trial_start, trial_end, converted_at)
        self._render_events()
        self.out.customer_truth = {
            "customer_id": self.user_id or self.customer_id,
            "account_id": self.account_id,
            "stripe_customer_id": self.customer_id
            if self._before_cutoff(self.customer_created)
            else None,
            "gateway": self.gateway,
            "acquisition_channel": self.channel,
            "country": self.country,
            "currency": self.currency,
            "signed_up_at": iso(self.signup_ts),
            "path": self.path,
            "trial_started_at": iso(trial_start) if self._before_cutoff(trial_start) else None,
            "trial_converted": (self.trial_converts if self._before_cutoff(trial_end) else None)
            if trial_start
            else None,
        }
        return self.out
