"""A request budget shared by every thread that calls one API: requests leave evenly spaced
just under the allowed rate, so a server counting in a sliding window never sees a burst.
Used by the Stripe load and the ChartMogul sync."""

from __future__ import annotations

import threading
import time

PACING = 0.97  # share of the request budget used


class RequestBudget:
    """Requests spaced evenly at `pacing` x `per_second`, shared by all threads.

    Each caller reserves the next free slot under a lock and sleeps until it, so no thread
    polls and no burst goes out: a window that allowed `per_second` requests at once let
    the server's sliding-window count see more than the limit (about 6% of requests
    answered 429, each then backed off for half a second or more). `hold(seconds)` keeps
    every thread back after a 429's Retry-After, not only the one that got it."""

    def __init__(self, per_second: float | None, pacing: float = PACING):
        # a little under the limit: requests leave evenly but arrive with jitter
        self._interval = 1.0 / (per_second * pacing) if per_second else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            if not self._interval and self._next <= now:
                return
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """No request leaves for `seconds` from now (the server asked to wait)."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)
