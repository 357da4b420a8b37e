"""What a load did, for the command line to print and for tests to read."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class LoadReport:
    source: str  # stripe | app | costs | fx
    rows: Counter = field(default_factory=Counter)  # table -> rows loaded this run
    rejected: Counter = field(default_factory=Counter)  # reason -> rows quarantined
    notes: list[str] = field(default_factory=list)  # e.g. "full refresh: cursor too old"
    errors: list[str] = field(default_factory=list)  # files or inputs that could not load
    skipped: str | None = None  # why the whole source was skipped (input absent)
    requests: int = 0  # API requests made, where there is an API
    seconds: float = 0.0
    extract_seconds: float = 0.0  # time spent fetching (API sources)
    normalize_seconds: float = 0.0
    load_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.skipped:
            return f"{self.source}: skipped ({self.skipped})"
        parts = [f"{self.source}: {sum(self.rows.values()):,} rows"]
        if self.requests:
            parts.append(f"{self.requests:,} requests")
        if self.rejected:
            parts.append(f"{sum(self.rejected.values()):,} rejected")
        parts.append(f"{self.seconds:.1f} s")
        return ", ".join(parts)
