"""What the ChartMogul stand-in knows: data sources, customers, plans, imported invoices and
subscriptions, and each customer's MRR over time, from which every metric is computed.

A customer's MRR comes either from a series given to the store (`seed_customer`, used to
load the simulated business's ground truth) or from the invoices imported for it, the way
ChartMogul derives it: a subscription line item's amount, normalised to a month by its
plan's interval, counts from its service-period start until its end, or until the
subscription is cancelled. Amounts in another currency are converted at the rate of the
service-period start. Money is Decimal throughout; API answers carry integer cents,
rounded half up once per figure.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
CENT = Decimal("0.01")
MOVEMENTS = ("new-business", "expansion", "contraction", "churn", "reactivation")
# the simulated business's movement names -> ChartMogul's
MOVEMENT_NAMES = {
    "new": "new-business",
    "new-business": "new-business",
    "expansion": "expansion",
    "contraction": "contraction",
    "churn": "churn",
    "reactivation": "reactivation",
}
MONTHS_PER_UNIT = {"day": Decimal(12) / Decimal(365), "month": Decimal(1), "year": Decimal(12)}


class StoreError(Exception):
    """A request the real API would refuse: status, message and optional per-item errors."""

    def __init__(self, status: int, message: str, errors: Mapping | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = dict(errors or {})


def cents(amount: Decimal) -> int:
    """Currency units -> integer cents, rounded half up (once, at the edge)."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _new_uuid(prefix: str) -> str:
    return f"{prefix}_{uuidlib.uuid4()}"


@dataclass(frozen=True)
class Step:
    """From `day` on, the customer's MRR is `mrr` (account currency); `movement` names the
    change (None for a change that is only exchange rates)."""

    day: date
    mrr: Decimal
    movement: str | None
    change: Decimal


@dataclass
class DataSource:
    uuid: str
    name: str
    created_at: datetime
    system: str = "Import API"
    status: str = "idle"

    def to_json(self) -> dict:
        return {
            "uuid": self.uuid,
            "name": self.name,
            "system": self.system,
            "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "status": self.status,
        }


@dataclass
class Plan:
    uuid: str
    data_source_uuid: str
    name: str
    interval_count: int
    interval_unit: str
    external_id: str

    def months(self) -> Decimal:
        return MONTHS_PER_UNIT[self.interval_unit] * self.interval_count

    def to_json(self) -> dict:
        return {
            "uuid": self.uuid,
            "data_source_uuid": self.data_source_uuid,
            "name": self.name,
            "interval_count": self.interval_count,
            "interval_unit": self.interval_unit,
            "external_id": self.external_id,
        }


@dataclass
class Customer:
    id: int
    uuid: str
    data_source_uuid: str
    external_id: str
    name: str
    email: str
    company: str = ""
    country: str | None = None
    city: str | None = None
    lead_created_at: datetime | None = None
    free_trial_started_at: datetime | None = None
    # a given series (seeded) or None: derived from imported invoices
    series: list[Step] | None = None


@dataclass
class Subscription:
    uuid: str
    external_id: str
    customer_uuid: str
    data_source_uuid: str
    plan_uuid: str
    # (service_period_start, service_period_end, monthly amount in account currency)
    periods: list[tuple[date, date, Decimal]] = field(default_factory=list)
    cancellation_dates: list[datetime] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "uuid": self.uuid,
            "external_id": self.external_id,
            "customer_uuid": self.customer_uuid,
            "data_source_uuid": self.data_source_uuid,
            "plan_uuid": self.plan_uuid,
            "cancellation_dates": [_iso(d) for d in self.cancellation_dates],
        }


