"""Results of a contract validation: what failed, on how many rows, in how long."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ExpectationFailure:
    """One expectation that failed over the whole table.

    `unexpected_count` is the number of rows that break it (for a primary key: every row
    whose key occurs more than once; for a missing column: every row of the table)."""

    expectation: str  # e.g. "expect_column_values_to_not_be_null"
    column: str  # the column, or the key columns joined by "," for a compound key
    unexpected_count: int
    examples: tuple[Any, ...] = ()


@dataclass(frozen=True)
class ContractValidation:
    dataset: str
    table: str
    passed: bool
    skipped: bool = False
    reason: str = ""
    rows: int = 0
    expectations: int = 0
    failures: list[ExpectationFailure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.dataset}.{self.table}"

    def metadata(self) -> dict[str, Any]:
        """Flat, JSON-able: rows, expectations, failed, seconds, skipped (and reason), and
        `"<expectation>:<column>": unexpected count` per failure."""
        out: dict[str, Any] = {
            "rows": int(self.rows),
            "expectations": int(self.expectations),
            "failed": len(self.failures),
            "seconds": round(float(self.seconds), 3),
        }
        if self.skipped:
            out["skipped"] = True
            out["reason"] = self.reason
        for failure in self.failures:
            out[f"{failure.expectation}:{failure.column}"] = int(failure.unexpected_count)
        return out

    def summary(self) -> str:
        if self.skipped:
            return f"{self.name}: skipped ({self.reason})"
        head = f"{self.name}: {self.expectations} expectations on {self.rows:,} rows"
        if not self.failures:
            return f"{head} passed in {self.seconds:.1f} s"
        parts = []
        for f in self.failures:
            examples = f" e.g. {', '.join(map(repr, f.examples[:3]))}" if f.examples else ""
            parts.append(f"{f.expectation}({f.column}) {f.unexpected_count:,} rows{examples}")
        return f"{head} FAILED {len(self.failures)} in {self.seconds:.1f} s: " + "; ".join(parts)
