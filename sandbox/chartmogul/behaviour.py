"""Run-time knobs of the ChartMogul stand-in, changeable while it serves: API key, latency,
ChartMogul's limits (requests per second, parallel requests), injected faults (429 with
Retry-After, or 5xx), a death after N requests, and a drift of its MRR away from the
truth."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

# set_behaviour() accepts both spellings: fault_* (documented) and fail_* (older tests)
_ALIASES = {"fail_next": "fault_next", "fail_status": "fault_status", "fail_rate": "fault_rate"}
# what a random fault answers, drawn with the seeded RNG
DEFAULT_FAULT_STATUSES = (500, 502, 503, 429)
# ChartMogul's documented limits: 40 requests per second, 20 parallel connections
CHARTMOGUL_RATE_LIMIT = 40.0
CHARTMOGUL_MAX_CONNECTIONS = 20


@dataclass(frozen=True)
class Fault:
    status: int
    retry_after: float | None  # seconds, on 429 only


class Behaviour:
    """Shared between the server thread and the test thread, hence the lock.

    drift_percent       ChartMogul's MRR is the truth x (1 + drift_percent / 100) on every
                        day; the whole gap sits on `drift_customers` (external ids; default
                        the three largest customers on the as-of date), whose `mrr` moves too
    fault_status        the status of the next `fault_next` requests (429 or 5xx)
    fault_next          answer the next N requests with fault_status
    fault_rate          answer this share of requests (0..1) with a fault whose status is
                        drawn from fault_statuses (default 500, 502, 503, 429)
    seed                seeds the RNG behind fault_rate (same seed, same faults)
    retry_after         seconds announced in Retry-After on an injected 429
    latency_ms          added to every response
    rate_limit          requests per second (token bucket holding one second's worth);
                        beyond it 429 with Retry-After (whole seconds) and ChartMogul's
                        message. None or 0: unlimited
    max_connections     requests served at once; beyond it 503, as ChartMogul answers too
                        many parallel connections. None: unlimited
    die_after_requests  answer N more requests, then die: every open and new connection is
                        closed unanswered and the port stops listening (the store is kept;
                        ChartMogulStandIn.revive() serves it again). None: never
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        drift_percent: float | Decimal = 0,
        drift_customers: Iterable[str] | None = None,
        latency_ms: float = 0,
        fault_status: int = 500,
        fault_next: int = 0,
        fault_rate: float = 0,
        fault_statuses: Iterable[int] = DEFAULT_FAULT_STATUSES,
        retry_after: float = 1,
        rate_limit: float | None = None,
        max_connections: int | None = None,
        die_after_requests: int | None = None,
        seed: int = 0,
    ) -> None:
        self._lock = threading.Lock()
        self.api_key = api_key
        self.drift_percent = Decimal(0)
        self.drift_customers: tuple[str, ...] | None = None
        self.latency_ms = 0.0
        self.fault_status = 500
        self.fault_next = 0
        self.fault_rate = 0.0
        self.fault_statuses: tuple[int, ...] = DEFAULT_FAULT_STATUSES
        self.retry_after = 1.0
        self.rate_limit: float | None = None
        self.max_connections: int | None = None
        self.die_after_requests: int | None = None
        self.dead = False
        self._rng = random.Random(seed)
        self._tokens = 0.0
        self._refilled_at = time.monotonic()
        self._in_flight = 0
        self.update(
            drift_percent=drift_percent,
            drift_customers=drift_customers,
            latency_ms=latency_ms,
            fault_status=fault_status,
            fault_next=fault_next,
            fault_rate=fault_rate,
            fault_statuses=fault_statuses,
            retry_after=retry_after,
            rate_limit=rate_limit,
            max_connections=max_connections,
            die_after_requests=die_after_requests,
        )

    def update(self, **changes) -> None:
        """Change settings; settings left out keep their value. A new rate limit starts
        with a full bucket."""
        changes = {_ALIASES.get(name, name): value for name, value in changes.items()}
        known = {
            "api_key",
            "drift_percent",
            "drift_customers",
            "latency_ms",
            "fault_status",
            "fault_next",
            "fault_rate",
            "fault_statuses",
            "retry_after",
            "rate_limit",
            "max_connections",
            "die_after_requests",
            "seed",
        }
        unknown = set(changes) - known
        if unknown:
            raise TypeError(f"unknown behaviour setting(s): {', '.join(sorted(unknown))}")
        with self._lock:
            if "api_key" in changes:
                self.api_key = changes["api_key"]
            if "drift_percent" in changes:
                drift = Decimal(str(changes["drift_percent"] or 0))
                if drift <= -100:
                    raise ValueError("drift_percent must be above -100")
                self.drift_percent = drift
            if "drift_customers" in changes:
                customers = changes["drift_customers"]
                self.drift_customers = tuple(customers) if customers else None
            if "latency_ms" in changes:
                if float(changes["latency_ms"]) < 0:
                    raise ValueError("latency_ms must be >= 0")
                self.latency_ms = float(changes["latency_ms"])
            if "fault_status" in changes:
                self.fault_status = _fault_status(changes["fault_status"])
            if "fault_next" in changes:
                if int(changes["fault_next"]) < 0:
                    raise ValueError("fault_next must be >= 0")
                self.fault_next = int(changes["fault_next"])
            if "fault_rate" in changes:
                if not 0 <= float(changes["fault_rate"]) <= 1:
                    raise ValueError("fault_rate must be between 0 and 1")
                self.fault_rate = float(changes["fault_rate"])
            if "fault_statuses" in changes:
                statuses = tuple(_fault_status(s) for s in changes["fault_statuses"])
                if not statuses:
                    raise ValueError("fault_statuses must name at least one status")
                self.fault_statuses = statuses
            if "retry_after" in changes:
                if float(changes["retry_after"]) < 0:
                    raise ValueError("retry_after must be >= 0")
                self.retry_after = float(changes["retry_after"])
            if "rate_limit" in changes:
                rate = changes["rate_limit"]
                if rate is not None and float(rate) < 0:
                    raise ValueError("rate_limit must be >= 0")
                self.rate_limit = float(rate) if rate else None
                self._tokens = self._capacity()
                self._refilled_at = time.monotonic()
            if "max_connections" in changes:
                limit = changes["max_connections"]
                if limit is not None and int(limit) < 1:
                    raise ValueError("max_connections must be >= 1")
                self.max_connections = None if limit is None else int(limit)
            if "die_after_requests" in changes:
                remaining = changes["die_after_requests"]
                if remaining is not None and int(remaining) < 0:
                    raise ValueError("die_after_requests must be >= 0")
                self.die_after_requests = None if remaining is None else int(remaining)
            if changes.get("seed") is not None:
                self._rng = random.Random(changes["seed"])

    def _capacity(self) -> float:
        return max(1.0, self.rate_limit or 0.0)

    def drift(self) -> tuple[Decimal, tuple[str, ...] | None]:
        with self._lock:
            return self.drift_percent, self.drift_customers

    # ---------------------------------------------------------------- per request

    def life(self) -> str:
        """Count this request against die_after_requests: "alive", "last" (answer it, then
        die) or "dead" (do not answer)."""
        with self._lock:
            if self.dead:
                return "dead"
            if self.die_after_requests is None:
                return "alive"
            if self.die_after_requests == 0:
                self.dead = True
                return "dead"
            self.die_after_requests -= 1
            if self.die_after_requests == 0:
                self.dead = True
                return "last"
            return "alive"

    def revive(self) -> None:
        with self._lock:
            self.dead = False
            self.die_after_requests = None

    def enter(self) -> bool:
        """A request starts; False when it is one more than max_connections (it still
        counts until leave())."""
        with self._lock:
            self._in_flight += 1
            return self.max_connections is None or self._in_flight <= self.max_connections

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def admit(self) -> float | None:
        """Take a token from the bucket: None to go ahead, else the seconds until one is
        there (answer 429)."""
        with self._lock:
            rate = self.rate_limit
            if rate is None:
                return None
            now = time.monotonic()
            self._tokens = min(self._capacity(), self._tokens + (now - self._refilled_at) * rate)
            self._refilled_at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return (1 - self._tokens) / rate

    def next_fault(self) -> Fault | None:
        """Whether to answer this request with a fault (counts down fault_next)."""
        with self._lock:
            if self.fault_next > 0:
                self.fault_next -= 1
                status = self.fault_status
            elif self.fault_rate > 0 and self._rng.random() < self.fault_rate:
                status = self._rng.choice(self.fault_statuses)
            else:
                return None
            return Fault(status, self.retry_after if status == 429 else None)

    def key_allowed(self, key: str | None) -> bool:
        with self._lock:
            expected = self.api_key
        if expected is not None:
            return key == expected
        return bool(key)


def retry_after_header(seconds: float) -> str:
    """Retry-After in whole seconds (HTTP's delay-seconds), at least 1."""
    return str(max(1, math.ceil(seconds)))


def _fault_status(value) -> int:
    status = int(value)
    if status != 429 and not 500 <= status <= 599:
        raise ValueError("a fault status must be 429 or 5xx")
    return status
