"""fct_revenue against the simulator's own bookkeeping: the money it collected and refunded,
per month, gateway and currency, to the cent.

The simulator counts, as it makes each payment (sandbox/world/account/core.py `_stat`):
`stripe_collected` (an invoice's amount due when its charge succeeds), `stripe_refunded`
(each refund) and `<gateway>_collected` (each PayPal / local-gateway subscription payment,
also those refunded later; credit packs bought there are not counted). It does not write
these figures out, so the test replays the same accounts to get them."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import duckdb
import pytest

from sandbox.world.account import AccountSimulation
from sandbox.world.generate import WorldSpec, signup_schedule
from tests.conftest import AS_OF, START

KINDS = ("stripe_collected", "stripe_refunded", "paypal_collected", "egypay_collected")


@pytest.fixture(scope="module")
def simulator_money() -> Counter:
    """(kind, 'YYYY-MM', currency) -> minor units, as the small world's simulation counts them."""
    spec = WorldSpec("small", 42, AS_OF, START)  # the small_world fixture's world
    ctx = spec.context()
    money: Counter = Counter()
    for index, signup_ts in signup_schedule(spec):
        for kind, month, key, value in AccountSimulation(ctx, index, signup_ts).run().stats:
            if kind in KINDS and value:
                money[(kind, month, key)] += value
    return money


@pytest.fixture(scope="module")
def revenue_money(small_warehouse) -> Counter:
    """The same figures from fct_revenue, in minor units."""
    connection = duckdb.connect(str(small_warehouse), read_only=True)
    try:
        rows = connection.execute(
            """
            select gateway, strftime(revenue_date, '%Y-%m') as month, currency, revenue_type,
                sum(collected_amount), sum(refunded_amount)
            from marts.fct_revenue
            group by all
            """
        ).fetchall()
    finally:
        connection.close()
    money: Counter = Counter()
    for gateway, month, currency, revenue_type, collected, refunded in rows:
        if gateway == "stripe":
            money[("stripe_collected", month, currency)] += int(collected * 100)
            money[("stripe_refunded", month, currency)] += int(refunded * 100)
        elif revenue_type == "subscription":  # the simulator leaves gateway credit packs out
            money[(f"{gateway}_collected", month, currency)] += int(collected * 100)
    return +money  # drop zero counts


def _differences(ours: Counter, theirs: Counter, kind: str) -> list[tuple]:
    keys = sorted({k for k in ours.keys() | theirs.keys() if k[0] == kind})
    return [
        (k, ours.get(k, 0), theirs.get(k, 0)) for k in keys if ours.get(k, 0) != theirs.get(k, 0)
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_money_per_month_equals_the_simulators(kind, revenue_money, simulator_money):
    expected = {k: v for k, v in simulator_money.items() if k[0] == kind}
    assert expected, f"the simulator counted no {kind}: the world changed, revisit this test"
    differ = _differences(revenue_money, simulator_money, kind)
    total = sum(expected.values())
    print(f"{kind}: {len(expected)} month/currency cells, {Decimal(total) / 100} in all")
    assert not differ, f"(key, fct_revenue, simulator): {differ[:10]}"


def test_revenue_rows_are_whole_and_balanced(small_warehouse):
    connection = duckdb.connect(str(small_warehouse), read_only=True)
    try:
        (rows, unbalanced, unconverted) = connection.execute(
            """
            select count(*),
                count(*) filter (where net_revenue
                    <> invoiced_amount - credited_amount - uncredited_refund_amount),
                count(*) filter (where data_quality <> 'actual')
            from marts.fct_revenue
            """
        ).fetchone()
    finally:
        connection.close()
    assert rows > 0
    assert unbalanced == 0
    # the small world loads a rate for every day it has money on
    assert unconverted == 0
