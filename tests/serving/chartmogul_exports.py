"""Small hand-made export marts (`marts.chartmogul_export_*`) in a DuckDB file, for the
ChartMogul sync's tests: three gateways, three currencies, a one-time line, a failed then
successful payment, a cancellation and a lead without invoices. Tests change the rows and
write them again (what the next dbt build would give)."""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import chartmogul
import duckdb

# the stand-in's exchange rates (ChartMogul's own), from before the first invoice
FX_RATES = {
    ("EUR", date(2025, 1, 1)): Decimal("1.08"),
    ("EGP", date(2025, 1, 1)): Decimal("0.0204"),
}

COLUMNS = {
    "chartmogul_export_plans": {
        "external_id": "varchar",
        "name": "varchar",
        "interval_unit": "varchar",
        "interval_count": "integer",
        "currency": "varchar",
    },
    "chartmogul_export_customers": {
        "external_id": "varchar",
        "name": "varchar",
        "email": "varchar",
        "company": "varchar",
        "country": "varchar",
        "city": "varchar",
        "lead_created_at": "timestamp",
        "free_trial_started_at": "timestamp",
        "billing_currency": "varchar",
        "acquisition_channel": "varchar",
        "utm_source": "varchar",
        "utm_medium": "varchar",
        "utm_campaign": "varchar",
        "billing_gateway": "varchar",
        "plan": "varchar",
        "health_score": "integer",
        "health_band": "varchar",
        "seats": "integer",
    },
    "chartmogul_export_invoices": {
        "external_id": "varchar",
        "customer_external_id": "varchar",
        "gateway": "varchar",
        "currency": "varchar",
        "invoice_date": "timestamp",
        "due_date": "timestamp",
    },
    "chartmogul_export_line_items": {
        "external_id": "varchar",
        "invoice_external_id": "varchar",
        "customer_external_id": "varchar",
        "line_type": "varchar",
        "plan_external_id": "varchar",
        "subscription_external_id": "varchar",
        "subscription_set_external_id": "varchar",
        "service_period_start": "timestamp",
        "service_period_end": "timestamp",
        "quantity": "integer",
        "amount_in_cents": "bigint",
        "discount_amount_in_cents": "bigint",
        "tax_amount_in_cents": "bigint",
        "prorated": "boolean",
        "description": "varchar",
    },
    "chartmogul_export_transactions": {
        "external_id": "varchar",
        "invoice_external_id": "varchar",
        "customer_external_id": "varchar",
        "transaction_type": "varchar",
        "result": "varchar",
        "transaction_date": "timestamp",
        "amount_in_cents": "bigint",
    },
    "chartmogul_export_cancellations": {
        "subscription_external_id": "varchar",
        "customer_external_id": "varchar",
        "cancelled_at": "timestamp",
    },
}


def _customer(external_id: str, name: str | None, **values) -> dict:
    row = dict.fromkeys(COLUMNS["chartmogul_export_customers"])
    row.update(external_id=external_id, name=name, **values)
    return row


def _invoice(external_id, customer, gateway, currency, day, due=None) -> dict:
    return {
        "external_id": external_id,
        "customer_external_id": customer,
        "gateway": gateway,
        "currency": currency,
        "invoice_date": datetime.fromisoformat(day),
        "due_date": datetime.fromisoformat(due) if due else None,
    }


def subscription_line(
    external_id, invoice, customer, plan, subscription, start, end, amount, tax=0, discount=0
) -> dict:
    return {
        "external_id": external_id,
        "invoice_external_id": invoice,
        "customer_external_id": customer,
        "line_type": "subscription",
        "plan_external_id": plan,
        "subscription_external_id": subscription,
        "subscription_set_external_id": None,
        "service_period_start": datetime.fromisoformat(start),
        "service_period_end": datetime.fromisoformat(end),
        "quantity": 1,
        "amount_in_cents": amount,
        "discount_amount_in_cents": discount,
        "tax_amount_in_cents": tax,
        "prorated": False,
        "description": None,
    }


def one_time_line(external_id, invoice, customer, amount, description) -> dict:
    return {
        "external_id": external_id,
        "invoice_external_id": invoice,
        "customer_external_id": customer,
        "line_type": "one_time",
        "plan_external_id": None,
        "subscription_external_id": None,
        "subscription_set_external_id": None,
        "service_period_start": None,
        "service_period_end": None,
        "quantity": 1,
        "amount_in_cents": amount,
        "discount_amount_in_cents": 0,
        "tax_amount_in_cents": 0,
        "prorated": False,
        "description": description,
    }


