"""Support tickets and NPS answers, only while the account is alive."""

from __future__ import annotations

from ..catalog import TICKET_CATEGORIES
from ..timeutil import DAY, iso
from .core import AccountCore, state_at


class SupportHistory(AccountCore):
    def _support(self, timeline) -> None:
        cutoff = self.ctx.cutoff
        rng = self._rng("support")
        at, n = self.signup_ts, 0
        while n < 60:
            at += int(rng.expovariate(1 / (60 * DAY * (0.5 + self.engagement))))
            category = rng.choice(TICKET_CATEGORIES)
            first_response = at + rng.randint(600, 2 * DAY)
            resolved = first_response + rng.randint(3600, 5 * DAY)
            priority = rng.choices(("low", "normal", "high", "urgent"), weights=(30, 50, 15, 5))[0]
            satisfaction = rng.randint(2, 5) if rng.random() < 0.4 else None
            if at >= cutoff:
                break
            state = state_at(at, timeline)
            if state is None or state[2] == "canceled":
                continue
            n += 1
            if resolved >= cutoff:
                status, resolved_at, satisfaction = "open", None, None
                updated = first_response if first_response < cutoff else at
            else:
                status, resolved_at, updated = "solved", resolved, resolved
            self.out.app["support_tickets"].append(
                (
                    f"tkt_{self.key}{n:03d}",
                    self.account_id,
                    self.user_id,
                    category,
                    priority,
                    status,
                    iso(at),
                    iso(first_response) if first_response < cutoff else None,
                    iso(resolved_at),
                    satisfaction,
                    iso(at),
                    iso(updated),
                )
            )
            self._stat("tickets", at, "all", 1)
        rng = self._rng("nps")
        at, n = self.signup_ts + 30 * DAY, 0
        while at < cutoff:
            answers = rng.random() < 0.35
            score = max(0, min(10, round(rng.gauss(4 + 6 * self.engagement, 1.8))))
            comment = rng.choice(
                (
                    None,
                    None,
                    "Love the reports",
                    "Too expensive",
                    "Missing integrations",
                    "Great support",
                )
            )
            state = state_at(at, timeline)
            if answers and state is not None and state[2] != "canceled":
                n += 1
                self.out.app["nps_responses"].append(
                    (
                        f"nps_{self.key}{n:02d}",
                        self.account_id,
                        self.user_id,
                        score,
                        comment,
                        iso(at),
                        iso(at),
                    )
                )
            at += 182 * DAY
