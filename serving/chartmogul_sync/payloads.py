"""The export tables' rows as what ChartMogul is sent: one `Outgoing` per object with its
content (our terms: external ids, never ChartMogul's uuids), the sha256 of its canonical
JSON, and why ChartMogul would refuse it, if it would. The API bodies are made from the
content at send time, when the uuids are known.

An invoice's content is its header and line items; its transactions are objects of their
own (a refund added later is one transaction POST, not a re-import), so what ChartMogul
holds of an invoice is its hash plus the hashes of its transactions.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache, cached_property
from typing import Any

import orjson

from ingestion.contracts import load as load_contract

PLAN = "plan"
CUSTOMER = "customer"
INVOICE = "invoice"
TRANSACTION = "transaction"
CANCELLATION = "cancellation"
DATA_SOURCE = "data_source"
OBJECT_TYPES = (DATA_SOURCE, PLAN, CUSTOMER, INVOICE, TRANSACTION, CANCELLATION)

INTERVAL_UNITS = ("day", "month", "year")
LINE_TYPES = ("subscription", "one_time")
TRANSACTION_TYPES = ("payment", "refund")
TRANSACTION_RESULTS = ("successful", "failed")
# the customer's custom attributes, with ChartMogul's attribute type
CUSTOM_ATTRIBUTES = {
    "billing_currency": "String",
    "acquisition_channel": "String",
    "utm_source": "String",
    "utm_medium": "String",
    "utm_campaign": "String",
    "billing_gateway": "String",
    "plan": "String",
    "health_score": "Integer",
    "health_band": "String",
    "seats": "Integer",
}


@cache
def iso_4217_codes() -> frozenset[str]:
    """The currency codes ChartMogul takes: the project's ISO 4217 list (the FX contract)."""
    column = load_contract("raw_fx", "fx_rates").columns["currency"]
    return frozenset(column.allowed_values or ())


def content_hash(content: Mapping) -> str:
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def moment(value: Any) -> str | None:
    """A timestamp as ChartMogul takes it: UTC, `2026-03-01T00:00:00Z`; naive means UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    text = str(value).strip()
    return text or None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class Outgoing:
    """One object to send: `problem` says why ChartMogul would refuse it (then it is not
    sent); `owner` is the customer's external id (invoices, cancellations) or the
    invoice's (transactions)."""

    object_type: str
    external_id: str
    content: dict
    problem: str | None = None
    owner: str | None = None
    needs: tuple[str, ...] = field(default=())  # plan external ids an invoice uses

    @cached_property
    def hash(self) -> str:
        return content_hash(self.content)


# ---------------------------------------------------------------- plans


def build_plans(rows: Iterable[Mapping]) -> list[Outgoing]:
    out = []
    for row in rows:
        external_id = str(row["external_id"])
        unit = _text(row.get("interval_unit"))
        count = _int(row.get("interval_count"))
        content = {
            "external_id": external_id,
            "name": _text(row.get("name")) or external_id,
            "interval_unit": unit,
            "interval_count": count,
        }
        problem = None
        if unit not in INTERVAL_UNITS:
            problem = f"interval_unit {unit!r} is not day, month or year"
        elif count is None or count < 1:
            problem = f"interval_count {count!r} is not a positive whole number"
        out.append(Outgoing(PLAN, external_id, content, problem))
    return out


def plan_create_body(content: Mapping, data_source_uuid: str) -> dict:
    return {"data_source_uuid": data_source_uuid, **content}


def plan_update_body(content: Mapping) -> dict:
    return {k: content[k] for k in ("name", "interval_unit", "interval_count")}


# ---------------------------------------------------------------- customers

_CUSTOMER_FIELDS = ("name", "email", "company", "country", "city")
_CUSTOMER_MOMENTS = ("lead_created_at", "free_trial_started_at")


def build_customers(rows: Iterable[Mapping], *, require_email: bool = False) -> list[Outgoing]:
    out = []
    for row in rows:
        external_id = str(row["external_id"])
        content: dict[str, Any] = {"external_id": external_id}
        for name in _CUSTOMER_FIELDS:
            content[name] = _text(row.get(name))
        if content["country"]:
            content["country"] = content["country"].upper()
        for name in _CUSTOMER_MOMENTS:
            content[name] = moment(row.get(name))
        content["custom"] = {
            key: (_int(row.get(key)) if kind == "Integer" else _text(row.get(key)))
            for key, kind in CUSTOM_ATTRIBUTES.items()
        }
        problem = None
        if require_email and not content["email"]:
            problem = "no email (required by settings.require_email)"
        out.append(Outgoing(CUSTOMER, external_id, content, problem))
    return out


def _display_name(content: Mapping) -> str:
    return content["name"] or content["company"] or content["email"] or content["external_id"]