def transaction(external_id, invoice, customer, kind, result, day, amount=None) -> dict:
    return {
        "external_id": external_id,
        "invoice_external_id": invoice,
        "customer_external_id": customer,
        "transaction_type": kind,
        "result": result,
        "transaction_date": datetime.fromisoformat(day),
        "amount_in_cents": amount,
    }


@dataclass
class ExportWorld:
    plans: list[dict] = field(default_factory=list)
    customers: list[dict] = field(default_factory=list)
    invoices: list[dict] = field(default_factory=list)
    line_items: list[dict] = field(default_factory=list)
    transactions: list[dict] = field(default_factory=list)
    cancellations: list[dict] = field(default_factory=list)

    @classmethod
    def small(cls) -> ExportWorld:
        world = cls()
        world.plans = [
            {
                "external_id": "pro_monthly_usd",
                "name": "Pro monthly",
                "interval_unit": "month",
                "interval_count": 1,
                "currency": "USD",
            },
            {
                "external_id": "team_yearly_eur",
                "name": "Team yearly (EUR)",
                "interval_unit": "year",
                "interval_count": 1,
                "currency": "EUR",
            },
            {
                "external_id": "pro_quarterly_egp",
                "name": "Pro quarterly (EGP)",
                "interval_unit": "month",
                "interval_count": 3,
                "currency": "EGP",
            },
        ]
        world.customers = [
            _customer(
                "cus_acme",
                "Acme Ltd",
                email="billing@acme.test",
                company="Acme Ltd",
                country="US",
                city="Boston",
                lead_created_at=datetime(2025, 12, 1),
                free_trial_started_at=datetime(2025, 12, 15),
                billing_currency="USD",
                acquisition_channel="paid_search",
                utm_source="google",
                utm_medium="cpc",
                utm_campaign="brand",
                billing_gateway="stripe",
                plan="pro",
                health_score=82,
                health_band="healthy",
                seats=12,
            ),
            _customer(
                "cus_mueller",
                "Bäckerei Müller",
                email="konto@mueller.test",
                company="Bäckerei Müller GmbH",
                country="DE",
                city="Köln",
                billing_currency="EUR",
                acquisition_channel="referral",
                billing_gateway="paypal",
                plan="team",
                health_score=55,
                health_band="at_risk",
                seats=4,
            ),
            _customer(
                "cus_cairo",
                "Cairo Apps",
                email="finance@cairo.test",
                country="EG",
                billing_currency="EGP",
                billing_gateway="local_egp",
                plan="pro",
                seats=3,
            ),
            _customer("cus_lead", None, email=None),
        ]
        world.invoices = [
            _invoice("stripe_in_1", "cus_acme", "stripe", "USD", "2026-01-01", "2026-01-15"),
            _invoice("stripe_in_2", "cus_acme", "stripe", "USD", "2026-02-01"),
            _invoice("paypal_inv_1", "cus_mueller", "paypal", "EUR", "2026-01-15"),
            _invoice("local_egp_inv_1", "cus_cairo", "local_egp", "EGP", "2026-02-01"),
        ]
        world.line_items = [
            subscription_line(
                "li_1", "stripe_in_1", "cus_acme", "pro_monthly_usd", "sub_acme",
                "2026-01-01", "2026-02-01", 5000,
            ),
            subscription_line(
                "li_2", "stripe_in_2", "cus_acme", "pro_monthly_usd", "sub_acme",
                "2026-02-01", "2026-03-01", 5000,
            ),
            one_time_line("li_3", "stripe_in_2", "cus_acme", 2000, "Onboarding"),
            subscription_line(
                "li_4", "paypal_inv_1", "cus_mueller", "team_yearly_eur", "sub_mueller",
                "2026-01-15", "2027-01-15", 107100, tax=17100, discount=12000,
            ),
            subscription_line(
                "li_5", "local_egp_inv_1", "cus_cairo", "pro_quarterly_egp", "sub_cairo",
                "2026-02-01", "2026-05-01", 150000,
            ),
        ]  # fmt: skip
        world.transactions = [
            transaction("tr_1", "stripe_in_1", "cus_acme", "payment", "successful", "2026-01-01"),
            transaction("tr_2", "stripe_in_2", "cus_acme", "payment", "successful", "2026-02-01"),
            transaction(
                "tr_3", "paypal_inv_1", "cus_mueller", "payment", "successful", "2026-01-15"
            ),
            transaction("tr_4", "local_egp_inv_1", "cus_cairo", "payment", "failed", "2026-02-01"),
            transaction(
                "tr_5", "local_egp_inv_1", "cus_cairo", "payment", "successful", "2026-02-03"
            ),
        ]
        world.cancellations = [
            {
                "subscription_external_id": "sub_acme",
                "customer_external_id": "cus_acme",
                "cancelled_at": datetime(2026, 3, 1),
            }
        ]
        return world

    def copy(self) -> ExportWorld:
        return copy.deepcopy(self)

    def row(self, table: str, external_id: str) -> dict:
        return next(r for r in getattr(self, table) if r["external_id"] == external_id)

    def write(self, path: Path) -> Path:
        """(Re)create every export table in the DuckDB file, as a dbt build would."""
        with duckdb.connect(str(path)) as con:
            con.execute("create schema if not exists marts")
            for table, columns in COLUMNS.items():
                rows = getattr(self, table.removeprefix("chartmogul_export_"))
                spec = ", ".join(f"{name} {kind}" for name, kind in columns.items())
                con.execute(f"create or replace table marts.{table} ({spec})")
                if rows:
                    marks = ", ".join("?" for _ in columns)
                    con.executemany(
                        f"insert into marts.{table} values ({marks})",
                        [[r[c] for c in columns] for r in rows],
                    )
        return path


