"""The ChartMogul reconciliation as the marts hold it, and the alert a failed one sends.

dbt compares (models/marts/reconciliation/: marts.chartmogul_reconciliation and
marts.chartmogul_reconciliation_customers); this module reads one as-of date's rows back
(`read_result`), says what they mean (`ReconciliationResult.message`) and turns a failure
into an alert (`alert_for`): the latest failing day's numbers, the variance and the
customers that explain the gap (or, when a day has no figure, what is missing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from alerts import Alert, check_failure_alert, reconciliation_alert
from core.warehouse import Warehouse

CHECK_NAME = "mrr_within_threshold"
# the dbt mart the check is on (its Dagster asset key)
ASSET_NAME = "chartmogul_reconciliation"
DAILY_TABLE = "marts.chartmogul_reconciliation"
CUSTOMER_TABLE = "marts.chartmogul_reconciliation_customers"


class ReconciliationUnavailable(RuntimeError):
    """The marts hold nothing to judge for the as-of date, or cannot be compared."""


class CurrencyMismatch(ReconciliationUnavailable):
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


# ---------------------------------------------------------------------------- reading


def _relation_exists(con, is_postgres: bool, schema: str, table: str) -> bool:
    sql = (
        "select count(*) from information_schema.tables where table_schema = %s and table_name = %s"
        if is_postgres
        else "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    )
    cursor = con.cursor()
    try:
        cursor.execute(sql, [schema, table])
        return bool(cursor.fetchone()[0])
    finally:
        cursor.close()


def _rows(con, sql: str, params: list, is_postgres: bool) -> list[tuple]:
    cursor = con.cursor()
    try:
        cursor.execute(sql.replace("?", "%s") if is_postgres else sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def _plain(value: Decimal) -> Decimal:
    """A stored DECIMAL(8,4) as it was given: 1.0000 -> 1.0, 2.5000 -> 2.5."""
    value = value.normalize()
    return value.quantize(Decimal("0.1")) if value.as_tuple().exponent >= 0 else value


def read_result(warehouse: Warehouse | str, as_of: date) -> ReconciliationResult:
    """The reconciliation of `as_of` as the marts hold it. Raises ReconciliationUnavailable
    when the marts have no row for `as_of` (ChartMogul was not read for it) and
    CurrencyMismatch when ChartMogul reports in another currency than the warehouse."""
    warehouse = Warehouse.of(warehouse)
    pg = warehouse.is_postgres
    with warehouse.connect(read_only=True) as con:
        if not _relation_exists(con, pg, "marts", "chartmogul_reconciliation"):
            raise ReconciliationUnavailable(
                f"{DAILY_TABLE} does not exist in {warehouse}: build the models first"
            )
        daily = _rows(
            con,
            "select metric_date, period, our_mrr, chartmogul_mrr, variance, variance_percent, "
            f"status, currency, threshold_percent, checked_at from {DAILY_TABLE} "
            "where as_of = ? order by case when period = 'month_end' then 0 else 1 end, "
            "metric_date",
            [as_of],
            pg,
        )
        customers = _rows(
            con,
            "select customer_id, customer_name, our_mrr, chartmogul_mrr, variance, "
            f"abs_share_of_gap, rank from {CUSTOMER_TABLE} where as_of = ? order by rank",
            [as_of],
            pg,
        )
        account = []
        if _relation_exists(con, pg, "raw_chartmogul", "account"):
            account = _rows(con, "select currency, as_of from raw_chartmogul.account", [], pg)
    if not daily:
        raise ReconciliationUnavailable(
            f"nothing to compare for {as_of}: {DAILY_TABLE} has no row for it (ChartMogul was "
            "not read for this as-of date: load it, e.g. revwh run --reconcile)"
        )
    currency, threshold, checked_at = daily[0][7], daily[0][8], daily[0][9]
    theirs = {str(c).upper() for c, read_for in account if read_for == as_of}
    if theirs and theirs != {str(currency).upper()}:
        raise CurrencyMismatch(
            f"ChartMogul reports in {', '.join(sorted(theirs))}, the warehouse in {currency}: "
            f"set the dbt var reporting_currency to {min(theirs)} or compare another account"
        )
    return ReconciliationResult(
        as_of=as_of,
        currency=currency,
        threshold_percent=_plain(Decimal(threshold)),
        rows=[
            DayComparison(
                metric_date=r[0],
                period=r[1],
                our_mrr=r[2],
                chartmogul_mrr=r[3],
                variance=r[4],
                variance_percent=r[5],
                status=r[6],
            )
            for r in daily
        ],
        top_customers=[
            CustomerGap(
                customer_id=c[0],
                customer_name=c[1] or "",
                our_mrr=c[2],
                chartmogul_mrr=c[3],
                variance=c[4],
                abs_share_of_gap=c[5],
                rank=c[6],
            )
            for c in customers
        ],
        checked_at=checked_at,
    )


# ---------------------------------------------------------------------------- alert


def alert_for(result: ReconciliationResult) -> Alert | None:
    """None when the reconciliation passed."""
    day = result.alert_day
    if result.passed or day is None:
        return None
    if day.status == "missing":
        return check_failure_alert(CHECK_NAME, ASSET_NAME, result.message())
    return reconciliation_alert(
        result.as_of,
        day.metric_date,
        day.our_mrr,
        day.chartmogul_mrr,
        currency=result.currency,
        threshold_percent=result.threshold_percent,
        top_customers=result.top_customers,
        days_over_threshold=sum(1 for r in result.rows if r.status != "ok"),
    )
