"""Daily exchange rates: a plausible random walk per currency, deterministic per seed.

Rates are USD per one unit of the currency, as decimals with six places. The walk starts at
the world's start date and is drawn day by day, so a later as-of date only appends days.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

# (starting rate, daily drift, daily volatility)
_WALKS = {
    "eur": (1.0850, 0.00001, 0.0035),
    "egp": (0.0325, -0.0009, 0.0040),  # a currency that keeps losing value
}
_PLACES = Decimal("0.000001")


class FxRates:
    """USD per unit of currency on each day from `start` to `end` inclusive."""

    def __init__(self, seed: int, start: date, end: date):
        self.start = start
        self.end = end
        self._rates: dict[str, list[Decimal]] = {"usd": []}
        days = (end - start).days + 1
        self._rates["usd"] = [Decimal(1)] * days
        for currency, (rate, drift, vol) in _WALKS.items():
            rng = random.Random(f"fx:{seed}:{currency}")
            series = []
            for _ in range(days):
                series.append(Decimal(repr(rate)).quantize(_PLACES))
                rate *= 1 + drift / 30 + rng.gauss(0, vol)
            self._rates[currency] = series

    def rate(self, currency: str, day: date) -> Decimal:
        index = (day - self.start).days
        index = min(max(index, 0), (self.end - self.start).days)
        return self._rates[currency][index]

    def rows(self):
        """(date, currency, rate) for every day and currency, for fx_rates.csv."""
        for i in range((self.end - self.start).days + 1):
            day = self.start + timedelta(days=i)
            for currency in sorted(self._rates):
                yield day, currency, self._rates[currency][i]
