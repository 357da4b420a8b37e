"""Our MRR against ChartMogul's: the last N days and the last month ends, in the reporting
currency and the warehouse's (UTC) day boundaries, then per customer on the as-of date, so a
gap comes with the customers that explain it. Exact: Decimal and integer cents only."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb

from .client import ChartMogulClient, ChartMogulError

CENT = Decimal("0.01")
PERCENT_PLACES = Decimal("0.0001")


class CurrencyMismatch(ChartMogulError):
    """ChartMogul's account currency is not the warehouse's reporting currency."""


@dataclass(frozen=True)
class DayComparison:
    metric_date: date
    period: str  # day | month_end
    our_mrr: Decimal | None
    chartmogul_mrr: Decimal | None
    variance: Decimal | None  # ours - ChartMogul's
    variance_percent: Decimal | None  # of ChartMogul's
    status: str  # ok | over_threshold | missing


@dataclass(frozen=True)
class CustomerGap:
    customer_id: str
    customer_name: str
    our_mrr: Decimal
    chartmogul_mrr: Decimal
    variance: Decimal
    abs_share_of_gap: Decimal  # |variance| / sum of |variances|
    rank: int


@dataclass
class ReconciliationResult:
    as_of: date
    currency: str
    threshold_percent: Decimal
    rows: list[DayComparison]
    top_customers: list[CustomerGap] = field(default_factory=list)
    customers_compared: int = 0
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(row.status == "ok" for row in self.rows)

    @property
    def compared(self) -> list[DayComparison]:
        return [row for row in self.rows if row.variance_percent is not None]

    @property
    def worst_day(self) -> DayComparison | None:
        """The day with the largest absolute variance (a missing day first)."""
        missing = [row for row in self.rows if row.status == "missing"]
        if missing:
            return missing[0]
        compared = self.compared
        return max(compared, key=lambda r: abs(r.variance_percent)) if compared else None

    @property
    def alert_day(self) -> DayComparison | None:
        """The latest day that fails (missing or over the threshold): what an alert leads
        with, since the most recent figures are the ones people act on."""
        failing = [row for row in self.rows if row.status != "ok"]
        return max(failing, key=lambda r: r.metric_date) if failing else None

    @property
    def max_abs_variance_percent(self) -> Decimal:
        compared = self.compared
        return max((abs(r.variance_percent) for r in compared), default=Decimal(0))

    def message(self) -> str:
        worst = self.worst_day
        if worst is None:
            return f"ChartMogul reconciliation for {self.as_of}: nothing to compare."
        if worst.status == "missing":
            side = "ChartMogul" if worst.chartmogul_mrr is None else "the warehouse"
            head = f"ChartMogul reconciliation for {self.as_of} FAILED: {side} has no MRR for {worst.metric_date}."
        else:
            verdict = "passed" if self.passed else "FAILED"
            over = sum(1 for r in self.rows if r.status == "over_threshold")
            if all(r.variance == 0 for r in self.compared):
                return (
                    f"ChartMogul reconciliation for {self.as_of} {verdict}: {len(self.rows)} "
                    f"days compared, every one equal to the cent (MRR on {self.as_of}: "
                    f"{self.rows[-1].our_mrr:,} {self.currency})."
                )
            head = (
                f"ChartMogul reconciliation for {self.as_of} {verdict}: {len(self.rows)} days "
                f"compared, {over} over the {self.threshold_percent}% threshold; largest "
                f"variance on {worst.metric_date}: ours {worst.our_mrr:,} {self.currency}, "
                f"ChartMogul {worst.chartmogul_mrr:,} {self.currency}, variance "
                f"{worst.variance:+,} ({worst.variance_percent:+}%)."
            )
        if self.top_customers and not self.passed:
            names = ", ".join(
                f"{c.customer_id}{f' ({c.customer_name})' if c.customer_name else ''} {c.variance:+,}"
                for c in self.top_customers[:5]
            )
            head += f" Customers explaining the gap on {self.as_of}: {names}."
        return head


# ---------------------------------------------------------------------------- dates


def month_ends_before(as_of: date, count: int) -> list[date]:
    """The last `count` month ends before `as_of`'s month, oldest first."""
    ends = []
    year, month = as_of.year, as_of.month
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        ends.append(date(year, month, calendar.monthrange(year, month)[1]))
    return sorted(ends)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def _compare(
    when: date, period: str, ours: Decimal | None, theirs: Decimal | None, threshold: Decimal
) -> DayComparison:
    if ours is None or theirs is None:
        return DayComparison(when, period, ours, theirs, None, None, "missing")
    variance = ours - theirs
    if theirs == 0:
        percent = Decimal(0) if variance == 0 else Decimal(100)
    else:
        percent = (variance / theirs * 100).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)
    status = "over_threshold" if abs(percent) > threshold else "ok"
    return DayComparison(when, period, ours, theirs, variance, percent, status)


