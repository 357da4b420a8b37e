"""What the ChartMogul stand-in knows: data sources, customers, plans, imported invoices
with their line items and transactions, the subscriptions the line items make, and each
customer's MRR over time, from which every metric is computed.

A customer's MRR comes either from a series given to the store (`seed_customer`, used to
load the simulated business's ground truth) or from the invoices imported for it, by
ChartMogul's rules as this stand-in implements them:

- A subscription line item counts (amount_in_cents - tax_amount_in_cents) / plan months
  from its service-period start (inclusive) until its end (exclusive); amount_in_cents is
  after discounts and includes tax; quantity is already in it. A plan's months: day =
  12/365, month = 1, year = 12, times interval_count.
- Another currency is converted to the account currency at the rate of the service-period
  start: the latest rate on or before that day (before the first known rate, the first
  one). Rates mean 1 unit of the currency = rate USD.
- Lines of one subscription are ordered by service-period start (then by import order);
  a line replaces the one before it from its start.
- A prorated line (`prorated: true`) is extrapolated to a full billing period: monthly MRR
  = net x (seconds of the full period) / (seconds of its service period) / plan months,
  in effect from its start. The full period is the service period of the subscription's
  latest non-prorated line that covers the prorated line's start; without one, the plan's
  interval ending at the prorated line's service-period end. A prorated line of 0 sets
  the subscription to 0 from its start. Service periods keep their times for this, while
  MRR changes by the day (the day of a moment, UTC).
- Each cancellation date c ends every service period of the subscription that started at
  or before c and ends after c: it then ends on c's day. A period that starts after c
  counts again (a reactivation).
- Movements are per customer per day: from 0 to more is new-business (never paid before)
  or reactivation; up is expansion, down is contraction, to 0 is churn.
- Deleting an invoice removes its line items' service periods (and frees its external id
  and its transactions' external ids for a re-import).

Money is Decimal throughout; API answers carry integer cents, rounded half up once per
figure. Every write costs O(items in the request): lookups by external id go through
indexes, and a customer's MRR steps are cached until one of its subscriptions changes.
The company-wide index behind the metrics is rebuilt lazily after a change.
"""

from __future__ import annotations

import bisect
import calendar
import itertools
import threading
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .currencies import is_currency

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
CUSTOM_ATTRIBUTE_TYPES = ("String", "Integer", "Decimal", "Timestamp", "Boolean")


