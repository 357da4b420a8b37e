"""Run-time knobs of the ChartMogul stand-in, changeable while it serves: API key, latency,
injected faults (429 with Retry-After, or 5xx) and a drift of its MRR away from the truth."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

# set_behaviour() accepts both spellings: fault_* (documented) and fail_* (older tests)
_ALIASES = {"fail_next": "fault_next", "fail_status": "fault_status", "fail_rate": "fault_rate"}


@dataclass(frozen=True)
class Fault:
    status: int
    retry_after: float | None  # seconds, on 429 only


class Behaviour:
    """Shared between the server thread and the test thread, hence the lock.

    drift_percent   ChartMogul's MRR is the truth x (1 + drift_percent / 100) on every day;
                    the whole gap sits on `drift_customers` (external ids; default the three
                    largest customers on the as-of date), whose customer `mrr` moves too.
    fault_status    the status of injected faults (429, 500, 502, 503, 504)
    fault_next      answer the next N requests with fault_status
    fault_rate      answer this share of requests (0..1, seeded RNG) with fault_status
    retry_after     seconds announced in Retry-After on a 429
    latency_ms      added to every response
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
        retry_after: float = 1,
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
        self.retry_after = 1.0
        self._rng = random.Random(seed)
        self.update(
            drift_percent=drift_percent,
            drift_customers=drift_customers,
            latency_ms=latency_ms,
            fault_status=fault_status,
            fault_next=fault_next,
            fault_rate=fault_rate,
            retry_after=retry_after,
        )

    def update(self, **changes) -> None:
        """Change settings; settings left out keep their value."""
        changes = {_ALIASES.get(name, name): value for name, value in changes.items()}
        known = {
            "api_key",
            "drift_percent",
            "drift_customers",
            "latency_ms",
            "fault_status",
            "fault_next",
            "fault_rate",
            "retry_after",
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
                status = int(changes["fault_status"])
                if status != 429 and not 500 <= status <= 599:
                    raise ValueError("fault_status must be 429 or 5xx")
                self.fault_status = status
            if "fault_next" in changes:
                if int(changes["fault_next"]) < 0:
                    raise ValueError("fault_next must be >= 0")
                self.fault_next = int(changes["fault_next"])
            if "fault_rate" in changes:
                if not 0 <= float(changes["fault_rate"]) <= 1:
                    raise ValueError("fault_rate must be between 0 and 1")
                self.fault_rate = float(changes["fault_rate"])
            if "retry_after" in changes:
                if float(changes["retry_after"]) < 0:
                    raise ValueError("retry_after must be >= 0")
                self.retry_after = float(changes["retry_after"])
            if changes.get("seed") is not None:
                self._rng = random.Random(changes["seed"])

    def drift(self) -> tuple[Decimal, tuple[str, ...] | None]:
        with self._lock:
            return self.drift_percent, self.drift_customers

    def next_fault(self) -> Fault | None:
        """Whether to answer this request with a fault (counts down fault_next)."""
        with self._lock:
            if self.fault_next > 0:
                self.fault_next -= 1
            elif not (self.fault_rate > 0 and self._rng.random() < self.fault_rate):
                return None
            status = self.fault_status
            return Fault(status, self.retry_after if status == 429 else None)

    def key_allowed(self, key: str | None) -> bool:
        with self._lock:
            expected = self.api_key
        if expected is not None:
            return key == expected
        return bool(key)
