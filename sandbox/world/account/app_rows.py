"""The product app's rows for an account: the account itself, its users (the owner and
the teammates who join as seats are added) and activation events; usage and support rows
come from their own mixins.
"""

from __future__ import annotations

from ..catalog import PLANS
from ..timeutil import DAY, iso
from .core import state_at
from .support import SupportHistory
from .usage import ProductUsage


class AppRows(ProductUsage, SupportHistory):
    def _app_rows(self, trial_start, trial_end, converted_at) -> None:
        cutoff = self.ctx.cutoff
        timeline = sorted(self.timeline, key=lambda e: e[0])
        rng = self._rng("app")
        join_offsets = [rng.randint(3_600, 3 * DAY) for _ in range(50)]
        # member n joins shortly after the team first reaches n + 1 seats
        members: list[tuple[str, str, int]] = [(self.user_id, "owner", self.signup_ts)]
        reached = 1
        for at, plan, seats, _status in timeline:
            team = seats if PLANS[plan].per_seat else (2 if self.team_on_single_plan else 1)
            for n in range(reached, min(team, 50)):
                if at + join_offsets[n] < cutoff:
                    members.append((f"usr_{self.key}m{n:02d}", "member", at + join_offsets[n]))
            reached = max(reached, min(team, 50))
        members.sort()  # the owner, then members by seat number, whoever has joined yet
        first_key = self.signup_ts + int(self.first_key_action_days * DAY)
        events = [(f"ae_{self.key}s", self.user_id, "signed_up", self.signup_ts)]
        if rng.random() < 0.35 + 0.6 * self.engagement and first_key < cutoff:
            events.append((f"ae_{self.key}k", self.user_id, "first_key_action", first_key))
        if len(members) > 1:
            events.append(
                (f"ae_{self.key}i", self.user_id, "invited_teammate", members[1][2] - 600)
            )
        for event_id, user_id, name, at in events:
            self.out.app["activation_events"].append(
                (event_id, self.account_id, user_id, name, iso(at), iso(at))
            )
        last_login = self._usage(timeline, members)
        for user_id, role, joined in members:
            if role == "owner":
                name, email = f"{self.first_name} {self.last_name}", self.email
            else:
                name, email = f"Member {user_id[-2:]} of {self.company}", f"{user_id}@example.com"
            login = last_login.get(user_id)
            self.out.app["users"].append(
                (
                    user_id,
                    self.account_id,
                    email,
                    name,
                    role,
                    iso(joined),
                    iso(login),
                    iso(joined),
                    iso(max(joined, login or joined)),
                )
            )
        self._support(timeline)
        plan, seats, status = state_at(cutoff - 1, timeline) or ("free", 1, "free")
        if status == "canceled" and plan == "free":
            status = "free"
        updated = max([self.signup_ts] + [e[0] for e in timeline])
        self.out.app["accounts"].append(
            (
                self.account_id,
                self.company,
                self.user_id,
                self.customer_id if self._before_cutoff(self.customer_created) else None,
                self.gateway if (plan != "free" or self.customer_id) else None,
                plan,
                seats,
                self.channel,
                self.utm_source,
                self.utm_medium,
                self.utm_campaign,
                self.country,
                self.currency.upper(),
                iso(self.signup_ts),
                iso(trial_start) if self._before_cutoff(trial_start) else None,
                iso(trial_end) if self._before_cutoff(trial_start) else None,
                iso(converted_at) if self._before_cutoff(converted_at) else None,
                status,
                iso(self.signup_ts),
                iso(updated),
            )
        )
