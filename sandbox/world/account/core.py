"""What every part of an account's simulation shares: the world it lives in, its identity
and random streams, the outputs it fills, and helpers that record a fact only if it happened
before the cutoff.

Each concern (Stripe billing, gateway billing, app rows...) is a mixin on `AccountCore`;
`simulation.AccountSimulation` puts them together.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from ..timeutil import day_of
from .profile import AccountProfile

if TYPE_CHECKING:
    from .stripe_subscriptions import SubState


@dataclass
class WorldContext:
    """What every account of one world shares."""

    seed: int
    start_ts: int
    cutoff: int  # exclusive: the first second after the as-of date
    usage_from_ts: int
    pricebook: object
    fx: object


@dataclass
class Output:
    """Everything one account's simulation produces, for `generate` to write out."""

    stripe: dict[str, list[dict]] = field(
        default_factory=lambda: {
            k: []
            for k in (
                "customers",
                "subscriptions",
                "invoices",
                "charges",
                "refunds",
                "credit_notes",
                "events",
            )
        }
    )
    app: dict[str, list[tuple]] = field(
        default_factory=lambda: {
            k: []
            for k in (
                "accounts",
                "users",
                "transactions",
                "usage_daily",
                "activation_events",
                "support_tickets",
                "nps_responses",
            )
        }
    )
    # (ts, item key, MRR in original currency, rate day) per change of an item's MRR
    mrr_ledger: list[tuple[int, str, Decimal, object]] = field(default_factory=list)
    subscriptions_truth: list[dict] = field(default_factory=list)
    customer_truth: dict = field(default_factory=dict)
    stats: list[tuple] = field(default_factory=list)  # (kind, month, key, value)


def state_at(ts: int, timeline) -> tuple[str, int, str] | None:
    """(plan, seats, status) of the account at `ts`, from its timeline sorted by time."""
    current = None
    for at, plan, seats, status in timeline:
        if at > ts:
            break
        current = (plan, seats, status)
    return current


class AccountCore(AccountProfile):
    """One account's identity, random streams, outputs and app-side timeline."""

    def __init__(self, ctx: WorldContext, index: int, signup_ts: int):
        self.ctx = ctx
        self.index = index
        self.key = f"{index:07d}"
        self.signup_ts = signup_ts
        self.rng = random.Random(f"account:{ctx.seed}:{index}")
        self.out = Output()
        self.pb = ctx.pricebook
        # (ts, plan, seats, status) whenever the account's app-side state changes
        self.timeline: list[tuple[int, str, int, str]] = []
        self._draw_profile()

    def _before_cutoff(self, ts: int | None) -> bool:
        return ts is not None and ts < self.ctx.cutoff

    def _ledger(self, ts: int, item_key: str, amount: Decimal, s: SubState | None = None) -> None:
        if ts < self.ctx.cutoff:
            self.out.mrr_ledger.append((ts, item_key, amount, day_of(ts)))
            if s is not None:
                s.mrr = amount

    def _state(self, ts: int, plan: str, seats: int, status: str) -> None:
        if ts < self.ctx.cutoff:
            self.timeline.append((ts, plan, seats, status))

    def _stat(self, kind: str, ts: int, key: str, value) -> None:
        if ts < self.ctx.cutoff:
            self.out.stats.append((kind, day_of(ts).strftime("%Y-%m"), key, value))

    def _rng(self, *parts) -> random.Random:
        """A stream of its own for one role or period, so a later cutoff shifts nothing."""
        return random.Random(":".join(map(str, (self.ctx.seed, self.index, *parts))))
