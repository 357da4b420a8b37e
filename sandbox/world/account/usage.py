"""Daily product usage per user and feature, and when each user last logged in."""

from __future__ import annotations

from ..catalog import FEATURES, KEY_ACTION
from ..timeutil import DAY, day_text, iso
from .core import AccountCore


class ProductUsage(AccountCore):
    def _usage(self, timeline, members) -> dict[str, int]:
        """Daily usage per user and feature, for the days the app still keeps.

        One random stream per account, drawn day by day from a fixed first day and only on
        days the account is alive, so that a later as-of date only appends rows."""
        last_login: dict[str, int] = {}
        rng = self._rng("usage")
        day_ts = max(self.ctx.usage_from_ts, self.signup_ts - self.signup_ts % DAY)
        weights = {
            "login": 1.0,
            "dashboard_view": 0.8,
            KEY_ACTION: 0.35,
            "api_call": 0.05,
            "integration_sync": 0.2,
        }
        rows = self.out.app["usage_daily"]
        mean_count = 3 + 20 * self.engagement
        position, state = 0, None
        while day_ts < self.ctx.cutoff:
            noon = day_ts + DAY // 2
            while position < len(timeline) and timeline[position][0] <= noon:
                state = timeline[position]
                position += 1
            if state is None or state[3] == "canceled":
                day_ts += DAY
                continue
            plan = state[1]
            day, updated = day_text(day_ts // DAY), iso(day_ts + DAY - 60)
            for user_id, _role, joined in members:
                rank = 0 if user_id == self.user_id else int(user_id[-2:])
                if rank >= 8:  # the app only tracks the first eight seats' usage here
                    continue
                p_active = self.engagement * (0.9 if rank == 0 else 0.55 / (1 + rank * 0.3))
                if plan == "free":
                    p_active *= 0.4
                if joined > noon or rng.random() >= p_active:
                    continue
                for feature in FEATURES:
                    weight = 0.3 if feature == "api_call" and plan == "scale" else weights[feature]
                    if feature != "login" and rng.random() >= weight * self.engagement:
                        continue
                    count = 1 + int(rng.expovariate(1 / mean_count))
                    if feature == "api_call":
                        count *= 40
                    rows.append((day, self.account_id, user_id, feature, count, updated))
                last_login[user_id] = day_ts + 9 * 3600 + int(rng.random() * 8 * 3600)
            day_ts += DAY
        return last_login
