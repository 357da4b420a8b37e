"""ChartMogul's metrics API over the store: buckets, MRR and its movements, the `all` set,
and the drift the stand-in can be told to add (to test the reconciliation's alerts)."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .behaviour import Behaviour
from .store import MOVEMENTS, ZERO, Customer, Store, StoreError, cents

INTERVALS = ("day", "week", "month", "quarter", "year")
MAX_BUCKETS = 5000


def buckets(start: date, end: date, interval: str) -> list[tuple[date, date]]:
    """(first day, last day) of each bucket; `date` in answers is the last day, and the
    last bucket ends on `end` (ChartMogul's weeks end on Sunday here: week_start_on monday)."""
    if interval not in INTERVALS:
        raise StoreError(400, f"interval must be one of {', '.join(INTERVALS)}")
    if end < start:
        raise StoreError(400, "end-date must not be before start-date")
    out, first = [], start
    while first <= end:
        if interval == "day":
            last = first
        elif interval == "week":
            last = first + timedelta(days=6 - first.weekday())
        else:
            months = {"month": 1, "quarter": 3, "year": 12}[interval]
            month_index = first.month - 1
            last_month = month_index - month_index % months + months  # 1-based end month
            year = first.year
            last = date(year, last_month, calendar.monthrange(year, last_month)[1])
        last = min(last, end)
        out.append((first, last))
        if len(out) > MAX_BUCKETS:
            raise StoreError(400, f"too many {interval} buckets between {start} and {end}")
        first = last + timedelta(days=1)
    return out


class DriftedView:
    """The store's numbers as this ChartMogul reports them: the truth, moved by the drift.

    A positive drift_percent means ChartMogul reports more. On every day the company MRR is
    the truth x (1 + p/100); on the as-of day the whole gap is spread over the drift
    customers in proportion to their MRR (equally when they have none), so a per-customer
    comparison finds exactly them.

    The company-wide index is built on first use only: answering a write with the customer
    it made must not rebuild every customer's MRR."""

    def __init__(self, store: Store, behaviour: Behaviour):
        self.store = store
        self.percent, self._chosen = behaviour.drift()
        self.factor = 1 + self.percent / 100
        self._drift_uuids: tuple[str, ...] | None = None

    @property
    def index(self):
        return self.store.index()

    @property
    def drift_uuids(self) -> tuple[str, ...]:
        if self._drift_uuids is None:
            self._drift_uuids = self._drift_customers(self._chosen) if self.percent else ()
        return self._drift_uuids

    def _drift_customers(self, external_ids) -> tuple[str, ...]:
        customers = self.store.customers.values()
        if external_ids:
            wanted = set(external_ids)
            return tuple(c.uuid for c in customers if c.external_id in wanted)
        as_of, index = self.store.as_of, self.index
        largest = sorted(customers, key=lambda c: -index.customer_mrr(c.uuid, as_of))
        return tuple(c.uuid for c in largest[:3])

    def mrr(self, day: date) -> Decimal:
        return self.index.mrr(day) * self.factor

    def customer_mrr(self, customer: Customer) -> Decimal:
        """MRR on the as-of day (what a customer's `mrr` field shows)."""
        as_of = self.store.as_of
        own = self.store.customer_mrr(customer, as_of)
        if not self.percent or customer.uuid not in self.drift_uuids:
            return own
        index = self.index
        gap = index.mrr(as_of) * self.percent / 100
        weights = {u: index.customer_mrr(u, as_of) for u in self.drift_uuids}
        total = sum(weights.values(), ZERO)
        share = (own / total) if total else Decimal(1) / len(self.drift_uuids)
        return own + gap * share


def _percent(part: Decimal, whole: Decimal) -> float:
    if not whole:
        return 0.0
    return float((part / whole * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _mrr_entry(view: DriftedView, first: date, last: date) -> dict:
    entry = {"date": last.isoformat(), "mrr": cents(view.mrr(last))}
    for name in MOVEMENTS:
        entry[f"mrr-{name}"] = cents(view.index.movement(name, first, last) * view.factor)
    return entry


def mrr_metrics(view: DriftedView, start: date, end: date, interval: str) -> dict:
    entries = [_mrr_entry(view, first, last) for first, last in buckets(start, end, interval)]
    current = entries[-1]["mrr"]
    previous = cents(view.mrr(start - timedelta(days=1)))
    return {
        "entries": entries,
        "summary": {
            "current": current,
            "previous": previous,
            "percentage-change": _percent(Decimal(current - previous), Decimal(previous)),
        },
    }


def all_metrics(view: DriftedView, start: date, end: date, interval: str) -> dict:
    index, entries = view.index, []
    for first, last in buckets(start, end, interval):
        mrr = view.mrr(last)
        customers = index.customers(last)
        before = first - timedelta(days=1)
        churn_rate = _percent(Decimal(index.churned(first, last)), Decimal(index.customers(before)))
        mrr_churn_rate = _percent(-index.movement("churn", first, last), index.mrr(before))
        arpa = mrr / customers if customers else ZERO
        new_business = index.movement("new-business", first, last) * view.factor
        new_count = index.new_customers(first, last)
        entries.append(
            {
                "date": last.isoformat(),
                "customer-churn-rate": churn_rate,
                "mrr-churn-rate": mrr_churn_rate,
                "ltv": float(cents(arpa / Decimal(str(churn_rate)) * 100)) if churn_rate else 0.0,
                "customers": customers,
                "asp": cents(new_business / new_count) if new_count else 0,
                "arpa": cents(arpa),
                "arr": cents(mrr * 12),
                "mrr": cents(mrr),
            }
        )
    summary: dict = {}
    before = start - timedelta(days=1)
    previous_values = {
        "mrr": cents(view.mrr(before)),
        "arr": cents(view.mrr(before) * 12),
        "customers": index.customers(before),
    }
    for metric, previous in previous_values.items():
        current = entries[-1][metric]
        summary[f"current-{metric}"] = current
        summary[f"previous-{metric}"] = previous
        summary[f"{metric}-percentage-change"] = _percent(
            Decimal(current - previous), Decimal(previous)
        )
    return {"entries": entries, "summary": summary}


def metric_range(params: Mapping[str, str]) -> tuple[date, date, str]:
    try:
        start = date.fromisoformat(params["start-date"])
        end = date.fromisoformat(params["end-date"])
    except KeyError as missing:
        raise StoreError(400, f"{missing.args[0]} is required (YYYY-MM-DD)") from None
    except ValueError:
        raise StoreError(400, "start-date and end-date must be YYYY-MM-DD") from None
    return start, end, params.get("interval", "month")
