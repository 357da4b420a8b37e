"""What the simulated company sells: plans, prices, coupons, tax rates, channels, markets.

Everything here is static configuration; the simulation draws from it. Money is in minor
units (cents, piastres) as integers, like Stripe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ALL_CURRENCIES = ("usd", "eur", "egp")


@dataclass(frozen=True)
class Plan:
    plan_id: str
    name: str
    per_seat: bool
    is_free: bool
    max_seats: int
    monthly_event_limit: int
    seats: tuple[int, int]  # range of seats a new account starts with


PLANS: dict[str, Plan] = {
    "free": Plan("free", "Free", False, True, 1, 500, (1, 1)),
    "starter": Plan("starter", "Starter", False, False, 1, 5_000, (1, 1)),
    "growth": Plan("growth", "Growth", True, False, 25, 50_000, (2, 8)),
    "scale": Plan("scale", "Scale", True, False, 500, 500_000, (10, 40)),
}

# Billing intervals as (Stripe interval, interval_count).
INTERVALS = {"month": ("month", 1), "quarter": ("month", 3), "year": ("year", 1)}

# List prices per plan, interval and currency (minor units, per seat for per-seat plans).
LIST_PRICES: dict[tuple[str, str, str], int] = {
    ("free", "month", "usd"): 0,
    ("free", "month", "eur"): 0,
    ("starter", "month", "usd"): 2_900,
    ("starter", "quarter", "usd"): 7_900,
    ("starter", "year", "usd"): 29_000,
    ("starter", "month", "eur"): 2_900,
    ("starter", "quarter", "eur"): 7_900,
    ("starter", "year", "eur"): 29_000,
    ("growth", "month", "usd"): 1_500,
    ("growth", "quarter", "usd"): 4_200,
    ("growth", "year", "usd"): 15_000,
    ("growth", "month", "eur"): 1_400,
    ("growth", "quarter", "eur"): 3_900,
    ("growth", "year", "eur"): 14_000,
    ("scale", "month", "usd"): 2_500,
    ("scale", "quarter", "usd"): 7_000,
    ("scale", "year", "usd"): 25_000,
    ("scale", "month", "eur"): 2_300,
    ("scale", "quarter", "eur"): 6_500,
    ("scale", "year", "eur"): 23_000,
}
# Prices of the other gateways (PayPal in USD/EUR, the Egyptian gateway in EGP), monthly
# and yearly only.
GATEWAY_PRICES: dict[tuple[str, str, str], int] = {
    **{k: v for k, v in LIST_PRICES.items() if k[1] in ("month", "year") and k[0] != "free"},
    ("starter", "month", "egp"): 45_000,
    ("starter", "year", "egp"): 450_000,
    ("growth", "month", "egp"): 22_000,
    ("growth", "year", "egp"): 220_000,
    ("scale", "month", "egp"): 38_000,
    ("scale", "year", "egp"): 380_000,
}

# Price changes: on this many days after the start of the world, the listed price is
# archived and replaced; existing subscribers keep the archived one (grandfathered).
PRICE_CHANGES: tuple[tuple[str, str, str, int, int], ...] = (
    ("starter", "month", "usd", 365, 3_500),
    ("growth", "month", "usd", 540, 1_700),
)

# Stripe: every USD price is tax-exclusive (sales tax on top for some US states), every EUR
# price tax-inclusive (VAT inside the price).
TAX_BEHAVIOR = {"usd": "exclusive", "eur": "inclusive"}


@dataclass(frozen=True)
class TaxRate:
    tax_rate_id: str
    display_name: str
    country: str
    state: str | None
    percentage_bp: int  # basis points: 1900 = 19.00 %
    inclusive: bool


TAX_RATES: dict[str, TaxRate] = {
    "txr_vat_de": TaxRate("txr_vat_de", "VAT", "DE", None, 1_900, True),
    "txr_vat_fr": TaxRate("txr_vat_fr", "VAT", "FR", None, 2_000, True),
    "txr_vat_nl": TaxRate("txr_vat_nl", "VAT", "NL", None, 2_100, True),
    "txr_vat_es": TaxRate("txr_vat_es", "VAT", "ES", None, 2_100, True),
    "txr_sales_ny": TaxRate("txr_sales_ny", "Sales tax", "US", "NY", 888, False),
    "txr_sales_wa": TaxRate("txr_sales_wa", "Sales tax", "US", "WA", 650, False),
    "txr_sales_tx": TaxRate("txr_sales_tx", "Sales tax", "US", "TX", 625, False),
}
US_STATES = ("CA", "NY", "WA", "TX", "MA", "IL", "CO", "FL")
US_STATE_TAX = {"NY": "txr_sales_ny", "WA": "txr_sales_wa", "TX": "txr_sales_tx"}
EU_VAT = {"DE": "txr_vat_de", "FR": "txr_vat_fr", "NL": "txr_vat_nl", "ES": "txr_vat_es"}


@dataclass(frozen=True)
class Coupon:
    coupon_id: str
    name: str
    duration: str  # once | repeating | forever
    percent_off: int | None = None
    amount_off: int | None = None
    currency: str | None = None
    duration_in_months: int | None = None
    weight: int = 1


COUPONS: dict[str, Coupon] = {
    c.coupon_id: c
    for c in (
        Coupon("WELCOME20", "20% off the first invoice", "once", percent_off=20, weight=5),
        Coupon("LAUNCH25", "25% off for 3 months", "repeating", 25, None, None, 3, weight=5),
        Coupon("LOYAL10", "10% off forever", "forever", percent_off=10, weight=3),
        Coupon("FIVEOFF", "$5 off once", "once", amount_off=500, currency="usd", weight=2),
        Coupon("PARTNER100", "Partner program, free forever", "forever", 100, weight=1),
    )
}


@dataclass(frozen=True)
class Market:
    country: str
    currency: str
    weight: int
    gateway: str = "stripe"  # stripe unless the market is served by a local gateway
    paypal_share: float = 0.08  # share of accounts that pay through PayPal instead


MARKETS: tuple[Market, ...] = (
    Market("US", "usd", 40),
    Market("GB", "usd", 8),
    Market("CA", "usd", 5),
    Market("IN", "usd", 6, paypal_share=0.2),
    Market("BR", "usd", 4, paypal_share=0.2),
    Market("DE", "eur", 10),
    Market("FR", "eur", 8),
    Market("NL", "eur", 4),
    Market("ES", "eur", 4),
    Market("EG", "egp", 6, gateway="egypay", paypal_share=0.0),
)

CHANNELS: dict[str, dict] = {
    # weight of sign-ups, paid?, trial conversion multiplier, UTM source/medium options
    "organic": {"weight": 30, "conv": 1.0, "utm": [("google", "organic"), ("bing", "organic")]},
    "paid_search": {"weight": 22, "conv": 0.85, "utm": [("google", "cpc"), ("bing", "cpc")]},
    "paid_social": {
        "weight": 16,
        "conv": 0.7,
        "utm": [("linkedin", "paid_social"), ("facebook", "paid_social")],
    },
    "referral": {"weight": 12, "conv": 1.35, "utm": [("customer_referral", "referral")]},
    "content": {"weight": 12, "conv": 0.95, "utm": [("blog", "content"), ("newsletter", "email")]},
    "partner": {"weight": 8, "conv": 1.2, "utm": [("partner_portal", "partner")]},
}
PAID_CHANNELS = ("paid_search", "paid_social")

FEATURES = ("login", "dashboard_view", "report_export", "api_call", "integration_sync")
KEY_ACTION = "report_export"  # the "first value" action of the product

TICKET_CATEGORIES = ("billing", "bug", "how_to", "feature_request", "account")
TRIAL_DAYS = 14


@dataclass(frozen=True)
class Scale:
    name: str
    accounts: int
    years: int
    usage_days: int = 90  # how far back the app keeps daily usage


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", 60, 1, usage_days=30),
    "small": Scale("small", 500, 2),
    "medium": Scale("medium", 20_000, 3),
    "large": Scale("large", 200_000, 3, usage_days=60),
}


def default_start(as_of: date, years: int) -> date:
    """First day of the month `years` before the as-of month: the world begins there."""
    return date(as_of.year - years, as_of.month, 1)
