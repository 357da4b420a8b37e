"""What a sync did (or, in a dry run, would do): counts per object type, requests and their
rate, the backlog of objects still failing, the objects parked by this run, and one-line
summaries for the CLI and Dagster's metadata."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from .payloads import OBJECT_TYPES
from .state import MAX_SAMPLE_ERRORS

ACTIONS = ("created", "updated", "deleted", "unchanged", "failed", "refused", "parked")
# what a dry run names: what would go out for each object
PLANNED = (
    "create",
    "update",
    "delete+reimport",
    "add-transactions",
    "delete",
    "cancel",
    "refused",
    "parked",
    "blocked",
    "unchanged",
)


@dataclass
class TypeCounts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0
    refused: int = 0
    parked: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"{getattr(self, a):,} {a}" for a in ACTIONS if getattr(self, a)]
        return ", ".join(parts) or "nothing"

    def error_details(self) -> str | None:
        return json.dumps(self.errors[:MAX_SAMPLE_ERRORS]) if self.errors else None


@dataclass
class SyncReport:
    run_id: str
    api_base: str
    data_source_name: str
    dry_run: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    seconds: float = 0.0
    sending_seconds: float = 0.0  # from the first request on
    counts: dict[str, TypeCounts] = field(
        default_factory=lambda: {t: TypeCounts() for t in OBJECT_TYPES}
    )
    backlog: dict[str, int] = field(default_factory=lambda: {"failed": 0, "parked": 0})
    newly_parked: list[tuple[str, str, str]] = field(default_factory=list)
    skipped: str | None = None  # why nothing ran (disabled, no key)
    stopped: str | None = None  # why the run stopped early
    # dry run: object type -> planned action -> count, and a few sample requests
    planned: dict[str, Counter] = field(default_factory=dict)
    samples: list[tuple[str, dict]] = field(default_factory=list)
    planned_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # ------------------------------------------------------------------ while running

    def add(self, object_type: str, action: str, count: int = 1) -> None:
        with self._lock:
            counts = self.counts[object_type]
            setattr(counts, action, getattr(counts, action) + count)

    def error(self, object_type: str, external_id: str, message: str, kind: str = "failed") -> None:
        """Keep a sample error: `<external id> (failed|refused): <message>`."""
        with self._lock:
            errors = self.counts[object_type].errors
            if len(errors) < MAX_SAMPLE_ERRORS:
                errors.append(f"{external_id} ({kind}): {message}")

    # ------------------------------------------------------------------ results

    @property
    def requests(self) -> int:
        return sum(c.requests for c in self.counts.values())

    @property
    def requests_per_second(self) -> float:
        seconds = self.sending_seconds or self.seconds
        return self.requests / seconds if seconds > 0 else 0.0

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.counts.values())

    @property
    def ok(self) -> bool:
        """Nothing failed this run (refused records are reported, not failures)."""
        return self.skipped is None and self.stopped is None and not self.failed

    def summary(self) -> list[str]:
        """One-line statements, the first the headline."""
        if self.skipped:
            return [f"chartmogul sync skipped: {self.skipped}"]
        if self.dry_run:
            return self._dry_run_summary()
        lines = [
            f"chartmogul sync {self.run_id} into {self.data_source_name!r} at {self.api_base}: "
            f"{self.requests:,} requests in {self.seconds:.1f} s "
            f"({self.requests_per_second:.1f} req/s)"
            + (f", stopped early: {self.stopped}" if self.stopped else "")
        ]
        for object_type, counts in self.counts.items():
            if object_type == "data_source" and not counts.failed:
                continue
            lines.append(f"  {object_type}s: {counts.line()}")
        lines.append(
            f"  backlog: {self.backlog['failed']:,} failed, {self.backlog['parked']:,} parked"
        )
        for object_type, external_id, error in self.newly_parked:
            lines.append(f"  parked after repeated failures: {object_type} {external_id}: {error}")
        for object_type, counts in self.counts.items():
            for error in counts.errors[:3]:
                lines.append(f"  {object_type} {error}")
        return lines

    def _dry_run_summary(self) -> list[str]:
        lines = [
            f"chartmogul sync dry run into {self.data_source_name!r} at {self.api_base}: "
            f"about {self.planned_requests:,} requests would be sent (nothing was sent or "
            "written)"
        ]
        for object_type in OBJECT_TYPES:
            planned = self.planned.get(object_type)
            if planned:
                text = ", ".join(f"{planned[a]:,} {a}" for a in PLANNED if planned.get(a))
                lines.append(f"  {object_type}s: {text}")
        for object_type, counts in self.counts.items():
            for error in counts.errors[:3]:
                lines.append(f"  {object_type} {error}")
        for label, body in self.samples:
            lines.append(f"  sample {label}: {json.dumps(body, sort_keys=True)}")
        return lines

    def metadata(self) -> dict:
        """Plain values for Dagster's asset metadata (counts, duration, backlog)."""
        data: dict = {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "requests": self.requests,
            "requests_per_second": round(self.requests_per_second, 2),
            "seconds": round(self.seconds, 2),
            "backlog_failed": self.backlog["failed"],
            "backlog_parked": self.backlog["parked"],
            "newly_parked": len(self.newly_parked),
        }
        for object_type, counts in self.counts.items():
            for action in ACTIONS:
                data[f"{object_type}_{action}"] = getattr(counts, action)
        return data
