"""Stripe events: noted as billing happens, rendered once the account is done.

Each event carries its object as it stands at the cutoff, so while simulating only
(ts, type, object id, previous attributes) is noted; the objects are final only at the end.
"""

from __future__ import annotations

import hashlib

from .. import stripe_shapes as shapes
from ..timeutil import DAY
from .core import AccountCore


def _stable_id(prefix: str, *parts) -> str:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=12).hexdigest()
    return f"{prefix}_{digest}"


class StripeEvents(AccountCore):
    # both set afresh by `run`: the noted events, and every Stripe object by id
    events: list[tuple]
    objects: dict[str, dict]

    def _event(self, ts: int, event_type: str, obj_id: str, prev: dict | None = None) -> None:
        if ts < self.ctx.cutoff:
            self.events.append((ts, event_type, obj_id, prev))

    def _render_events(self) -> None:
        """Stripe keeps 30 days of events; each carries the object as it now stands."""
        since = self.ctx.cutoff - 30 * DAY
        seen = set()
        for ts, event_type, obj_id, prev in self.events:
            obj = self.objects.get(obj_id)
            if (ts, event_type, obj_id) in seen:
                continue  # the same change twice in one second is one event
            seen.add((ts, event_type, obj_id))
            if ts >= since and obj is not None:
                self.out.stripe["events"].append(
                    shapes.event(
                        _stable_id("evt", obj_id, event_type, ts), ts, event_type, obj, prev
                    )
                )
