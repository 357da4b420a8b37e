"""The Stripe product and price catalogue over time, with archived (replaced) prices."""

from __future__ import annotations

from dataclasses import dataclass

from . import stripe_shapes as shapes
from .catalog import INTERVALS, LIST_PRICES, PLANS, PRICE_CHANGES, TAX_BEHAVIOR

DAY = 86_400

# One-time and metered products: (product id, name, description).
EXTRA_PRODUCTS = (
    ("prod_onboarding", "Onboarding", "One-time onboarding fee for the Scale plan"),
    ("prod_credits", "Credit pack", "1,000 report credits, never expire"),
    ("prod_services", "Professional services", "Training and migration sessions"),
    ("prod_api_overage", "API overage", "Metered API calls above the plan limit, per 1,000"),
)
ONE_TIME_PRICES = {
    # (product, currency) -> unit amount
    ("prod_onboarding", "usd"): 49_900,
    ("prod_onboarding", "eur"): 45_900,
    ("prod_credits", "usd"): 4_900,
    ("prod_credits", "eur"): 4_500,
    ("prod_services", "usd"): 15_000,
    ("prod_services", "eur"): 14_000,
}
OVERAGE_UNIT = {"usd": 50, "eur": 45}  # per 1,000 calls, billed monthly in arrears


@dataclass
class PriceVersion:
    price_id: str
    unit_amount: int
    valid_from: int
    valid_to: int | None  # when it was archived


class PriceBook:
    def __init__(self, world_start: int):
        self.world_start = world_start
        self.versions: dict[tuple[str, str, str], list[PriceVersion]] = {}
        for (plan, interval, currency), amount in LIST_PRICES.items():
            self.versions[(plan, interval, currency)] = [
                PriceVersion(f"price_{plan}_{interval}_{currency}_v1", amount, world_start, None)
            ]
        for plan, interval, currency, day, new_amount in PRICE_CHANGES:
            versions = self.versions[(plan, interval, currency)]
            changed_at = world_start + day * DAY
            versions[-1].valid_to = changed_at
            versions.append(
                PriceVersion(f"price_{plan}_{interval}_{currency}_v2", new_amount, changed_at, None)
            )
        self._objects: dict[str, dict] = {}
        self._archived_at: dict[str, int] = {}
        for (plan, interval, currency), versions in self.versions.items():
            stripe_interval, count = INTERVALS[interval]
            for v in versions:
                self._objects[v.price_id] = shapes.price(
                    v.price_id,
                    f"prod_{plan}",
                    currency,
                    v.unit_amount,
                    v.valid_from,
                    interval=stripe_interval,
                    interval_count=count,
                    nickname=f"{PLANS[plan].name} {interval}ly {currency.upper()}",
                    tax_behavior=TAX_BEHAVIOR[currency],
                    lookup_key=f"{plan}_{interval}_{currency}",
                    metadata={"plan_id": plan, "billing_interval": interval},
                )
                if v.valid_to is not None:
                    self._archived_at[v.price_id] = v.valid_to
        for (product_id, currency), amount in ONE_TIME_PRICES.items():
            price_id = f"price_{product_id[5:]}_{currency}"
            self._objects[price_id] = shapes.price(
                price_id,
                product_id,
                currency,
                amount,
                world_start,
                interval=None,
                tax_behavior=TAX_BEHAVIOR[currency],
            )
        for currency, amount in OVERAGE_UNIT.items():
            price_id = f"price_api_overage_{currency}"
            self._objects[price_id] = shapes.price(
                price_id,
                "prod_api_overage",
                currency,
                amount,
                world_start,
                interval="month",
                usage_type="metered",
                tax_behavior=TAX_BEHAVIOR[currency],
            )

    def current(self, plan: str, interval: str, currency: str, ts: int) -> dict:
        """The price a new subscriber gets at `ts` (the latest version not yet replaced)."""
        for v in reversed(self.versions[(plan, interval, currency)]):
            if v.valid_from <= ts:
                return self._objects[v.price_id]
        return self._objects[self.versions[(plan, interval, currency)][0].price_id]

    def get(self, price_id: str) -> dict:
        return self._objects[price_id]

    def one_time(self, product_id: str, currency: str) -> dict:
        return self._objects[f"price_{product_id[5:]}_{currency}"]

    def overage(self, currency: str) -> dict:
        return self._objects[f"price_api_overage_{currency}"]

    def stripe_prices(self, cutoff: int):
        """Price objects as they stand at `cutoff`: archived ones have active = false."""
        for price_id, obj in self._objects.items():
            if obj["created"] >= cutoff:
                continue
            archived_at = self._archived_at.get(price_id)
            if archived_at is not None and archived_at < cutoff:
                obj = {**obj, "active": False}
            yield obj

    def stripe_products(self, cutoff: int):
        for plan in PLANS.values():
            default = self.current(plan.plan_id, "month", "usd", cutoff - 1)["id"]
            yield shapes.product(
                f"prod_{plan.plan_id}",
                f"{plan.name} plan",
                self.world_start,
                f"The {plan.name} plan",
                default_price=default,
                metadata={"plan_id": plan.plan_id},
            )
        for product_id, name, description in EXTRA_PRODUCTS:
            yield shapes.product(product_id, name, self.world_start, description)

    def price_events(self, cutoff: int):
        """(ts, price id) of archivals and creations after the world start, for events."""
        for (_plan, _interval, _currency), versions in self.versions.items():
            for v in versions[1:]:
                if v.valid_from < cutoff:
                    yield v.valid_from, v.price_id