# ---------------------------------------------------------------------------- reconcile


def reconcile(
    warehouse_path: str | Path,
    client: ChartMogulClient,
    as_of: date,
    *,
    days: int = 30,
    threshold_percent: Decimal | str | float = Decimal("1.0"),
    top: int = 10,
    month_ends: int = 12,
) -> ReconciliationResult:
    """Compare, write marts.chartmogul_reconciliation(_customers) for `as_of` (replacing an
    earlier check of the same as-of date) and return the result. Raises ChartMogulError
    subclasses when ChartMogul cannot be read or its currency differs."""
    warehouse = Path(warehouse_path)
    if not warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {warehouse}: build it first (revwh run)")
    threshold = Decimal(str(threshold_percent))
    first_day = as_of - timedelta(days=days - 1)
    # month ends before the compared days (a month end among them is compared already)
    ends = month_ends_before(first_day, month_ends)

    with duckdb.connect(str(warehouse), read_only=True) as con:
        # days before the warehouse's history begins have nothing to compare
        history_start = con.execute("select min(summary_date) from marts.mrr_summary_daily")
        history_start = history_start.fetchone()[0] or as_of + timedelta(days=1)
        ends = [d for d in ends if d >= history_start]
        first_day = max(first_day, history_start)
        ours = _our_daily_mrr(con, first_day, as_of, ends)
        our_customers = _our_customer_mrr(con)
    currency = _reporting_currency(ours)
    chartmogul_currency = client.currency()
    if chartmogul_currency != currency:
        raise CurrencyMismatch(
            f"ChartMogul reports in {chartmogul_currency}, the warehouse in {currency}: set the "
            f"dbt var reporting_currency to {chartmogul_currency} or compare another account"
        )

    theirs = {p.date: _from_cents(p.mrr_cents) for p in client.mrr_series(first_day, as_of, "day")}
    if ends:
        start = ends[0].replace(day=1)
        for point in client.mrr_series(start, ends[-1], "month"):
            theirs.setdefault(point.date, _from_cents(point.mrr_cents))

    rows = [
        _compare(
            d, "month_end", _cents(ours[d][0]) if d in ours else None, theirs.get(d), threshold
        )
        for d in ends
    ]
    day = first_day
    while day <= as_of:
        our = _cents(ours[day][0]) if day in ours else None
        rows.append(_compare(day, "day", our, theirs.get(day), threshold))
        day += timedelta(days=1)

    customers = _customer_gaps(our_customers, list(client.customers()), top)
    result = ReconciliationResult(
        as_of=as_of,
        currency=currency,
        threshold_percent=threshold,
        rows=rows,
        top_customers=customers[0],
        customers_compared=customers[1],
    )
    write_result(warehouse, result)
    return result


def _our_daily_mrr(con, first_day: date, as_of: date, ends: list[date]) -> dict:
    rows = con.execute(
        """
        select summary_date, mrr_end, reporting_currency
        from marts.mrr_summary_daily
        where summary_date between ? and ? or summary_date in (select unnest(?::date[]))
        """,
        [first_day, as_of, ends],
    ).fetchall()
    return {when: (Decimal(mrr), currency) for when, mrr, currency in rows}


def _reporting_currency(ours: dict) -> str:
    currencies = {currency for _, currency in ours.values() if currency}
    if len(currencies) > 1:
        raise CurrencyMismatch(
            f"the warehouse's MRR is in several currencies: {sorted(currencies)}"
        )
    return (currencies.pop() if currencies else "USD").upper()