# ---------------------------------------------------------------- what the stand-in holds


def sdk_config(standin, key: str):
    config = chartmogul.Config(key, request_timeout=10)
    config.uri = standin.api_base
    return config


def held_by(standin, key: str, data_source_name: str) -> dict:
    """What ChartMogul (the stand-in) holds for one data source, read through the SDK,
    without its uuids: customers, plans, invoices with their lines and transactions,
    subscriptions' cancellation dates, and how often each external id is there."""
    config = sdk_config(standin, key)
    sources = chartmogul.DataSource.all(config, name=data_source_name).get().data_sources
    sources = [s for s in sources if s.name == data_source_name]
    assert len(sources) == 1, f"{len(sources)} data sources named {data_source_name!r}"
    source = sources[0].uuid
    customers = chartmogul.Customer.all(config, data_source_uuid=source, per_page=200).get()
    assert not customers.has_more
    plans = chartmogul.Plan.all(config, data_source_uuid=source, per_page=200).get().plans
    plan_ids = {p.uuid: p.external_id for p in plans}
    invoices, seen, subscriptions = {}, Counter(), {}
    for customer in customers.entries:
        page = chartmogul.Invoice.all(config, uuid=customer.uuid, per_page=200).get()
        assert not page.has_more
        for invoice in page.invoices:
            seen[invoice.external_id] += 1
            invoices[invoice.external_id] = (
                customer.external_id,
                invoice.currency,
                invoice.date.date().isoformat(),
                tuple(
                    (
                        li.external_id,
                        li.type,
                        li.amount_in_cents,
                        plan_ids.get(getattr(li, "plan_uuid", None)),
                    )
                    for li in invoice.line_items
                ),
                tuple(sorted((t.external_id, t.type, t.result) for t in invoice.transactions)),
            )
        listed = _LIST_IMPORTED(config, uuid=customer.uuid, per_page=200).get()
        for subscription in listed.subscriptions:
            subscriptions[subscription.external_id] = tuple(
                d.date().isoformat() for d in subscription.cancellation_dates or []
            )
    return {
        "customers": sorted((c.external_id, c.name, c.email, c.country) for c in customers.entries),
        "customer_ids": Counter(c.external_id for c in customers.entries),
        "plans": sorted((p.external_id, p.name, p.interval_unit, p.interval_count) for p in plans),
        "invoices": invoices,
        "invoice_ids": seen,
        "subscriptions": subscriptions,
    }


# the import API's subscription list, without the SDK's deprecation warning
_LIST_IMPORTED = chartmogul.CustomerSubscription._method(
    "all", "get", "/import/customers{/uuid}/subscriptions"
).__get__(None, chartmogul.CustomerSubscription)