def _iso(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return moment.isoformat() + "T00:00:00.000Z"


def parse_moment(value, what: str) -> datetime:
    """ISO 8601 date or date-time (Z or offset); naive means UTC, like ChartMogul."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str) or not value:
        raise StoreError(422, f"{what} is required and must be an ISO 8601 date")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise StoreError(422, f"{what} {value!r} is not an ISO 8601 date") from None
    if parsed.tzinfo is not None:
        parsed = (parsed - parsed.utcoffset()).replace(tzinfo=None)
    return parsed


class Store:
    """Thread-safe: the server thread answers while tests import or change drift."""

    def __init__(
        self,
        *,
        currency: str = "USD",
        account_name: str = "Sandbox SaaS",
        as_of: date | None = None,
        fx_rates: Mapping[tuple[str, date], Decimal] | None = None,
    ):
        self.currency = currency.upper()
        self.account_name = account_name
        self.as_of = as_of or date.today()
        self._fx = dict(fx_rates or {})
        self._fx_days: dict[str, list[date]] = defaultdict(list)
        for ccy, day in sorted(self._fx):
            self._fx_days[ccy].append(day)
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.data_sources: dict[str, DataSource] = {}
        self.customers: dict[str, Customer] = {}
        self.plans: dict[str, Plan] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.invoices: dict[str, list[dict]] = defaultdict(list)  # customer uuid -> invoices
        self._invoice_ids: set[tuple[str, str]] = set()  # (data source, external id)
        self._index: _Index | None = None

    # -------------------------------------------------------------- writes

    def _changed(self) -> None:
        self._index = None

    def create_data_source(self, name: str, *, created_at: datetime | None = None) -> DataSource:
        if not name:
            raise StoreError(422, "name is required")
        with self._lock:
            if any(ds.name == name for ds in self.data_sources.values()):
                raise StoreError(422, f"A data source named {name!r} already exists")
            source = DataSource(_new_uuid("ds"), name, created_at or datetime.utcnow())
            self.data_sources[source.uuid] = source
            return source

    def data_source(self, uuid: str) -> DataSource:
        source = self.data_sources.get(uuid)
        if source is None:
            raise StoreError(404, f"Data source {uuid} not found")
        return source

    def create_customer(self, body: Mapping, *, series: Iterable[Step] | None = None) -> Customer:
        source = self.data_source(str(body.get("data_source_uuid") or ""))
        external_id = str(body.get("external_id") or "")
        if not external_id:
            raise StoreError(422, "external_id is required")
        with self._lock:
            for existing in self.customers.values():
                if (existing.data_source_uuid, existing.external_id) == (source.uuid, external_id):
                    raise StoreError(
                        422,
                        "The external ID for this customer already exists in our system.",
                        {"external_id": "has already been taken"},
                    )
            customer = Customer(
                id=next(self._ids),
                uuid=_new_uuid("cus"),
                data_source_uuid=source.uuid,
                external_id=external_id,
                name=str(body.get("name") or ""),
                email=str(body.get("email") or ""),
                company=str(body.get("company") or ""),
                country=body.get("country"),
                city=body.get("city"),
                lead_created_at=_optional_moment(body.get("lead_created_at"), "lead_created_at"),
                free_trial_started_at=_optional_moment(
                    body.get("free_trial_started_at"), "free_trial_started_at"
                ),
                series=sorted(series, key=lambda s: s.day) if series is not None else None,
            )
            self.customers[customer.uuid] = customer
            self._changed()
            return customer

    def seed_customer(
        self, data_source_uuid: str, external_id: str, steps: Iterable[Step], **details
    ) -> Customer:
        """A customer whose MRR is the given series (how the world's truth is loaded)."""
        body = {"data_source_uuid": data_source_uuid, "external_id": external_id, **details}
        return self.create_customer(body, series=steps)

    def customer(self, uuid: str) -> Customer:
        customer = self.customers.get(uuid)
        if customer is None:
            raise StoreError(404, f"Customer {uuid} not found")
        return customer

    def create_plan(self, body: Mapping) -> Plan:
        source = self.data_source(str(body.get("data_source_uuid") or ""))
        unit = body.get("interval_unit")
        if unit not in MONTHS_PER_UNIT:
            raise StoreError(422, "interval_unit must be day, month or year")
        try:
            count = int(body.get("interval_count"))
        except (TypeError, ValueError):
            raise StoreError(422, "interval_count must be a positive integer") from None
        if count < 1:
            raise StoreError(422, "interval_count must be a positive integer")
        external_id = str(body.get("external_id") or _new_uuid("plan_ext"))
        with self._lock:
            for plan in self.plans.values():
                if (plan.data_source_uuid, plan.external_id) == (source.uuid, external_id):
                    raise StoreError(422, "The external ID for this plan already exists")
            plan = Plan(
                _new_uuid("pl"), source.uuid, str(body.get("name") or ""), count, unit, external_id
            )
            self.plans[plan.uuid] = plan
            return plan

    def import_invoices(self, customer_uuid: str, invoices: list) -> list[dict]:
        """Validate every invoice first, then store them all (a batch is all or nothing).
        An invoice whose external_id was imported before is refused, never doubled."""
        customer = self.customer(customer_uuid)
        if not isinstance(invoices, list) or not invoices:
            raise StoreError(422, "invoices must be a non-empty list")
        with self._lock:
            seen = set(self._invoice_ids)
            prepared, problems = [], {}
            for position, invoice in enumerate(invoices):
                try:
                    prepared.append(self._prepare_invoice(customer, invoice, seen))
                except StoreError as exc:
                    problems[str(position)] = exc.message
            if problems:
                raise StoreError(422, "Invoices were not imported", {"invoices": problems})
            for invoice, periods in prepared:
                self._invoice_ids.add((customer.data_source_uuid, invoice["external_id"]))
                self.invoices[customer.uuid].append(invoice)
                for subscription_uuid, period in periods:
                    self.subscriptions[subscription_uuid].periods.append(period)
            self._changed()
            return [invoice for invoice, _ in prepared]

    def _prepare_invoice(self, customer: Customer, body, seen: set) -> tuple[dict, list]:
        if not isinstance(body, Mapping):
            raise StoreError(422, "an invoice must be an object")
        external_id = str(body.get("external_id") or "")
        if not external_id:
            raise StoreError(422, "external_id is required")
        key = (customer.data_source_uuid, external_id)
        if key in seen:
            raise StoreError(422, f"The external ID {external_id} already exists in our system.")
        seen.add(key)
        currency = str(body.get("currency") or "").upper()
        if len(currency) != 3:
            raise StoreError(422, "currency must be an ISO 4217 code")
        invoice_date = parse_moment(body.get("date"), "date")
        line_items, periods = [], []
        for item in body.get("line_items") or []:
            line, period = self._prepare_line_item(customer, currency, item)
            line_items.append(line)
            if period is not None:
                periods.append(period)
        transactions = []
        for transaction in body.get("transactions") or []:
            if transaction.get("type") not in ("payment", "refund"):
                raise StoreError(422, "a transaction's type must be payment or refund")
            if transaction.get("result") not in ("successful", "failed"):
                raise StoreError(422, "a transaction's result must be successful or failed")
            transactions.append(
                {
                    "uuid": _new_uuid("tr"),
                    "external_id": transaction.get("external_id"),
                    "type": transaction["type"],
                    "date": _iso(parse_moment(transaction.get("date"), "transaction date")),
                    "result": transaction["result"],
                }
            )
        invoice = {
            "uuid": _new_uuid("inv"),
            "external_id": external_id,
            "customer_uuid": customer.uuid,
            "data_source_uuid": customer.data_source_uuid,
            "currency": currency,
            "date": _iso(invoice_date),
            "due_date": _iso(parse_moment(body["due_date"], "due_date"))
            if body.get("due_date")
            else None,
            "line_items": line_items,
            "transactions": transactions,
        }
        return invoice, periods

    def _prepare_line_item(self, customer: Customer, currency: str, item) -> tuple[dict, tuple]:
        kind = item.get("type") if isinstance(item, Mapping) else None
        if kind not in ("subscription", "one_time"):
            raise StoreError(422, "a line item's type must be subscription or one_time")
        try:
            amount = int(item.get("amount_in_cents"))
        except (TypeError, ValueError):
            raise StoreError(422, "amount_in_cents must be an integer") from None
        line = {
            "uuid": _new_uuid("li"),
            "external_id": item.get("external_id"),
            "type": kind,
            "amount_in_cents": amount,
            "quantity": int(item.get("quantity") or 1),
            "tax_amount_in_cents": int(item.get("tax_amount_in_cents") or 0),
            "discount_amount_in_cents": int(item.get("discount_amount_in_cents") or 0),
            "prorated": bool(item.get("prorated", False)),
            "description": item.get("description"),
        }
        if kind == "one_time":
            return line, None
        plan = self.plans.get(str(item.get("plan_uuid") or ""))
        if plan is None:
            raise StoreError(422, f"plan_uuid {item.get('plan_uuid')!r} does not exist")
        start = parse_moment(item.get("service_period_start"), "service_period_start").date()
        end = parse_moment(item.get("service_period_end"), "service_period_end").date()
        if end <= start:
            raise StoreError(422, "service_period_end must be after service_period_start")
        external = str(item.get("subscription_external_id") or "")
        if not external:
            raise StoreError(422, "subscription_external_id is required")
        subscription = self._subscription_for(customer, external, plan)
        # MRR excludes tax (amount_in_cents includes it, after discounts)
        net = Decimal(amount - line["tax_amount_in_cents"]) / 100
        monthly = self.to_account_currency(net, currency, start) / plan.months()
        line.update(
            subscription_uuid=subscription.uuid,
            subscription_external_id=external,
            plan_uuid=plan.uuid,
            service_period_start=_iso(start),
            service_period_end=_iso(end),
        )
        return line, (subscription.uuid, (start, end, ZERO if line["prorated"] else monthly))

    def _subscription_for(self, customer: Customer, external_id: str, plan: Plan) -> Subscription:
        for subscription in self.subscriptions.values():
            if (subscription.customer_uuid, subscription.external_id) == (
                customer.uuid,
                external_id,
            ):
                subscription.plan_uuid = plan.uuid  # a plan change keeps the subscription
                return subscription
        subscription = Subscription(
            _new_uuid("sub"), external_id, customer.uuid, customer.data_source_uuid, plan.uuid
        )
        self.subscriptions[subscription.uuid] = subscription
        return subscription

    def cancel_subscription(self, uuid: str, body: Mapping) -> Subscription:
        with self._lock:
            subscription = self.subscriptions.get(uuid)
            if subscription is None:
                raise StoreError(404, f"Subscription {uuid} not found")
            if "cancellation_dates" in body:
                dates = body.get("cancellation_dates") or []
                if not isinstance(dates, list):
                    raise StoreError(422, "cancellation_dates must be a list")
                subscription.cancellation_dates = sorted(
                    parse_moment(d, "cancellation_dates") for d in dates
                )
            elif "cancelled_at" in body:
                subscription.cancellation_dates = [
                    parse_moment(body["cancelled_at"], "cancelled_at")
                ]
            else:
                raise StoreError(422, "cancellation_dates or cancelled_at is required")
            self._changed()
            return subscription

    def to_account_currency(self, amount: Decimal, currency: str, day: date) -> Decimal:
        if currency == self.currency:
            return amount
        days = self._fx_days.get(currency)
        if not days:
            raise StoreError(422, f"no exchange rate for {currency} to {self.currency}")
        position = bisect.bisect_right(days, day) - 1
        rate_day = days[max(position, 0)]
        return amount * self._fx[(currency, rate_day)]

    # -------------------------------------------------------------- reads

    def timeline(self, customer: Customer) -> list[Step]:
        if customer.series is not None:
            return customer.series
        return _derive_steps(
            s for s in self.subscriptions.values() if s.customer_uuid == customer.uuid
        )

    def index(self) -> _Index:
        with self._lock:
            if self._index is None:
                self._index = _Index.build(
                    {uuid: self.timeline(c) for uuid, c in self.customers.items()}
                )
            return self._index


def _optional_moment(value, what: str) -> datetime | None:
    return parse_moment(value, what) if value else None


def _derive_steps(subscriptions: Iterable[Subscription]) -> list[Step]:
    """A customer's MRR steps from its subscriptions' service periods and cancellations."""
    deltas: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for subscription in subscriptions:
        cancelled = (
            subscription.cancellation_dates[0].date() if subscription.cancellation_dates else None
        )
        # a later invoice for an overlapping period replaces the earlier one from its start
        periods = sorted(subscription.periods, key=lambda p: p[0])
        for position, (start, end, monthly) in enumerate(periods):
            if position + 1 < len(periods):
                end = min(end, periods[position + 1][0])
            if cancelled is not None:
                end = min(end, cancelled)
            if start < end:
                deltas[start] += monthly
                deltas[end] -= monthly
    steps, mrr, ever_paid = [], ZERO, False
    for day in sorted(deltas):
        change = deltas[day]
        if not change:
            continue
        before, mrr = mrr, mrr + change
        if before == 0:
            movement = "reactivation" if ever_paid else "new-business"
        elif mrr == 0:
            movement = "churn"
        else:
            movement = "expansion" if change > 0 else "contraction"
        ever_paid = ever_paid or mrr > 0
        steps.append(Step(day, mrr, movement, change))
    return steps


@dataclass
class _Index:
    """Per-day totals built once per change: MRR, paying customers and movements, so a
    metrics request over years costs a bisect per bucket."""

    days: list[date]  # days on which anything changed
    mrr_at: list[Decimal]  # exact company MRR from that day on
    customers_at: list[int]
    movement_days: dict[str, list[date]]
    movement_totals: dict[str, list[Decimal]]  # running sums per movement
    event_days: dict[str, list[date]]  # "churned" / "new": customers leaving / first paying
    event_totals: dict[str, list[int]]  # running counts
    per_customer: dict[str, tuple[list[date], list[Decimal]]]

    @classmethod
    def build(cls, timelines: Mapping[str, list[Step]]) -> _Index:
        mrr_delta: dict[date, Decimal] = defaultdict(lambda: ZERO)
        count_delta: dict[date, int] = defaultdict(int)
        movements: dict[str, dict[date, Decimal]] = {
            m: defaultdict(lambda: ZERO) for m in MOVEMENTS
        }
        events: dict[str, dict[date, int]] = {"churned": defaultdict(int), "new": defaultdict(int)}
        per_customer = {}
        for uuid, steps in timelines.items():
            previous = ZERO
            for step in steps:
                mrr_delta[step.day] += step.mrr - previous
                if previous <= 0 < step.mrr:
                    count_delta[step.day] += 1
                elif step.mrr <= 0 < previous:
                    count_delta[step.day] -= 1
                    events["churned"][step.day] += 1
                if step.movement == "new-business":
                    events["new"][step.day] += 1
                if step.movement:
                    movements[step.movement][step.day] += step.change
                previous = step.mrr
            per_customer[uuid] = ([s.day for s in steps], [s.mrr for s in steps])
        days = sorted(set(mrr_delta) | set(count_delta))
        mrr_at = list(itertools.accumulate(mrr_delta[d] for d in days))
        customers_at = list(itertools.accumulate(count_delta[d] for d in days))
        movement_days, movement_totals = {}, {}
        for name, by_day in movements.items():
            movement_days[name] = sorted(by_day)
            movement_totals[name] = list(
                itertools.accumulate(by_day[d] for d in movement_days[name])
            )
        event_days = {name: sorted(by_day) for name, by_day in events.items()}
        event_totals = {
            name: list(itertools.accumulate(events[name][d] for d in days_))
            for name, days_ in event_days.items()
        }
        return cls(
            days,
            mrr_at,
            customers_at,
            movement_days,
            movement_totals,
            event_days,
            event_totals,
            per_customer,
        )

    @staticmethod
    def _at(days: list[date], values: list, day: date, empty):
        position = bisect.bisect_right(days, day) - 1
        return values[position] if position >= 0 else empty

    def mrr(self, day: date) -> Decimal:
        return self._at(self.days, self.mrr_at, day, ZERO)

    def customers(self, day: date) -> int:
        return self._at(self.days, self.customers_at, day, 0)

    def movement(self, name: str, first: date, last: date) -> Decimal:
        """Sum of one movement over the days first..last."""
        days, totals = self.movement_days[name], self.movement_totals[name]
        return self._at(days, totals, last, ZERO) - self._at(
            days, totals, first - timedelta(days=1), ZERO
        )

    def _events(self, name: str, first: date, last: date) -> int:
        days, totals = self.event_days[name], self.event_totals[name]
        return self._at(days, totals, last, 0) - self._at(
            days, totals, first - timedelta(days=1), 0
        )

    def churned(self, first: date, last: date) -> int:
        """Customers whose MRR fell to zero on the days first..last."""
        return self._events("churned", first, last)

    def new_customers(self, first: date, last: date) -> int:
        return self._events("new", first, last)

    def customer_mrr(self, uuid: str, day: date) -> Decimal:
        days, values = self.per_customer.get(uuid, ([], []))
        return self._at(days, values, day, ZERO)
