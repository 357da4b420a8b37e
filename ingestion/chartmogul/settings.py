"""What the reconciliation with ChartMogul compares, in one place for the loader and dbt.

The settings are dbt vars (defaults in dbt_project/dbt_project.yml, overridden like any
other var: `revwh run --reconcile --vars '{reconciliation_days: 7}'`, the Dagster resource
`run_settings.vars_json`, or `revwh reconcile --days 7`):

- `reconciliation_days`: days back from the as-of date compared day by day (default 30);
- `reconciliation_month_ends`: month ends before those days compared as well (default 12);
- `reconciliation_threshold_percent`: the largest absolute variance, in percent of
  ChartMogul's MRR, that still passes (default 1.0);
- `reconciliation_top_customers`: customers kept to explain a gap (default 10).

The loader reads the same values to know which days and month ends to ask ChartMogul for;
the marts (models/marts/reconciliation/) compare them."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache

import yaml

from core.dbt import PROJECT_DIR

VARS = {
    "days": "reconciliation_days",
    "month_ends": "reconciliation_month_ends",
    "threshold_percent": "reconciliation_threshold_percent",
    "top_customers": "reconciliation_top_customers",
}
FALLBACK = {"days": 30, "month_ends": 12, "threshold_percent": "1.0", "top_customers": 10}


@cache
def _project_defaults() -> dict:
    doc = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text()) or {}
    return dict(doc.get("vars") or {})


def month_ends_before(as_of: date, count: int) -> list[date]:
    """The last `count` month ends before `as_of`'s month, oldest first."""
    ends = []
    year, month = as_of.year, as_of.month
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        ends.append(date(year, month, calendar.monthrange(year, month)[1]))
    return sorted(ends)


@dataclass(frozen=True)
class Window:
    """The days ChartMogul is read for: every day from `first_day` to `as_of`, and the
    month ends before `first_day`'s month (a month end among the days is compared already).
    The marts leave out what lies before the warehouse's MRR history begins."""

    as_of: date
    first_day: date
    month_ends: tuple[date, ...]

    @property
    def month_range(self) -> tuple[date, date] | None:
        """First and last day of the monthly series that ends on the month ends."""
        if not self.month_ends:
            return None
        return self.month_ends[0].replace(day=1), self.month_ends[-1]


@dataclass(frozen=True)
class ReconciliationSettings:
    days: int = 30
    month_ends: int = 12
    threshold_percent: Decimal = Decimal("1.0")
    top_customers: int = 10

    def __post_init__(self):
        if self.days < 1:
            raise ValueError(f"{VARS['days']} must be at least 1, got {self.days}")
        if self.month_ends < 0 or self.top_customers < 0:
            raise ValueError(
                f"{VARS['month_ends']} and {VARS['top_customers']} must not be negative"
            )
        if self.threshold_percent < 0:
            raise ValueError(f"{VARS['threshold_percent']} must not be negative")

    @classmethod
    def from_vars(cls, dbt_vars: Mapping | None = None) -> ReconciliationSettings:
        """The settings a dbt build with `dbt_vars` uses: the vars given, else the project's
        defaults (dbt_project.yml)."""
        given = {**_project_defaults(), **dict(dbt_vars or {})}
        values = {field: given.get(var, FALLBACK[field]) for field, var in VARS.items()}
        try:
            return cls(
                days=int(values["days"]),
                month_ends=int(values["month_ends"]),
                threshold_percent=Decimal(str(values["threshold_percent"])),
                top_customers=int(values["top_customers"]),
            )
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise ValueError(f"invalid reconciliation settings {values}: {exc}") from None

    def dbt_vars(self) -> dict:
        """These settings as dbt vars (what `--vars` takes)."""
        return {
            VARS["days"]: self.days,
            VARS["month_ends"]: self.month_ends,
            VARS["threshold_percent"]: str(self.threshold_percent),
            VARS["top_customers"]: self.top_customers,
        }

    def window(self, as_of: date) -> Window:
        first_day = as_of - timedelta(days=self.days - 1)
        return Window(as_of, first_day, tuple(month_ends_before(first_day, self.month_ends)))