class StoreError(Exception):
    """A request the real API would refuse: status, message and optional per-field errors
    (field path -> message, e.g. {"invoices[0].currency": "..."})."""

    def __init__(self, status: int, message: str, errors: Mapping | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = dict(errors or {})


def invalid(field_name: str, message: str) -> StoreError:
    """A 422 naming the field, as ChartMogul's validation answers."""
    return StoreError(422, f"{field_name} {message}", {field_name: message})


def _prefixed(error: StoreError, prefix: str) -> dict[str, str]:
    return {f"{prefix}.{name}": message for name, message in error.errors.items()} or {
        prefix: error.message
    }


def cents(amount: Decimal) -> int:
    """Currency units -> integer cents, rounded half up (once, at the edge)."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _new_uuid(prefix: str) -> str:
    return f"{prefix}_{uuidlib.uuid4()}"


def _iso(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return moment.isoformat() + "T00:00:00.000Z"


def parse_moment(value, what: str) -> datetime:
    """ISO 8601 date or date-time (Z or offset; a space for the T, as ChartMogul's own
    examples write it); naive means UTC, like ChartMogul."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str) or not value:
        raise invalid(what, "is required and must be an ISO 8601 date")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(what, f"{value!r} is not an ISO 8601 date") from None
    if parsed.tzinfo is not None:
        parsed = (parsed - parsed.utcoffset()).replace(tzinfo=None)
    return parsed


def _optional_moment(value, what: str) -> datetime | None:
    return parse_moment(value, what) if value else None


def _integer(value, what: str, default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid(what, "must be an integer")
    try:
        return int(value)
    except ValueError:
        raise invalid(what, "must be an integer") from None


def _optional_text(value) -> str | None:
    return None if value is None else str(value)


def _seconds(span: timedelta) -> int:
    return span.days * 86_400 + span.seconds


def _months_before(moment: datetime, months: int) -> datetime:
    """The same day `months` earlier (the month's last day when it has fewer days)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


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
            "created_at": _iso(self.created_at),
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
    state: str | None = None
    city: str | None = None
    zip: str | None = None
    lead_created_at: datetime | None = None
    free_trial_started_at: datetime | None = None
    tags: list[str] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)  # custom attributes: key -> value
    # a given series (seeded) or None: derived from imported invoices
    series: list[Step] | None = None


@dataclass(slots=True)
class Transaction:
    uuid: str
    external_id: str | None
    type: str  # payment | refund
    date: datetime
    result: str  # successful | failed
    amount_in_cents: int | None

    def to_json(self) -> dict:
        return {
            "uuid": self.uuid,
            "external_id": self.external_id,
            "type": self.type,
            "date": _iso(self.date),
            "result": self.result,
            "amount_in_cents": self.amount_in_cents,
        }


@dataclass(slots=True)
class LineItem:
    """An invoice line; a subscription line also carries what MRR needs (`net` is
    amount - tax in the account currency at the rate of the service-period start)."""

    uuid: str
    type: str  # subscription | one_time
    amount_in_cents: int
    quantity: int
    tax_amount_in_cents: int
    discount_amount_in_cents: int
    prorated: bool
    external_id: str | None
    description: str | None
    discount_code: str | None
    invoice_uuid: str
    subscription_uuid: str | None = None
    subscription_external_id: str | None = None
    subscription_set_external_id: str | None = None
    plan_uuid: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    net: Decimal = ZERO
    plan_months: Decimal = ZERO
    plan_interval: tuple[int, str] = (1, "month")
    order: int = 0  # import order: of two lines starting together the later one wins

    def monthly(self, full_periods: list[LineItem]) -> Decimal:
        """This line's MRR (account currency); `full_periods` are the subscription's
        non-prorated lines ordered by (start, order)."""
        if not self.prorated:
            return self.net / self.plan_months
        if not self.net:
            return ZERO
        assert self.start is not None and self.end is not None
        covering = None
        for candidate in full_periods:  # the latest one covering this line's start
            assert candidate.start is not None and candidate.end is not None
            if candidate.start > self.start:
                break
            if self.start < candidate.end:
                covering = candidate
        if covering is not None:
            assert covering.start is not None and covering.end is not None
            full = _seconds(covering.end - covering.start)
        else:
            count, unit = self.plan_interval
            if unit == "day":
                full_start = self.end - timedelta(days=count)
            else:
                full_start = _months_before(self.end, count * (12 if unit == "year" else 1))
            full = _seconds(self.end - full_start)
        prorated = _seconds(self.end - self.start)
        return self.net * full / prorated / self.plan_months

    def to_json(self) -> dict:
        line = {
            "uuid": self.uuid,
            "external_id": self.external_id,
            "type": self.type,
            "amount_in_cents": self.amount_in_cents,
            "quantity": self.quantity,
            "discount_code": self.discount_code,
            "discount_amount_in_cents": self.discount_amount_in_cents,
            "tax_amount_in_cents": self.tax_amount_in_cents,
            "description": self.description,
        }
        if self.type == "subscription":
            assert self.start is not None and self.end is not None
            line.update(
                subscription_uuid=self.subscription_uuid,
                subscription_external_id=self.subscription_external_id,
                subscription_set_external_id=self.subscription_set_external_id,
                plan_uuid=self.plan_uuid,
                prorated=self.prorated,
                service_period_start=_iso(self.start),
                service_period_end=_iso(self.end),
            )
        return line


@dataclass(slots=True)
class Invoice:
    uuid: str
    external_id: str
    customer_uuid: str
    data_source_uuid: str
    currency: str
    date: datetime
    due_date: datetime | None
    line_items: list[LineItem]
    transactions: list[Transaction]

    def to_json(self) -> dict:
        return {
            "uuid": self.uuid,
            "external_id": self.external_id,
            "customer_uuid": self.customer_uuid,
            "data_source_uuid": self.data_source_uuid,
            "currency": self.currency,
            "date": _iso(self.date),
            "due_date": _iso(self.due_date) if self.due_date else None,
            "line_items": [line.to_json() for line in self.line_items],
            "transactions": [t.to_json() for t in self.transactions],
        }


@dataclass
class Subscription:
    uuid: str
    external_id: str
    customer_uuid: str
    data_source_uuid: str
    plan_uuid: str
    subscription_set_external_id: str | None = None
    lines: dict[str, LineItem] = field(default_factory=dict)  # line uuid -> line
    cancellation_dates: list[datetime] = field(default_factory=list)

    def segments(self) -> list[tuple[date, date, Decimal]]:
        """(first day, day after the last, monthly MRR) after prorations, replacements and
        cancellations (the rules in the module docstring)."""
        ordered = sorted(self.lines.values(), key=lambda line: (line.start, line.order))
        full_periods = [line for line in ordered if not line.prorated]
        pieces = []
        for position, line in enumerate(ordered):
            assert line.start is not None and line.end is not None
            first, end = line.start.date(), line.end.date()
            if position + 1 < len(ordered):  # the next line replaces this one
                following = ordered[position + 1].start
                assert following is not None
                end = min(end, following.date())
            for cancelled in self.cancellation_dates:
                if line.start <= cancelled and end > cancelled.date():
                    end = cancelled.date()
            if first < end:
                pieces.append((first, end, line.monthly(full_periods)))
        return pieces

    def mrr_on(self, day: date) -> Decimal:
        return sum((m for first, end, m in self.segments() if first <= day < end), ZERO)

    def latest_plan(self) -> str | None:
        if not self.lines:
            return None
        return max(self.lines.values(), key=lambda line: (line.start, line.order)).plan_uuid

    def to_json(self) -> dict:
        return {
            "uuid": self.uuid,
            "external_id": self.external_id,
            "subscription_set_external_id": self.subscription_set_external_id,
            "customer_uuid": self.customer_uuid,
            "data_source_uuid": self.data_source_uuid,
            "plan_uuid": self.plan_uuid,
            "cancellation_dates": [_iso(d) for d in self.cancellation_dates],
        }


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
        self._fx = {
            (ccy.upper(), day): Decimal(rate) for (ccy, day), rate in (fx_rates or {}).items()
        }
        self._fx_days: dict[str, list[date]] = defaultdict(list)
        for ccy, day in sorted(self._fx):
            self._fx_days[ccy].append(day)
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._line_order = itertools.count(1)
        self.data_sources: dict[str, DataSource] = {}
        self.customers: dict[str, Customer] = {}
        self.plans: dict[str, Plan] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.invoices: dict[str, list[Invoice]] = defaultdict(list)  # customer uuid -> invoices
        # indexes, so that a write costs O(items in the request)
        self._data_source_names: dict[str, str] = {}
        self._customer_keys: dict[tuple[str, str], str] = {}  # (data source, external id)
        self._plan_keys: dict[tuple[str, str], str] = {}  # (data source, external id)
        self._subscription_keys: dict[tuple[str, str], Subscription] = {}  # (customer, ext)
        self._customer_subscriptions: dict[str, list[Subscription]] = defaultdict(list)
        self._invoices_by_uuid: dict[str, Invoice] = {}
        self._invoice_keys: dict[tuple[str, str], str] = {}  # (data source, ext) -> uuid
        self._transaction_keys: dict[tuple[str, str], str] = {}  # (data source, ext) -> uuid
        self._timelines: dict[str, list[Step]] = {}  # derived customers' steps, until changed
        self._totals = _Totals()  # the index's per-day sums, re-counted per changed customer
        self._dirty: set[str] = set()  # customers changed since the index was built
        self._index: _Index | None = None

    # -------------------------------------------------------------- writes

    def _changed(self, customer_uuid: str) -> None:
        self._timelines.pop(customer_uuid, None)
        self._dirty.add(customer_uuid)
        self._index = None

    def create_data_source(self, name: str, *, created_at: datetime | None = None) -> DataSource:
        if not name:
            raise invalid("name", "is required")
        with self._lock:
            if name in self._data_source_names:
                raise StoreError(
                    422,
                    f"A data source named {name!r} already exists",
                    {"name": "has already been taken"},
                )
            source = DataSource(
                _new_uuid("ds"), name, created_at or datetime.now(UTC).replace(tzinfo=None)
            )
            self.data_sources[source.uuid] = source
            self._data_source_names[name] = source.uuid
            return source

    def data_source(self, uuid: str) -> DataSource:
        source = self.data_sources.get(uuid)
        if source is None:
            raise StoreError(404, f"Data source {uuid} not found")
        return source

    def _source_for_write(self, body: Mapping) -> DataSource:
        uuid = str(body.get("data_source_uuid") or "")
        if not uuid:
            raise invalid("data_source_uuid", "is required")
        source = self.data_sources.get(uuid)
        if source is None:
            raise invalid("data_source_uuid", f"{uuid!r} does not exist")
        return source

    def create_customer(self, body: Mapping, *, series: Iterable[Step] | None = None) -> Customer:
        source = self._source_for_write(body)
        external_id = str(body.get("external_id") or "")
        if not external_id:
            raise invalid("external_id", "is required")
        attributes = body.get("attributes") or {}
        if not isinstance(attributes, Mapping):
            raise invalid("attributes", "must be an object")
        tags = _tags(attributes.get("tags"))
        custom = _custom_attributes(attributes.get("custom"))
        with self._lock:
            if (source.uuid, external_id) in self._customer_keys:
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
                country=_optional_text(body.get("country")),
                state=_optional_text(body.get("state")),
                city=_optional_text(body.get("city")),
                zip=_optional_text(body.get("zip")),
                lead_created_at=_optional_moment(body.get("lead_created_at"), "lead_created_at"),
                free_trial_started_at=_optional_moment(
                    body.get("free_trial_started_at"), "free_trial_started_at"
                ),
                tags=tags or [],
                custom=custom,
                series=sorted(series, key=lambda s: s.day) if series is not None else None,
            )
            self.customers[customer.uuid] = customer
            self._customer_keys[(source.uuid, external_id)] = customer.uuid
            self._changed(customer.uuid)
            return customer

    def seed_customer(
        self, data_source_uuid: str, external_id: str, steps: Iterable[Step], **details
    ) -> Customer:
        """A customer whose MRR is the given series (how the world's truth is loaded)."""
        body = {"data_source_uuid": data_source_uuid, "external_id": external_id, **details}
        return self.create_customer(body, series=steps)

    def modify_customer(self, uuid: str, body: Mapping) -> Customer:
        """PATCH /customers/{uuid}: the given fields change; `attributes.custom` (an object
        of key: value, or the create call's list) is merged; `attributes.tags` replaces."""
        customer = self.customer(uuid)
        changes: dict[str, Any] = {}
        for name in ("name", "email", "company"):
            if name in body:
                changes[name] = str(body[name] or "")
        for name in ("country", "state", "city", "zip"):
            if name in body:
                changes[name] = _optional_text(body[name])
        for name in ("lead_created_at", "free_trial_started_at"):
            if name in body:
                changes[name] = _optional_moment(body[name], name)
        attributes = body.get("attributes") or {}
        if not isinstance(attributes, Mapping):
            raise invalid("attributes", "must be an object")
        tags = _tags(attributes.get("tags"))
        custom = _custom_attributes(attributes.get("custom"))
        with self._lock:
            for name, value in changes.items():
                setattr(customer, name, value)
            if tags is not None:
                customer.tags = tags
            customer.custom.update(custom)
            return customer

    def customer(self, uuid: str) -> Customer:
        customer = self.customers.get(uuid)
        if customer is None:
            raise StoreError(404, f"Customer {uuid} not found")
        return customer

    def customer_by_external_id(self, data_source_uuid: str, external_id: str) -> Customer | None:
        uuid = self._customer_keys.get((data_source_uuid, external_id))
        return self.customers.get(uuid) if uuid else None

    def create_plan(self, body: Mapping) -> Plan:
        source = self._source_for_write(body)
        unit = body.get("interval_unit")
        if unit not in MONTHS_PER_UNIT:
            raise invalid("interval_unit", "must be day, month or year")
        count = _integer(body.get("interval_count"), "interval_count")
        if count < 1:
            raise invalid("interval_count", "must be a positive integer")
        external_id = str(body.get("external_id") or _new_uuid("plan_ext"))
        with self._lock:
            if (source.uuid, external_id) in self._plan_keys:
                raise StoreError(
                    422,
                    "The external ID for this plan already exists in our system.",
                    {"external_id": "has already been taken"},
                )
            plan = Plan(
                _new_uuid("pl"), source.uuid, str(body.get("name") or ""), count, unit, external_id
            )
            self.plans[plan.uuid] = plan
            self._plan_keys[(source.uuid, external_id)] = plan.uuid
            return plan

    def update_plan(self, uuid: str, body: Mapping) -> Plan:
        """PATCH /v1/plans/{uuid}: the name. A new interval would change the MRR of every
        line already imported on the plan, which the stand-in keeps as monthly amounts: it
        is refused (an import keyed by plan and interval never changes one)."""
        with self._lock:
            plan = self.plans.get(uuid)
            if plan is None:
                raise StoreError(404, f"Plan {uuid} not found")
            for field_name, current in (
                ("interval_unit", plan.interval_unit),
                ("interval_count", plan.interval_count),
            ):
                if field_name in body and str(body[field_name]) != str(current):
                    raise invalid(field_name, "the stand-in cannot change a plan's interval")
            if "name" in body:
                plan.name = str(body.get("name") or "")
            return plan

    def plan_by_external_id(self, data_source_uuid: str, external_id: str) -> Plan | None:
        uuid = self._plan_keys.get((data_source_uuid, external_id))
        return self.plans.get(uuid) if uuid else None

    def import_invoices(self, customer_uuid: str, invoices) -> list[Invoice]:
        """Validate every invoice first, then store them all (a batch is all or nothing).
        An invoice or transaction whose external_id was imported before is refused, never
        doubled. Errors name the field: {"invoices[1].line_items[0].plan_uuid": ...}."""
        customer = self.customers.get(customer_uuid)
        if customer is None:
            raise invalid("customer_uuid", f"{customer_uuid!r} does not exist")
        if not isinstance(invoices, list) or not invoices:
            raise invalid("invoices", "must be a non-empty list")
        with self._lock:
            batch_invoices: set[str] = set()
            batch_transactions: set[str] = set()
            prepared, problems = [], {}
            for position, body in enumerate(invoices):
                try:
                    prepared.append(
                        self._prepare_invoice(customer, body, batch_invoices, batch_transactions)
                    )
                except StoreError as exc:
                    problems.update(_prefixed(exc, f"invoices[{position}]"))
            if problems:
                field_name, message = next(iter(problems.items()))
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise StoreError(
                    422, f"No invoice was imported: {field_name} {message}{more}", problems
                )
            touched: set[str] = set()
            for invoice in prepared:
                self._register_invoice(customer, invoice, touched)
            for subscription_uuid in touched:
                subscription = self.subscriptions[subscription_uuid]
                subscription.plan_uuid = subscription.latest_plan() or subscription.plan_uuid
            self._changed(customer.uuid)
            return prepared

    def _register_invoice(self, customer: Customer, invoice: Invoice, touched: set[str]) -> None:
        source = customer.data_source_uuid
        self._invoice_keys[(source, invoice.external_id)] = invoice.uuid
        self._invoices_by_uuid[invoice.uuid] = invoice
        self.invoices[customer.uuid].append(invoice)
        for transaction in invoice.transactions:
            if transaction.external_id:
                self._transaction_keys[(source, transaction.external_id)] = transaction.uuid
        for line in invoice.line_items:
            if line.type != "subscription":
                continue
            assert line.subscription_external_id is not None and line.plan_uuid is not None
            subscription = self._subscription_for(
                customer, line.subscription_external_id, line.plan_uuid
            )
            if line.subscription_set_external_id:
                subscription.subscription_set_external_id = line.subscription_set_external_id
            line.subscription_uuid = subscription.uuid
            subscription.lines[line.uuid] = line
            touched.add(subscription.uuid)

    def _prepare_invoice(
        self, customer: Customer, body, batch_invoices: set[str], batch_transactions: set[str]
    ) -> Invoice:
        if not isinstance(body, Mapping):
            raise StoreError(422, "an invoice must be an object")
        external_id = str(body.get("external_id") or "")
        if not external_id:
            raise invalid("external_id", "is required")
        if (customer.data_source_uuid, external_id) in self._invoice_keys or (
            external_id in batch_invoices
        ):
            raise invalid(
                "external_id",
                f"The external ID {external_id} for this invoice already exists in our system.",
            )
        batch_invoices.add(external_id)
        currency = str(body.get("currency") or "").upper()
        if not currency:
            raise invalid("currency", "is required")
        if not is_currency(currency):
            raise invalid("currency", f"{currency!r} is not an ISO 4217 currency code")
        if currency != self.currency:
            for needed in {currency, self.currency} - {"USD"}:
                if needed not in self._fx_days:
                    raise invalid("currency", f"the stand-in has no exchange rate for {needed}")
        invoice_date = parse_moment(body.get("date"), "date")
        invoice_uuid = _new_uuid("inv")
        items = body.get("line_items") or []
        if not isinstance(items, list):
            raise invalid("line_items", "must be a list")
        line_items = []
        for position, item in enumerate(items):
            try:
                line_items.append(
                    self._prepare_line_item(customer.data_source_uuid, currency, item, invoice_uuid)
                )
            except StoreError as exc:
                raise StoreError(
                    422, exc.message, _prefixed(exc, f"line_items[{position}]")
                ) from None
        entries = body.get("transactions") or []
        if not isinstance(entries, list):
            raise invalid("transactions", "must be a list")
        transactions = []
        for position, entry in enumerate(entries):
            try:
                transaction = self._prepare_transaction(
                    customer.data_source_uuid, entry, batch_transactions
                )
            except StoreError as exc:
                raise StoreError(
                    422, exc.message, _prefixed(exc, f"transactions[{position}]")
                ) from None
            transactions.append(transaction)
        return Invoice(
            uuid=invoice_uuid,
            external_id=external_id,
            customer_uuid=customer.uuid,
            data_source_uuid=customer.data_source_uuid,
            currency=currency,
            date=invoice_date,
            due_date=_optional_moment(body.get("due_date"), "due_date"),
            line_items=line_items,
            transactions=transactions,
        )

    def _prepare_line_item(
        self, data_source_uuid: str, currency: str, item, invoice_uuid: str
    ) -> LineItem:
        if not isinstance(item, Mapping):
            raise StoreError(422, "a line item must be an object")
        kind = item.get("type")
        if kind not in ("subscription", "one_time"):
            raise invalid("type", "must be subscription or one_time")
        if item.get("amount_in_cents") is None:
            raise invalid("amount_in_cents", "is required")
        amount = _integer(item.get("amount_in_cents"), "amount_in_cents")
        line = LineItem(
            uuid=_new_uuid("li"),
            type=kind,
            amount_in_cents=amount,
            quantity=_integer(item.get("quantity"), "quantity", default=1),
            tax_amount_in_cents=_integer(
                item.get("tax_amount_in_cents"), "tax_amount_in_cents", default=0
            ),
            discount_amount_in_cents=_integer(
                item.get("discount_amount_in_cents"), "discount_amount_in_cents", default=0
            ),
            prorated=item.get("prorated") in (True, "true"),
            external_id=_optional_text(item.get("external_id")),
            description=_optional_text(item.get("description")),
            discount_code=_optional_text(item.get("discount_code")),
            invoice_uuid=invoice_uuid,
            subscription_set_external_id=_optional_text(item.get("subscription_set_external_id")),
        )
        if kind == "one_time":
            return line
        if amount < 0:
            raise invalid("amount_in_cents", "must not be negative on a subscription line item")
        plan_uuid = str(item.get("plan_uuid") or "")
        if not plan_uuid:
            raise invalid("plan_uuid", "is required on a subscription line item")
        plan = self.plans.get(plan_uuid)
        if plan is None or plan.data_source_uuid != data_source_uuid:
            raise invalid("plan_uuid", f"{plan_uuid!r} does not exist in this data source")
        if not 0 <= line.tax_amount_in_cents <= amount:
            raise invalid("tax_amount_in_cents", "must be between 0 and amount_in_cents")
        start = parse_moment(item.get("service_period_start"), "service_period_start")
        end = parse_moment(item.get("service_period_end"), "service_period_end")
        if end <= start:
            raise invalid("service_period_end", "must be after service_period_start")
        external = str(item.get("subscription_external_id") or "")
        if not external:
            raise invalid("subscription_external_id", "is required on a subscription line item")
        # MRR excludes tax (amount_in_cents includes it, after discounts)
        net = Decimal(amount - line.tax_amount_in_cents) / 100
        line.subscription_external_id = external
        line.plan_uuid = plan.uuid
        line.start, line.end = start, end
        line.net = self.to_account_currency(net, currency, start.date())
        line.plan_months = plan.months()
        line.plan_interval = (plan.interval_count, plan.interval_unit)
        line.order = next(self._line_order)
        return line

    def _prepare_transaction(self, source: str, entry, batch: set[str]) -> Transaction:
        if not isinstance(entry, Mapping):
            raise StoreError(422, "a transaction must be an object")
        if entry.get("type") not in ("payment", "refund"):
            raise invalid("type", "must be payment or refund")
        if entry.get("result") not in ("successful", "failed"):
            raise invalid("result", "must be successful or failed")
        moment = parse_moment(entry.get("date"), "date")
        external_id = _optional_text(entry.get("external_id"))
        if external_id:
            if (source, external_id) in self._transaction_keys or external_id in batch:
                raise invalid(
                    "external_id",
                    f"The external ID {external_id} for this transaction already exists in "
                    "our system.",
                )
            batch.add(external_id)
        amount = entry.get("amount_in_cents")
        return Transaction(
            uuid=_new_uuid("tr"),
            external_id=external_id,
            type=entry["type"],
            date=moment,
            result=entry["result"],
            amount_in_cents=None if amount is None else _integer(amount, "amount_in_cents"),
        )

    def add_transaction(self, invoice_uuid: str, body: Mapping) -> Transaction:
        """POST /import/invoices/{uuid}/transactions (payments and refunds leave MRR alone)."""
        with self._lock:
            invoice = self.invoice(invoice_uuid)
            transaction = self._prepare_transaction(invoice.data_source_uuid, body, set())
            invoice.transactions.append(transaction)
            if transaction.external_id:
                key = (invoice.data_source_uuid, transaction.external_id)
                self._transaction_keys[key] = transaction.uuid
            return transaction

    def invoice(self, uuid: str) -> Invoice:
        invoice = self._invoices_by_uuid.get(uuid)
        if invoice is None:
            raise StoreError(404, f"Invoice {uuid} not found")
        return invoice

    def invoice_by_external_id(self, data_source_uuid: str, external_id: str) -> Invoice | None:
        uuid = self._invoice_keys.get((data_source_uuid, external_id))
        return self._invoices_by_uuid.get(uuid) if uuid else None

    def delete_invoice(self, uuid: str) -> None:
        """Remove the invoice and its line items' service periods; its external id and its
        transactions' external ids can be imported again. Its subscriptions stay (with
        their uuid and cancellation dates), without those periods."""
        with self._lock:
            invoice = self.invoice(uuid)
            source = invoice.data_source_uuid
            del self._invoices_by_uuid[uuid]
            self._invoice_keys.pop((source, invoice.external_id), None)
            self.invoices[invoice.customer_uuid].remove(invoice)
            for transaction in invoice.transactions:
                if transaction.external_id:
                    self._transaction_keys.pop((source, transaction.external_id), None)
            for line in invoice.line_items:
                subscription = self.subscriptions.get(line.subscription_uuid or "")
                if subscription is not None:
                    subscription.lines.pop(line.uuid, None)
                    subscription.plan_uuid = subscription.latest_plan() or subscription.plan_uuid
            self._changed(invoice.customer_uuid)

    def _subscription_for(self, customer: Customer, external_id: str, plan_uuid: str):
        subscription = self._subscription_keys.get((customer.uuid, external_id))
        if subscription is None:
            subscription = Subscription(
                _new_uuid("sub"), external_id, customer.uuid, customer.data_source_uuid, plan_uuid
            )
            self.subscriptions[subscription.uuid] = subscription
            self._subscription_keys[(customer.uuid, external_id)] = subscription
            self._customer_subscriptions[customer.uuid].append(subscription)
        return subscription

    def customer_subscriptions(self, customer_uuid: str) -> list[Subscription]:
        """In the order they were first imported."""
        return list(self._customer_subscriptions.get(customer_uuid, ()))

    def cancel_subscription(self, uuid: str, body: Mapping) -> Subscription:
        with self._lock:
            subscription = self.subscriptions.get(uuid)
            if subscription is None:
                raise StoreError(404, f"Subscription {uuid} not found")
            if "cancellation_dates" in body:
                dates = body.get("cancellation_dates") or []
                if not isinstance(dates, list):
                    raise invalid("cancellation_dates", "must be a list")
                subscription.cancellation_dates = sorted(
                    parse_moment(d, "cancellation_dates") for d in dates
                )
            elif "cancelled_at" in body:
                subscription.cancellation_dates = [
                    parse_moment(body["cancelled_at"], "cancelled_at")
                ]
            else:
                raise invalid("cancellation_dates", "is required (or cancelled_at)")
            self._changed(subscription.customer_uuid)
            return subscription

    def to_account_currency(self, amount: Decimal, currency: str, day: date) -> Decimal:
        if currency == self.currency:
            return amount
        return amount * self._usd_rate(currency, day) / self._usd_rate(self.currency, day)

    def fx_currencies(self) -> list[str]:
        """The currencies the stand-in has exchange rates for."""
        return sorted(self._fx_days)

    def _usd_rate(self, currency: str, day: date) -> Decimal:
        """1 unit of `currency` in USD on `day`: the latest rate on or before it (the first
        known one for a day before every rate)."""
        if currency == "USD":
            return Decimal(1)
        days = self._fx_days.get(currency)
        if not days:
            raise invalid("currency", f"the stand-in has no exchange rate for {currency}")
        position = bisect.bisect_right(days, day) - 1
        return self._fx[(currency, days[max(position, 0)])]

    # -------------------------------------------------------------- reads

    def timeline(self, customer: Customer) -> list[Step]:
        if customer.series is not None:
            return customer.series
        with self._lock:
            steps = self._timelines.get(customer.uuid)
            if steps is None:
                steps = _derive_steps(self._customer_subscriptions.get(customer.uuid, ()))
                self._timelines[customer.uuid] = steps
            return steps

    def customer_mrr(self, customer: Customer, day: date) -> Decimal:
        steps = self.timeline(customer)
        position = bisect.bisect_right([s.day for s in steps], day) - 1
        return steps[position].mrr if position >= 0 else ZERO

    def index(self) -> _Index:
        """Built on the first read after a change, re-counting only the customers changed
        since the last build."""
        with self._lock:
            if self._index is None:
                for uuid in self._dirty:
                    self._totals.recount(uuid, self.timeline(self.customers[uuid]))
                self._dirty.clear()
                self._index = _Index.build(self._totals)
            return self._index


def _tags(value) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise invalid("attributes.tags", "must be a list of strings")
    return list(value)


def _custom_attributes(value) -> dict[str, Any]:
    """The create call's list of {type, key, value, source}, or the update call's object of
    key: value, as key -> value."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if not isinstance(value, list):
        raise invalid("attributes.custom", "must be a list of attributes or an object")
    custom = {}
    for position, attribute in enumerate(value):
        where = f"attributes.custom[{position}]"
        if not isinstance(attribute, Mapping) or not attribute.get("key"):
            raise invalid(f"{where}.key", "is required")
        kind = attribute.get("type")
        if kind is not None and kind not in CUSTOM_ATTRIBUTE_TYPES:
            raise invalid(f"{where}.type", f"must be one of {', '.join(CUSTOM_ATTRIBUTE_TYPES)}")
        custom[str(attribute["key"])] = attribute.get("value")
    return custom


def _derive_steps(subscriptions: Iterable[Subscription]) -> list[Step]:
    """A customer's MRR steps from its subscriptions' segments (rules: module docstring)."""
    deltas: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for subscription in subscriptions:
        for first, end, monthly in subscription.segments():
            deltas[first] += monthly
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


class _Totals:
    """Per-day sums over every customer's MRR steps (MRR changes, paying customers,
    movements, churned and new customers), kept customer by customer: a customer whose
    steps changed is taken out with its old steps and counted again with its new ones."""

    def __init__(self) -> None:
        self.mrr_delta: dict[date, Decimal] = defaultdict(lambda: ZERO)
        self.count_delta: dict[date, int] = defaultdict(int)
        self.movements: dict[str, dict[date, Decimal]] = {
            m: defaultdict(lambda: ZERO) for m in MOVEMENTS
        }
        self.events: dict[str, dict[date, int]] = {
            "churned": defaultdict(int),
            "new": defaultdict(int),
        }
        self.per_customer: dict[str, tuple[list[date], list[Decimal]]] = {}
        self._counted: dict[str, list[Step]] = {}

    def recount(self, uuid: str, steps: list[Step]) -> None:
        old = self._counted.get(uuid)
        if old is steps:
            return
        if old:
            self._add(old, -1)
        self._add(steps, 1)
        self._counted[uuid] = steps
        self.per_customer[uuid] = ([s.day for s in steps], [s.mrr for s in steps])

    def _add(self, steps: list[Step], sign: int) -> None:
        previous = ZERO
        for step in steps:
            self.mrr_delta[step.day] += sign * (step.mrr - previous)
            if previous <= 0 < step.mrr:
                self.count_delta[step.day] += sign
            elif step.mrr <= 0 < previous:
                self.count_delta[step.day] -= sign
                self.events["churned"][step.day] += sign
            if step.movement == "new-business":
                self.events["new"][step.day] += sign
            if step.movement:
                self.movements[step.movement][step.day] += sign * step.change
            previous = step.mrr


@dataclass
class _Index:
    """Running totals per day, built once per change from _Totals: MRR, paying customers
    and movements, so a metrics request over years costs a bisect per bucket."""

    days: list[date]  # days on which anything changed
    mrr_at: list[Decimal]  # exact company MRR from that day on
    customers_at: list[int]
    movement_days: dict[str, list[date]]
    movement_totals: dict[str, list[Decimal]]  # running sums per movement
    event_days: dict[str, list[date]]  # "churned" / "new": customers leaving / first paying
    event_totals: dict[str, list[int]]  # running counts
    per_customer: dict[str, tuple[list[date], list[Decimal]]]

    @classmethod
    def build(cls, totals: _Totals) -> _Index:
        mrr_delta, count_delta = totals.mrr_delta, totals.count_delta
        days = sorted(set(mrr_delta) | set(count_delta))
        mrr_at = list(itertools.accumulate(mrr_delta.get(d, ZERO) for d in days))
        customers_at = list(itertools.accumulate(count_delta.get(d, 0) for d in days))
        movement_days, movement_totals = {}, {}
        for name, by_day in totals.movements.items():
            movement_days[name] = sorted(by_day)
            movement_totals[name] = list(
                itertools.accumulate(by_day[d] for d in movement_days[name])
            )
        event_days = {name: sorted(by_day) for name, by_day in totals.events.items()}
        event_totals = {
            name: list(itertools.accumulate(totals.events[name][d] for d in days_))
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
            dict(totals.per_customer),
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
