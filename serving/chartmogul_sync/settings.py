"""The ChartMogul sync's settings, from the environment (every variable is in .env.example):

- `CHARTMOGUL_API_KEY` (secret; or `sources.chartmogul.api_key` in .dlt/secrets.toml) and
  `CHARTMOGUL_API_BASE` (default ChartMogul's own), as the reconciliation reads them;
- `CHARTMOGUL_SYNC_ENABLED`: true or false (default: true when a key is set);
- `CHARTMOGUL_DATA_SOURCE_NAME`: the custom data source the warehouse feeds (default
  "Revenue warehouse"), found or created by name;
- `CHARTMOGUL_SYNC_BATCH_SIZE`: most invoices in one import request (default 100);
- `CHARTMOGUL_SYNC_CONCURRENCY`: requests in flight at once (default 20, ChartMogul's
  connection limit);
- `CHARTMOGUL_SYNC_RPS`: requests per second (default 40, ChartMogul's rate limit);
- `CHARTMOGUL_SYNC_TIMEOUT_SECONDS`: one request's timeout (default 30).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from ingestion.chartmogul.client import (
    API_KEY_ENV,
    ChartMogulConfigError,
    resolve_api_base,
    resolve_api_key,
)

ENABLED_ENV = "CHARTMOGUL_SYNC_ENABLED"
DATA_SOURCE_ENV = "CHARTMOGUL_DATA_SOURCE_NAME"
BATCH_SIZE_ENV = "CHARTMOGUL_SYNC_BATCH_SIZE"
CONCURRENCY_ENV = "CHARTMOGUL_SYNC_CONCURRENCY"
RPS_ENV = "CHARTMOGUL_SYNC_RPS"
TIMEOUT_ENV = "CHARTMOGUL_SYNC_TIMEOUT_SECONDS"

DEFAULT_DATA_SOURCE_NAME = "Revenue warehouse"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _number(name: str, kind: type, minimum: float):
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        what = "a whole number" if kind is int else "a number"
        raise ChartMogulConfigError(f"{name}={text!r} is not {what} of at least {minimum:g}")
    return value


def _flag(name: str) -> bool | None:
    text = os.environ.get(name, "").strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ChartMogulConfigError(f"{name}={text!r} is not true or false")


@dataclass(frozen=True)
class SyncSettings:
    """What the sync sends where, and how fast. `api_key` never shows in a repr."""

    api_key: str | None = field(default=None, repr=False)
    api_base: str = "https://api.chartmogul.com"
    enabled: bool = True
    data_source_name: str = DEFAULT_DATA_SOURCE_NAME
    batch_size: int = 100
    concurrency: int = 20
    requests_per_second: float = 40
    timeout_seconds: float = 30
    # every request is retried at most this many times (429, 5xx, timeouts, connections)
    max_retries: int = 3
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 8
    # ChartMogul does not require an email; a business that does refuses customers without
    require_email: bool = False
    # an object failing this many runs in a row is parked (not retried until it changes)
    park_after_failed_runs: int = 3
    retry_parked: bool = False
    # ChartMogul counted as gone after this many requests in a row failed after retries
    unavailable_after: int = 10
    # how often the state reaches the warehouse while a phase runs, and progress lines
    flush_seconds: float = 10
    progress_seconds: float = 5

    def __post_init__(self):
        if self.batch_size < 1 or self.concurrency < 1:
            raise ChartMogulConfigError("the batch size and the concurrency must be at least 1")
        if self.requests_per_second < 0 or self.timeout_seconds <= 0:
            raise ChartMogulConfigError(
                "requests per second must not be negative and the timeout must be positive"
            )
        if self.max_retries < 0 or self.park_after_failed_runs < 1:
            raise ChartMogulConfigError("max_retries >= 0 and park_after_failed_runs >= 1")

    @classmethod
    def from_env(cls, **overrides) -> SyncSettings:
        """The settings the environment (and dlt's secrets) give; `overrides` win (None
        values are ignored, so CLI options can be passed as they come)."""
        key = resolve_api_key(overrides.pop("api_key", None))
        enabled = _flag(ENABLED_ENV)
        values = {
            "api_key": key,
            "api_base": resolve_api_base(overrides.pop("api_base", None)),
            "enabled": bool(key) if enabled is None else enabled,
            "data_source_name": os.environ.get(DATA_SOURCE_ENV, "").strip() or None,
            "batch_size": _number(BATCH_SIZE_ENV, int, 1),
            "concurrency": _number(CONCURRENCY_ENV, int, 1),
            "requests_per_second": _number(RPS_ENV, float, 0),
            "timeout_seconds": _number(TIMEOUT_ENV, float, 0.001),
        }
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**{name: value for name, value in values.items() if value is not None})

    def with_changes(self, **changes) -> SyncSettings:
        return replace(self, **changes)

    def require_key(self) -> str:
        if not self.api_key:
            raise ChartMogulConfigError(
                f"no ChartMogul API key: set {API_KEY_ENV} (or sources.chartmogul.api_key in "
                ".dlt/secrets.toml), or run with --dry-run to see what would be sent"
            )
        return self.api_key
