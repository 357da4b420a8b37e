"""Run-time knobs of the stand-in: API key check, rate limit, latency and injected faults."""

from __future__ import annotations

import random
import re
import threading
from fractions import Fraction

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

# Stripe's documented limit for sandbox (test mode) accounts.
DEFAULT_RATE_LIMIT = 25.0
_UNSET = object()
# Stripe's secret and restricted test keys: the prefix, then letters and digits only
STRIPE_KEY = re.compile(r"(sk|rk)_test_[0-9A-Za-z]+")


class Behaviour:
    """Shared between the server thread and the test thread, hence the lock."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        latency_ms: float = 0.0,
        fault_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        self._lock = threading.Lock()
        if api_key is not None and not STRIPE_KEY.fullmatch(api_key):
            raise ValueError(
                "the expected API key must look like a Stripe test key (sk_test_ or rk_test_ "
                "followed by letters and digits)"
            )
        self.api_key = api_key
        self.latency_ms = 0.0
        self.fault_rate = 0.0
        self.rate_limit: float | None = None
        self._rng = random.Random(seed)
        self._limiter: SlidingWindowCounterRateLimiter | None = None
        self._item: RateLimitItemPerSecond | None = None
        self.update(rate_limit=rate_limit, latency_ms=latency_ms, fault_rate=fault_rate)

    def update(
        self,
        *,
        rate_limit: float | object | None = _UNSET,
        latency_ms: float | object = _UNSET,
        fault_rate: float | object = _UNSET,
        seed: int | None = None,
    ) -> None:
        """Change settings; a new rate limit starts from an empty window."""
        with self._lock:
            if rate_limit is not _UNSET:
                self._set_rate_limit(rate_limit)  # type: ignore[arg-type]
            if latency_ms is not _UNSET:
                if float(latency_ms) < 0:  # type: ignore[arg-type]
                    raise ValueError("latency_ms must be >= 0")
                self.latency_ms = float(latency_ms)  # type: ignore[arg-type]
            if fault_rate is not _UNSET:
                if not 0.0 <= float(fault_rate) <= 1.0:  # type: ignore[arg-type]
                    raise ValueError("fault_rate must be between 0 and 1")
                self.fault_rate = float(fault_rate)  # type: ignore[arg-type]
            if seed is not None:
                self._rng = random.Random(seed)

    def _set_rate_limit(self, rate: float | None) -> None:
        if not rate:
            self.rate_limit, self._limiter, self._item = None, None, None
            return
        if rate < 0:
            raise ValueError("rate_limit must be >= 0")
        # limits counts whole requests per whole seconds: 2.5/s becomes 5 per 2 s.
        fraction = Fraction(rate).limit_denominator(60)
        if fraction == 0:
            fraction = Fraction(1, 60)
        self.rate_limit = float(rate)
        # The sliding window counter keeps the average at the limit without rejecting a
        # client that paces itself at exactly the limit (a moving window would, on jitter).
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._item = RateLimitItemPerSecond(fraction.numerator, fraction.denominator)

    def admit(self) -> bool:
        """Count one request against the rate limit; False means answer 429."""
        with self._lock:
            limiter, item = self._limiter, self._item
        if limiter is None or item is None:
            return True
        return limiter.hit(item, "account")

    def inject_fault(self) -> bool:
        """Draw from the seeded RNG: True means answer 500."""
        with self._lock:
            if self.fault_rate <= 0.0:
                return False
            return self._rng.random() < self.fault_rate

    def key_allowed(self, key: str) -> bool:
        """Stripe answers 401 to a key that is not a key: the stand-in takes test keys of
        Stripe's format, or only the expected one when it was given."""
        if not STRIPE_KEY.fullmatch(key):
            return False
        if self.api_key is not None:
            return key == self.api_key
        return True