def customer_create_body(content: Mapping, data_source_uuid: str) -> dict:
    body: dict[str, Any] = {
        "data_source_uuid": data_source_uuid,
        "external_id": content["external_id"],
        "name": _display_name(content),
    }
    for name in (*_CUSTOMER_FIELDS[1:], *_CUSTOMER_MOMENTS):
        if content[name] is not None:
            body[name] = content[name]
    custom = [
        {"type": CUSTOM_ATTRIBUTES[key], "key": key, "value": value}
        for key, value in content["custom"].items()
        if value is not None
    ]
    if custom:
        body["attributes"] = {"custom": custom}
    return body


def customer_update_body(content: Mapping) -> dict:
    """PATCH /v1/customers/{uuid}: the fields, and custom attributes as key: value. Empty
    values are left out (ChartMogul keeps what it has)."""
    body: dict[str, Any] = {"name": _display_name(content)}
    for name in (*_CUSTOMER_FIELDS[1:], *_CUSTOMER_MOMENTS):
        if content[name] is not None:
            body[name] = content[name]
    custom = {k: v for k, v in content["custom"].items() if v is not None}
    if custom:
        body["attributes"] = {"custom": custom}
    return body


def customer_differs(content: Mapping, found: Any) -> bool:
    """Whether a customer ChartMogul already holds (adopted) differs from ours in what it
    shows: the plain fields, and the custom attributes when it reports any."""
    for name in ("email", "company", "country", "city"):
        ours, theirs = content[name], _text(getattr(found, name, None))
        if ours is not None and ours != theirs:
            return True
    if _text(getattr(found, "name", None)) != _display_name(content):
        return True
    attributes = getattr(found, "attributes", None)
    custom = getattr(attributes, "custom", None) or {}
    if custom:
        ours = {k: v for k, v in content["custom"].items() if v is not None}
        if any(custom.get(k) != v for k, v in ours.items()):
            return True
    return False


# ---------------------------------------------------------------- invoices


def _line_content(row: Mapping) -> tuple[dict, str | None]:
    kind = _text(row.get("line_type"))
    line: dict[str, Any] = {
        "external_id": str(row["external_id"]),
        "type": kind,
        "amount_in_cents": _int(row.get("amount_in_cents")),
        "quantity": _int(row.get("quantity")) if row.get("quantity") is not None else 1,
        "discount_amount_in_cents": _int(row.get("discount_amount_in_cents")) or 0,
        "tax_amount_in_cents": _int(row.get("tax_amount_in_cents")) or 0,
        "prorated": bool(row.get("prorated") or False),
        "description": _text(row.get("description")),
    }
    problem = None
    if kind not in LINE_TYPES:
        problem = f"line item {line['external_id']}: type {kind!r} is not subscription or one_time"
    elif line["amount_in_cents"] is None:
        problem = f"line item {line['external_id']}: no amount"
    if kind == "subscription":
        start = moment(row.get("service_period_start"))
        end = moment(row.get("service_period_end"))
        line.update(
            plan_external_id=_text(row.get("plan_external_id")),
            subscription_external_id=_text(row.get("subscription_external_id")),
            subscription_set_external_id=_text(row.get("subscription_set_external_id")),
            service_period_start=start,
            service_period_end=end,
        )
        prefix = f"subscription line item {line['external_id']}"
        if problem is not None:
            return line, problem
        if line["amount_in_cents"] < 0:
            problem = f"{prefix}: negative amount {line['amount_in_cents']}"
        elif not line["plan_external_id"]:
            problem = f"{prefix}: no plan"
        elif not line["subscription_external_id"]:
            problem = f"{prefix}: no subscription_external_id"
        elif not start or not end:
            problem = f"{prefix}: no service period"
        elif end <= start:
            problem = f"{prefix}: service_period_end {end} is not after its start {start}"
    return line, problem


def _transaction_content(row: Mapping) -> tuple[dict, str | None]:
    content: dict[str, Any] = {
        "external_id": str(row["external_id"]),
        "type": _text(row.get("transaction_type")),
        "result": _text(row.get("result")),
        "date": moment(row.get("transaction_date")),
        "amount_in_cents": _int(row.get("amount_in_cents")),
    }
    problem = None
    if content["type"] not in TRANSACTION_TYPES:
        problem = f"transaction type {content['type']!r} is not payment or refund"
    elif content["result"] not in TRANSACTION_RESULTS:
        problem = f"transaction result {content['result']!r} is not successful or failed"
    elif not content["date"]:
        problem = "transaction without a date"
    elif content["amount_in_cents"] is not None and content["amount_in_cents"] < 0:
        problem = f"negative transaction amount {content['amount_in_cents']}"
    return content, problem


