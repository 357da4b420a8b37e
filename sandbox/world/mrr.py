"""MRR arithmetic shared by invoice lines and the ground truth, following MRR_RULES.md.

A subscription item's MRR is what one full period of it costs after its discount, less
the tax included in the price, normalised to a month. Amounts are integer minor units;
MRR is a Decimal in major units with four places (cents to two places), so that sums are
exact and comparisons to the cent are meaningful.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MRR_PLACES = Decimal("0.0001")

# Months in one interval unit: a yearly price is /12, weekly x52/12, daily x365/12.
_MONTHS_PER_UNIT = {
    "month": Decimal(1),
    "year": Decimal(12),
    "week": Decimal(12) / Decimal(52),
    "day": Decimal(12) / Decimal(365),
}


def round_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounding halves away from zero (how Stripe rounds cents)."""
    sign = -1 if (numerator < 0) != (denominator < 0) else 1
    q, r = divmod(abs(numerator), abs(denominator))
    if 2 * r >= abs(denominator):
        q += 1
    return sign * q


def percent_discount(amount: int, percent_off: int) -> int:
    return round_half_up(amount * percent_off, 100)


def tax_amount(net_amount: int, percentage_bp: int, inclusive: bool) -> int:
    """Tax on a net amount: the part of it for inclusive rates, on top for exclusive ones."""
    if inclusive:
        return round_half_up(net_amount * percentage_bp, 10_000 + percentage_bp)
    return round_half_up(net_amount * percentage_bp, 10_000)


def monthly(amount_minor: int, interval: str, interval_count: int) -> Decimal:
    """Minor units per period -> major units per month (4 places, half up)."""
    months = _MONTHS_PER_UNIT[interval] * interval_count
    return (Decimal(amount_minor) / 100 / months).quantize(MRR_PLACES, ROUND_HALF_UP)


def to_reporting(mrr: Decimal, rate: Decimal) -> Decimal:
    return (mrr * rate).quantize(MRR_PLACES, ROUND_HALF_UP)