def _our_customer_mrr(con) -> dict[str, Decimal]:
    rows = con.execute(
        "select customer_id, current_mrr from marts.dim_customers where current_mrr <> 0"
    ).fetchall()
    return {str(customer): Decimal(mrr) for customer, mrr in rows}


def _customer_gaps(
    ours: dict[str, Decimal], theirs: list, top: int
) -> tuple[list[CustomerGap], int]:
    by_external = {c.external_id: c for c in theirs if c.external_id}
    gaps = []
    for customer_id in set(ours) | {k for k, c in by_external.items() if c.mrr_cents}:
        our = _cents(ours.get(customer_id, Decimal(0)))
        their = by_external.get(customer_id)
        their_mrr = _from_cents(their.mrr_cents) if their else Decimal("0.00")
        if our != their_mrr:
            gaps.append((customer_id, their.name if their else "", our, their_mrr, our - their_mrr))
    total = sum((abs(g[4]) for g in gaps), Decimal(0))
    gaps.sort(key=lambda g: (-abs(g[4]), g[0]))
    kept = [
        CustomerGap(
            customer_id=cid,
            customer_name=name,
            our_mrr=our,
            chartmogul_mrr=their,
            variance=variance,
            abs_share_of_gap=(abs(variance) / total).quantize(PERCENT_PLACES)
            if total
            else Decimal(0),
            rank=rank,
        )
        for rank, (cid, name, our, their, variance) in enumerate(gaps[:top], start=1)
    ]
    return kept, len(set(ours) | set(by_external))


# ---------------------------------------------------------------------------- storage

DAILY_TABLE = """
create table if not exists marts.chartmogul_reconciliation (
    as_of date not null,
    metric_date date not null,
    period varchar not null,
    our_mrr decimal(18, 2),
    chartmogul_mrr decimal(18, 2),
    variance decimal(18, 2),
    variance_percent decimal(12, 4),
    status varchar not null,
    currency varchar not null,
    threshold_percent decimal(8, 4) not null,
    checked_at timestamp with time zone not null,
    primary key (as_of, metric_date)
)
"""
CUSTOMER_TABLE = """
create table if not exists marts.chartmogul_reconciliation_customers (
    as_of date not null,
    rank integer not null,
    customer_id varchar not null,
    customer_name varchar,
    our_mrr decimal(18, 2) not null,
    chartmogul_mrr decimal(18, 2) not null,
    variance decimal(18, 2) not null,
    abs_share_of_gap decimal(12, 4) not null,
    currency varchar not null,
    checked_at timestamp with time zone not null,
    primary key (as_of, customer_id)
)
"""


def write_result(warehouse: Path, result: ReconciliationResult) -> None:
    """Replace the rows of `result.as_of` in both tables, in one transaction."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("begin")
        try:
            con.execute("create schema if not exists marts")
            con.execute(DAILY_TABLE)
            con.execute(CUSTOMER_TABLE)
            con.execute(
                "delete from marts.chartmogul_reconciliation where as_of = ?", [result.as_of]
            )
            con.execute(
                "delete from marts.chartmogul_reconciliation_customers where as_of = ?",
                [result.as_of],
            )
            if result.rows:
                con.executemany(
                    "insert into marts.chartmogul_reconciliation values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            result.as_of,
                            r.metric_date,
                            r.period,
                            r.our_mrr,
                            r.chartmogul_mrr,
                            r.variance,
                            r.variance_percent,
                            r.status,
                            result.currency,
                            result.threshold_percent,
                            result.checked_at,
                        )
                        for r in result.rows
                    ],
                )
            if result.top_customers:
                con.executemany(
                    "insert into marts.chartmogul_reconciliation_customers values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            result.as_of,
                            c.rank,
                            c.customer_id,
                            c.customer_name,
                            c.our_mrr,
                            c.chartmogul_mrr,
                            c.variance,
                            c.abs_share_of_gap,
                            result.currency,
                            result.checked_at,
                        )
                        for c in result.top_customers
                    ],
                )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