def build_invoices(
    invoices: Iterable[Mapping], lines: Iterable[Mapping], transactions: Iterable[Mapping]
) -> tuple[list[Outgoing], list[Outgoing]]:
    """(invoices, transactions). An invoice is refused for a bad header or any bad line
    (ChartMogul refuses the whole invoice); a bad transaction is refused on its own and
    its invoice goes without it."""
    lines_of: dict[str, list[Mapping]] = defaultdict(list)
    for line in lines:
        lines_of[str(line["invoice_external_id"])].append(line)
    out_invoices, out_transactions = [], []
    known = set()
    codes = iso_4217_codes()
    for row in invoices:
        external_id = str(row["external_id"])
        known.add(external_id)
        currency = (_text(row.get("currency")) or "").upper()
        content: dict[str, Any] = {
            "external_id": external_id,
            "customer_external_id": str(row["customer_external_id"]),
            "currency": currency,
            "date": moment(row.get("invoice_date")),
            "due_date": moment(row.get("due_date")),
            "line_items": [],
        }
        problems = []
        if currency not in codes:
            problems.append(f"currency {currency or None!r} is not an ISO 4217 code")
        if not content["date"]:
            problems.append("no invoice date")
        items = sorted(lines_of.get(external_id, []), key=lambda r: str(r["external_id"]))
        if not items:
            problems.append("no line items")
        plans = []
        for item in items:
            line, problem = _line_content(item)
            content["line_items"].append(line)
            if problem:
                problems.append(problem)
            if line.get("plan_external_id"):
                plans.append(line["plan_external_id"])
        out_invoices.append(
            Outgoing(
                INVOICE,
                external_id,
                content,
                "; ".join(problems) or None,
                owner=content["customer_external_id"],
                needs=tuple(sorted(set(plans))),
            )
        )
    for row in transactions:
        content, problem = _transaction_content(row)
        invoice_id = str(row["invoice_external_id"])
        if invoice_id not in known:
            problem = problem or f"invoice {invoice_id} is not in the export"
        out_transactions.append(
            Outgoing(TRANSACTION, content["external_id"], content, problem, owner=invoice_id)
        )
    return out_invoices, out_transactions


def invoice_body(
    content: Mapping, transactions: Iterable[Mapping], plan_uuids: Mapping[str, str]
) -> dict:
    """One invoice of POST /v1/import/customers/{uuid}/invoices."""
    items = []
    for line in content["line_items"]:
        item = {k: v for k, v in line.items() if k != "plan_external_id" and v is not None}
        if line["type"] == "subscription":
            item["plan_uuid"] = plan_uuids[line["plan_external_id"]]
        items.append(item)
    body: dict[str, Any] = {
        "external_id": content["external_id"],
        "date": content["date"],
        "currency": content["currency"],
        "line_items": items,
        "transactions": [transaction_body(t) for t in transactions],
    }
    if content["due_date"]:
        body["due_date"] = content["due_date"]
    return body


def transaction_body(content: Mapping) -> dict:
    return {k: v for k, v in content.items() if v is not None}


def invoice_fingerprint(content: Mapping, transactions: Iterable[Mapping]) -> tuple:
    """What an invoice ChartMogul already holds must match to be adopted as ours."""
    lines = sorted(
        (str(line["external_id"]), line["type"], int(line["amount_in_cents"]))
        for line in content["line_items"]
    )
    paid = sorted(str(t["external_id"]) for t in transactions)
    return (content["currency"], content["date"][:10], tuple(lines), tuple(paid))


def held_invoice_fingerprint(invoice: Any) -> tuple:
    """The same fingerprint of an SDK Invoice ChartMogul returned."""
    lines = sorted(
        (str(li.external_id), li.type, int(li.amount_in_cents))
        for li in getattr(invoice, "line_items", None) or []
    )
    paid = sorted(str(t.external_id) for t in getattr(invoice, "transactions", None) or [])
    day = invoice.date.date().isoformat() if isinstance(invoice.date, datetime) else invoice.date
    return (str(invoice.currency).upper(), str(day)[:10], tuple(lines), tuple(paid))


# ---------------------------------------------------------------- cancellations


def build_cancellations(rows: Iterable[Mapping]) -> list[Outgoing]:
    """One object per subscription: all its cancellation dates (ChartMogul's PATCH replaces
    the list)."""
    dates: dict[str, set[str]] = defaultdict(set)
    owners: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        subscription = str(row["subscription_external_id"])
        owners[subscription].add(str(row["customer_external_id"]))
        when = moment(row.get("cancelled_at"))
        if when:
            dates[subscription].add(when)
    out = []
    for subscription in sorted(owners):
        customers = sorted(owners[subscription])
        content = {
            "subscription_external_id": subscription,
            "customer_external_id": customers[0],
            "cancellation_dates": sorted(dates[subscription]),
        }
        problem = None
        if len(customers) > 1:
            problem = f"subscription of several customers: {', '.join(customers)}"
        elif not content["cancellation_dates"]:
            problem = "no cancellation date"
        out.append(Outgoing(CANCELLATION, subscription, content, problem, owner=customers[0]))
    return out


def cancellation_body(content: Mapping) -> dict:
    return {"cancellation_dates": list(content["cancellation_dates"])}
