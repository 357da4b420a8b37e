"""Who an account is: market, gateway, channel, path, plan, coupon, names and tax rate.

Drawn once, at sign-up, from the account's own random stream and in a fixed order: every
draw after it depends on this order, so adding or moving one here changes every account.
"""

from __future__ import annotations

import random

from ..catalog import (
    CHANNELS,
    COUPONS,
    EU_VAT,
    MARKETS,
    PLANS,
    TAX_RATES,
    US_STATE_TAX,
    US_STATES,
)
from ..timeutil import day_of

FIRST_NAMES = (
    "Amira",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jon",
    "Karim",
    "Lena",
    "Mona",
    "Nils",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
)
LAST_NAMES = (
    "Adams",
    "Barakat",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fahmy",
    "Garcia",
    "Hansen",
    "Ito",
    "Jansen",
    "Khan",
    "Lopez",
    "Meyer",
    "Nasser",
    "Olsen",
    "Patel",
)
COMPANY_WORDS = ("Blue", "North", "Pixel", "Quant", "River", "Stone", "Nova", "Delta", "Orbit")
COMPANY_KINDS = ("Labs", "Analytics", "Studio", "Systems", "Works", "Cloud", "Partners")


def _weighted(rng: random.Random, options: dict):
    keys = list(options)
    return rng.choices(keys, weights=[options[k]["weight"] for k in keys])[0]


class AccountProfile:
    """The account's fixed traits; `AccountCore.__init__` draws them."""

    rng: random.Random
    key: str
    signup_ts: int

    def _draw_profile(self) -> None:
        rng = self.rng
        market = rng.choices(MARKETS, weights=[m.weight for m in MARKETS])[0]
        self.country = market.country
        self.state = rng.choice(US_STATES) if market.country == "US" else None
        self.channel = _weighted(rng, CHANNELS)
        self.utm_source, self.utm_medium = rng.choice(CHANNELS[self.channel]["utm"])
        self.utm_campaign = (
            f"{self.channel}_{day_of(self.signup_ts).strftime('%Y_q')}"
            f"{(day_of(self.signup_ts).month - 1) // 3 + 1}"
        )
        if market.gateway != "stripe":
            self.gateway = market.gateway
        elif rng.random() < market.paypal_share:
            self.gateway = "paypal"
        else:
            self.gateway = "stripe"
        self.currency = market.currency
        self.sales_led = self.gateway == "stripe" and rng.random() < 0.03
        self.engagement = min(0.98, max(0.05, rng.betavariate(2.2, 1.8)))
        roll = rng.random()
        self.path = (
            "direct"
            if self.sales_led
            else ("free" if roll < 0.25 else "trial" if roll < 0.85 else "direct")
        )
        if self.sales_led:
            self.plan, self.interval = "scale", "year"
        else:
            self.plan = rng.choices(("starter", "growth", "scale"), weights=(50, 36, 14))[0]
            self.interval = rng.choices(("month", "quarter", "year"), weights=(70, 10, 20))[0]
        if self.gateway != "stripe" and self.interval == "quarter":
            self.interval = "month"
        low, high = PLANS[self.plan].seats
        self.seats = rng.randint(low, high)
        self.coupon = None
        if self.gateway == "stripe" and rng.random() < 0.16:
            self.coupon = COUPONS[
                rng.choices(list(COUPONS), weights=[c.weight for c in COUPONS.values()])[0]
            ]
            if self.coupon.currency and self.coupon.currency != self.currency:
                self.coupon = COUPONS["WELCOME20"]
        conversion = 0.36 * CHANNELS[self.channel]["conv"] * (0.5 + self.engagement)
        self.trial_converts = rng.random() < min(conversion, 0.9)
        self.free_stripe = rng.random() < 0.12
        self.free_upgrade_after = rng.randint(10, 300) if rng.random() < 0.2 else None
        self.second_sub_after = rng.randint(30, 500) if rng.random() < 0.08 else None
        self.first_name = rng.choice(FIRST_NAMES)
        self.last_name = rng.choice(LAST_NAMES)
        self.company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} {self.key}"
        self.email = f"{self.first_name.lower()}.{self.key}@example.com"
        self.tax_rate = None
        if self.country in EU_VAT:
            self.tax_rate = TAX_RATES[EU_VAT[self.country]]
        elif self.state in US_STATE_TAX:
            self.tax_rate = TAX_RATES[US_STATE_TAX[self.state]]
        self.user_id = None if self.sales_led else f"usr_{self.key}"
        self.account_id = None if self.sales_led else f"acc_{self.key}"
        self.customer_id = f"cus_{self.key}" if self.gateway == "stripe" else None
        self.first_key_action_days = rng.expovariate(1 / (2 + 10 * (1 - self.engagement)))
        self.team_on_single_plan = rng.random() < 0.12
