"""The ChartMogul stand-in as the sync's target: an empty account fed through the real
`chartmogul` SDK over HTTP (data sources, customers, plans, invoices, transactions,
deletions, cancellations), the MRR it derives only from what was imported (prorations,
cancellations with reactivation, currencies), its refusals, and ChartMogul's limits,
faults, a death after N requests and the request log."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from decimal import Decimal

import chartmogul
import httpx
import pytest
import requests

from sandbox.chartmogul import ChartMogulStandIn
from sandbox.serving import url_for
from tests.receivers import free_port

KEY = "cm_import_test_key"
AS_OF = date(2026, 11, 15)
MONTH_STARTS = [f"2026-{m:02d}-01T00:00:00Z" for m in range(1, 13)]


def config_for(standin: ChartMogulStandIn, key: str = KEY) -> chartmogul.Config:
    config = chartmogul.Config(key, request_timeout=10)
    config.uri = standin.api_base
    return config


def refusal(excinfo) -> dict:
    """The JSON body of a refused SDK call (APIError carries the response's bytes)."""
    return json.loads(excinfo.value.args[0])


class Account:
    """A data source in the stand-in with helpers to create what the sync creates."""

    def __init__(self, cm: chartmogul.Config):
        self.cm = cm
        name = f"Billing {uuid.uuid4().hex[:8]}"
        self.source = chartmogul.DataSource.create(cm, data={"name": name}).get()

    def plan(self, external_id: str, unit: str = "month", count: int = 1):
        data = {
            "data_source_uuid": self.source.uuid,
            "name": external_id.title(),
            "interval_count": count,
            "interval_unit": unit,
            "external_id": external_id,
        }
        return chartmogul.Plan.create(self.cm, data=data).get()

    def customer(self, external_id: str, **details):
        data = {"data_source_uuid": self.source.uuid, "external_id": external_id, **details}
        return chartmogul.Customer.create(self.cm, data=data).get()

    def invoice(self, customer, external_id: str, lines: list[dict], **fields):
        body = {
            "external_id": external_id,
            "date": lines[0].get("service_period_start", MONTH_STARTS[0]),
            "currency": "USD",
            "line_items": lines,
            **fields,
        }
        return self.import_invoices(customer, [body])[0]

    def import_invoices(self, customer, invoices: list[dict]):
        data = {"invoices": invoices}
        return chartmogul.Invoice.create(self.cm, uuid=customer.uuid, data=data).get().invoices


def line(subscription: str, plan, start: str, end: str, cents: int, **fields) -> dict:
    return {
        "type": "subscription",
        "subscription_external_id": subscription,
        "plan_uuid": plan.uuid,
        "service_period_start": start,
        "service_period_end": end,
        "amount_in_cents": cents,
        **fields,
    }


def monthly_lines(subscription: str, plan, months: range, cents: int) -> list[dict]:
    return [line(subscription, plan, MONTH_STARTS[m - 1], MONTH_STARTS[m], cents) for m in months]


def mrr_on(cm, day: str):
    answer = chartmogul.Metrics.mrr(cm, start_date=day, end_date=day, interval="day").get()
    return answer.entries[0]


def mrr_by_day(cm, first: str, last: str) -> dict[date, int]:
    answer = chartmogul.Metrics.mrr(cm, start_date=first, end_date=last, interval="day").get()
    return {e.date: e.mrr for e in answer.entries}


@pytest.fixture
def empty_standin():
    """A stand-in of its own per test (starting one takes milliseconds), so that every MRR
    figure a test reads is its own customers'."""
    rates = {
        ("EUR", date(2026, 1, 1)): Decimal("1.10"),
        ("EUR", date(2026, 2, 15)): Decimal("1.20"),
    }
    with ChartMogulStandIn(as_of=AS_OF, api_key=KEY, fx_rates=rates) as server:
        yield server


@pytest.fixture
def cm(empty_standin):
    return config_for(empty_standin)


@pytest.fixture
def account(cm):
    return Account(cm)


# ---------------------------------------------------------------- the API surface


def test_data_sources_are_found_by_name(cm):
    name = f"Stripe {uuid.uuid4().hex[:6]}"
    created = chartmogul.DataSource.create(cm, data={"name": name}).get()
    chartmogul.DataSource.create(cm, data={"name": name + " (old)"}).get()
    found = chartmogul.DataSource.all(cm, name=name).get().data_sources
    assert [s.uuid for s in found] == [created.uuid] and found[0].system == "Import API"
    with pytest.raises(chartmogul.APIError, match="422") as refused:
        chartmogul.DataSource.create(cm, data={"name": name}).get()
    assert "name" in refusal(refused)["errors"]


def test_customers_are_created_found_by_external_id_and_modified(cm, account):
    created = account.customer(
        "acct_1",
        name="Acme",
        email="billing@acme.test",
        company="Acme Ltd",
        country="DE",
        city="Berlin",
        lead_created_at="2026-01-05T10:00:00Z",
        attributes={
            "tags": ["warehouse"],
            "custom": [
                {"type": "String", "key": "segment", "value": "smb", "source": "warehouse"},
                {"type": "Integer", "key": "seats", "value": 5, "source": "warehouse"},
            ],
        },
    )
    assert created.attributes.custom == {"segment": "smb", "seats": 5}
    assert created.attributes.tags == ["warehouse"] and created.status == "New Lead"
    found = chartmogul.Customer.all(
        cm, data_source_uuid=account.source.uuid, external_id="acct_1"
    ).get()
    assert [c.uuid for c in found.entries] == [created.uuid] and found.has_more is False
    assert (
        chartmogul.Customer.all(cm, data_source_uuid=account.source.uuid, external_id="nobody")
        .get()
        .entries
        == []
    )

    modified = chartmogul.Customer.modify(
        cm,
        uuid=created.uuid,
        data={
            "name": "Acme Group",
            "email": "finance@acme.test",
            "company": "Acme Group plc",
            "country": "GB",
            "city": "London",
            "lead_created_at": "2026-01-04T00:00:00Z",
            "free_trial_started_at": "2026-01-06T00:00:00Z",
            "attributes": {"custom": {"seats": 12, "owner": "ops"}},
        },
    ).get()
    assert (modified.name, modified.email, modified.company) == (
        "Acme Group",
        "finance@acme.test",
        "Acme Group plc",
    )
    assert (modified.country, modified.city) == ("GB", "London")
    assert modified.lead_created_at.date() == date(2026, 1, 4)
    assert modified.free_trial_started_at.date() == date(2026, 1, 6)
    assert modified.attributes.custom == {"segment": "smb", "seats": 12, "owner": "ops"}
    again = chartmogul.Customer.retrieve(cm, uuid=created.uuid).get()
    assert again.attributes.custom == modified.attributes.custom and again.name == "Acme Group"


def test_customer_refusals_name_the_field(cm, account):
    account.customer("acct_dup")
    with pytest.raises(chartmogul.APIError, match="422") as duplicate:
        account.customer("acct_dup")
    assert "external_id" in refusal(duplicate)["errors"]
    with pytest.raises(chartmogul.APIError, match="422") as no_source:
        chartmogul.Customer.create(
            cm, data={"data_source_uuid": "ds_missing", "external_id": "x"}
        ).get()
    assert "data_source_uuid" in refusal(no_source)["errors"]
    with pytest.raises(chartmogul.APIError, match="404"):
        chartmogul.Customer.modify(cm, uuid="cus_missing", data={"name": "x"}).get()
    found = chartmogul.Customer.all(cm, data_source_uuid=account.source.uuid).get().entries
    assert [c.external_id for c in found] == ["acct_dup"]  # refused, never doubled


def test_plans_are_found_by_external_id(cm, account):
    monthly = account.plan("pro_monthly")
    account.plan("pro_yearly", unit="year")
    found = chartmogul.Plan.all(
        cm, data_source_uuid=account.source.uuid, external_id="pro_monthly"
    ).get()
    assert [p.uuid for p in found.plans] == [monthly.uuid]
    assert len(chartmogul.Plan.all(cm, data_source_uuid=account.source.uuid).get().plans) == 2
    with pytest.raises(chartmogul.APIError, match="422") as duplicate:
        account.plan("pro_monthly")
    assert "external_id" in refusal(duplicate)["errors"]
    # a new name is taken; a new interval is refused, naming the field
    renamed = chartmogul.Plan.modify(cm, uuid=monthly.uuid, data={"name": "Pro (USD)"}).get()
    assert renamed.name == "Pro (USD)" and renamed.interval_unit == "month"
    with pytest.raises(chartmogul.APIError, match="422") as interval:
        chartmogul.Plan.modify(cm, uuid=monthly.uuid, data={"interval_unit": "year"}).get()
    assert "interval_unit" in refusal(interval)["errors"]


def test_invoices_keep_their_line_items_and_list_page_by_page(cm, account):
    plan = account.plan("team")
    customer = account.customer("acct_invoices")
    first = account.invoice(
        customer,
        "inv_a1",
        [
            line(
                "sub_a",
                plan,
                "2026-01-01T00:00:00Z",
                "2026-02-01T00:00:00Z",
                11900,
                subscription_set_external_id="set_a",
                discount_amount_in_cents=2000,
                tax_amount_in_cents=1900,
                prorated=False,
                quantity=3,
                description="Team x 3",
                external_id="li_a1",
            ),
            {"type": "one_time", "amount_in_cents": 5000, "description": "Setup", "quantity": 1},
        ],
        due_date="2026-01-15T00:00:00Z",
        transactions=[
            {
                "type": "payment",
                "result": "successful",
                "date": "2026-01-02T00:00:00Z",
                "external_id": "ch_a1",
            }
        ],
    )
    subscription_line, one_time = first.line_items
    assert subscription_line.subscription_set_external_id == "set_a"
    assert (subscription_line.discount_amount_in_cents, subscription_line.tax_amount_in_cents) == (
        2000,
        1900,
    )
    assert (subscription_line.quantity, subscription_line.prorated) == (3, False)
    assert (subscription_line.description, subscription_line.external_id) == ("Team x 3", "li_a1")
    assert subscription_line.service_period_start.date() == date(2026, 1, 1)
    assert one_time.type == "one_time" and one_time.amount_in_cents == 5000
    assert first.transactions[0].external_id == "ch_a1"
    for month in range(2, 6):
        account.invoice(
            customer, f"inv_a{month}", monthly_lines("sub_a", plan, range(month, month + 1), 10000)
        )

    seen, cursor = [], None
    while True:
        page = chartmogul.Invoice.all(
            cm, uuid=customer.uuid, per_page=2, **({"cursor": cursor} if cursor else {})
        ).get()
        assert page.customer_uuid == customer.uuid
        seen.extend(page.invoices)
        if not page.has_more:
            break
        cursor = page.cursor
    assert [i.external_id for i in seen] == [f"inv_a{m}" for m in range(1, 6)]
    assert seen[0].line_items[0].uuid == subscription_line.uuid
    assert seen[0].transactions[0].result == "successful"
    retrieved = chartmogul.Invoice.retrieve(cm, uuid=first.uuid).get()
    assert retrieved.external_id == "inv_a1"
    by_external_id = chartmogul.Invoice.retrieve(
        cm, data_source_uuid=account.source.uuid, external_id="inv_a3"
    ).get()
    assert by_external_id.uuid == seen[2].uuid


def test_transactions_are_added_once(cm, account):
    plan = account.plan("basic")
    customer = account.customer("acct_pays")
    invoice = account.invoice(customer, "inv_t1", monthly_lines("sub_t", plan, range(1, 2), 900))
    payment = {
        "type": "payment",
        "result": "successful",
        "date": "2026-01-03T12:00:00Z",
        "external_id": "ch_t1",
    }
    created = chartmogul.Transaction.create(cm, uuid=invoice.uuid, data=payment).get()
    assert (created.type, created.result, created.external_id) == ("payment", "successful", "ch_t1")
    refund = {**payment, "type": "refund", "external_id": "re_t1", "amount_in_cents": 400}
    chartmogul.Transaction.create(cm, uuid=invoice.uuid, data=refund).get()
    with pytest.raises(chartmogul.APIError, match="422") as duplicate:
        chartmogul.Transaction.create(cm, uuid=invoice.uuid, data=payment).get()
    assert "external_id" in refusal(duplicate)["errors"]
    with pytest.raises(chartmogul.APIError, match="422") as bad_type:
        chartmogul.Transaction.create(
            cm, uuid=invoice.uuid, data={**payment, "type": "chargeback", "external_id": "x"}
        ).get()
    assert "type" in refusal(bad_type)["errors"]
    with pytest.raises(chartmogul.APIError, match="404"):
        chartmogul.Transaction.create(cm, uuid="inv_missing", data=payment).get()
    [listed] = chartmogul.Invoice.all(cm, uuid=customer.uuid).get().invoices
    assert [(t.type, t.amount_in_cents) for t in listed.transactions] == [
        ("payment", None),
        ("refund", 400),
    ]


def test_imported_subscriptions_page_with_a_cursor(cm, account):
    plan = account.plan("seat")
    customer = account.customer("acct_many_subs")
    lines = [line(f"sub_{n:03d}", plan, MONTH_STARTS[0], MONTH_STARTS[1], 1000) for n in range(120)]
    account.invoice(customer, "inv_many", lines)
    seen, cursor = [], None
    while True:
        params = {"cursor": cursor} if cursor else {}
        with pytest.warns(DeprecationWarning):  # the SDK points to Customer.subscriptions
            page = chartmogul.Subscription.list_imported(cm, uuid=customer.uuid, **params).get()
        assert page.customer_uuid == customer.uuid
        seen.extend(page.subscriptions)
        if not page.has_more:
            break
        cursor = page.cursor
    assert [s.external_id for s in seen] == [f"sub_{n:03d}" for n in range(120)]
    assert all(s.plan_uuid == plan.uuid and s.cancellation_dates == [] for s in seen)
    assert len({s.uuid for s in seen}) == 120
    newer = chartmogul.Customer.subscriptions(cm, uuid=customer.uuid, per_page=200).get()
    assert [s.uuid for s in newer.entries] == [s.uuid for s in seen]


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "XYZ"}, "invoices[0].currency"),
        ({"currency": "JPY"}, "invoices[0].currency"),  # ISO, but the stand-in has no rate
        ({"line": {"amount_in_cents": -100}}, "invoices[0].line_items[0].amount_in_cents"),
        ({"line": {"plan_uuid": "pl_missing"}}, "invoices[0].line_items[0].plan_uuid"),
        (
            {"line": {"service_period_end": "2025-12-01T00:00:00Z"}},
            "invoices[0].line_items[0].service_period_end",
        ),
        ({"line": {"type": "usage"}}, "invoices[0].line_items[0].type"),
        ({"line": {"tax_amount_in_cents": 1001}}, "invoices[0].line_items[0].tax_amount_in_cents"),
        (
            {"line": {"subscription_external_id": ""}},
            "invoices[0].line_items[0].subscription_external_id",
        ),
        ({"date": "yesterday"}, "invoices[0].date"),
    ],
)
def test_invalid_invoices_are_refused_naming_the_field(cm, account, change, field):
    plan = account.plan("refusals")
    customer = account.customer("acct_refused")
    good = {
        "external_id": "inv_ok",
        "date": MONTH_STARTS[0],
        "currency": "USD",
        "line_items": monthly_lines("sub_r", plan, range(1, 2), 1000),
    }
    bad = {**good, "external_id": "inv_bad", **{k: v for k, v in change.items() if k != "line"}}
    bad["line_items"] = [{**good["line_items"][0], **change.get("line", {})}]
    with pytest.raises(chartmogul.APIError, match="422") as refused:
        account.import_invoices(customer, [good, bad])
    body = refusal(refused)
    assert body["code"] == 422 and field.replace("[0]", "[1]", 1) in body["errors"]
    # all or nothing: the good invoice of the batch was not imported either
    assert chartmogul.Invoice.all(cm, uuid=customer.uuid).get().invoices == []


def test_duplicates_and_unknown_customers_are_refused(cm, account):
    plan = account.plan("dups")
    customer = account.customer("acct_dups")
    body = {
        "external_id": "inv_d1",
        "date": MONTH_STARTS[0],
        "currency": "usd",  # ChartMogul takes the code in any case
        "line_items": monthly_lines("sub_d", plan, range(1, 2), 1000),
    }
    account.import_invoices(customer, [body])
    with pytest.raises(chartmogul.APIError, match="422") as again:
        account.import_invoices(customer, [body])
    assert "invoices[0].external_id" in refusal(again)["errors"]
    with pytest.raises(chartmogul.APIError, match="422") as twice_in_one:
        account.import_invoices(customer, [{**body, "external_id": "x"}] * 2)
    assert "invoices[1].external_id" in refusal(twice_in_one)["errors"]
    with pytest.raises(chartmogul.APIError, match="422") as nobody:
        chartmogul.Invoice.create(cm, uuid="cus_missing", data={"invoices": [body]}).get()
    assert "customer_uuid" in refusal(nobody)["errors"]
    assert len(chartmogul.Invoice.all(cm, uuid=customer.uuid).get().invoices) == 1


# ---------------------------------------------------------------- MRR rules


def test_a_prorated_upgrade_counts_as_a_full_period_from_its_start(cm, account):
    plan = account.plan("growth")
    customer = account.customer("acct_upgrade")
    april, may, june = "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z"
    account.invoice(customer, "inv_u1", [line("sub_u", plan, april, may, 5000)])
    # upgraded from 50 to 100 on day 10 of a 30-day period: 100 x 20/30 for the rest of it
    account.invoice(
        customer,
        "inv_u2",
        [line("sub_u", plan, "2026-04-11T00:00:00Z", may, 6667, prorated=True)],
    )
    account.invoice(customer, "inv_u3", [line("sub_u", plan, may, june, 10000)])
    assert mrr_on(cm, "2026-04-10").mrr == 5000
    upgraded = mrr_on(cm, "2026-04-11")
    assert abs(upgraded.mrr - 10000) <= 1  # 66.67 x 30/20 = 100.005
    assert abs(upgraded.mrr_expansion - 5000) <= 1
    assert mrr_on(cm, "2026-05-01").mrr == 10000


def test_proration_counts_seconds_and_falls_back_to_the_plan_interval(cm, account):
    plan = account.plan("scale")
    april, may = "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"
    # at noon on day 16: 14.5 of 30 days, 100 x 14.5/30 = 48.33 -> 99.99 (15 days: 96.66)
    noon = account.customer("acct_noon")
    account.invoice(noon, "inv_n1", [line("sub_n", plan, april, may, 5000)])
    account.invoice(
        noon, "inv_n2", [line("sub_n", plan, "2026-04-16T12:00:00Z", may, 4833, prorated=True)]
    )
    # a subscription that starts with a prorated line: the full period is the month
    # ending at its end (April, 30 days): 50 for 15 days is 100 a month
    fresh = account.customer("acct_fresh")
    account.invoice(
        fresh, "inv_f1", [line("sub_f", plan, "2026-04-16T00:00:00Z", may, 5000, prorated=True)]
    )
    # a prorated line of 0 ends the subscription's MRR from its start
    stopped = account.customer("acct_zero")
    account.invoice(stopped, "inv_z1", [line("sub_z", plan, april, may, 5000)])
    account.invoice(
        stopped, "inv_z2", [line("sub_z", plan, "2026-04-20T00:00:00Z", may, 0, prorated=True)]
    )

    by_day = mrr_by_day(cm, "2026-04-15", "2026-04-20")
    # noon: 50 until the 16th, then 99.99; fresh: 100 from the 16th; zero: 50 until the 20th
    assert by_day[date(2026, 4, 15)] == 5000 + 5000
    assert by_day[date(2026, 4, 16)] == 9999 + 10000 + 5000
    assert by_day[date(2026, 4, 20)] == 9999 + 10000
    assert mrr_on(cm, "2026-04-16").mrr_new_business == 10000
    assert mrr_on(cm, "2026-04-20").mrr_churn == -5000
    customers = chartmogul.Customer.all(cm, data_source_uuid=account.source.uuid).get()
    statuses = {c.external_id: c.status for c in customers.entries}
    assert statuses == {
        "acct_noon": "Cancelled",
        "acct_fresh": "Cancelled",
        "acct_zero": "Cancelled",
    }


def test_cancellations_end_periods_and_later_periods_reactivate(cm, account):
    plan = account.plan("cancel")
    customer = account.customer("acct_cancel")
    for month in range(1, 6):
        account.invoice(
            customer, f"inv_c{month}", monthly_lines("sub_c", plan, range(month, month + 1), 10000)
        )
    with pytest.warns(DeprecationWarning):
        [subscription] = (
            chartmogul.Subscription.list_imported(cm, uuid=customer.uuid).get().subscriptions
        )
    before = mrr_by_day(cm, "2026-01-01", "2026-06-30")
    cancelled = chartmogul.CustomerSubscription.cancel(
        cm,
        uuid=subscription.uuid,
        data={"cancellation_dates": ["2026-02-15T00:00:00Z", "2026-04-10T09:30:00Z"]},
    ).get()
    assert [d.date() for d in cancelled.cancellation_dates] == [
        date(2026, 2, 15),
        date(2026, 4, 10),
    ]
    after = mrr_by_day(cm, "2026-01-01", "2026-06-30")
    assert after[date(2026, 2, 14)] == 10000
    assert after[date(2026, 2, 15)] == after[date(2026, 2, 28)] == 0
    assert after[date(2026, 3, 1)] == after[date(2026, 4, 9)] == 10000  # reactivated
    assert after[date(2026, 4, 10)] == after[date(2026, 4, 30)] == 0
    assert after[date(2026, 5, 1)] == 10000  # the May period started after both
    assert after[date(2026, 6, 1)] == 0
    assert mrr_on(cm, "2026-03-01").mrr_reactivation == 10000
    assert mrr_on(cm, "2026-05-01").mrr_reactivation == 10000
    assert mrr_on(cm, "2026-02-15").mrr_churn == -10000
    # no cancellation dates: the subscription counts whole again
    chartmogul.CustomerSubscription.modify(
        cm, uuid=subscription.uuid, data={"cancellation_dates": []}
    ).get()
    assert mrr_by_day(cm, "2026-01-01", "2026-06-30") == before


def test_a_deleted_and_reimported_invoice_gives_the_same_mrr(cm, account):
    plan = account.plan("reimport")
    customer = account.customer("acct_reimport")
    bodies = [
        {
            "external_id": f"inv_r{month}",
            "date": MONTH_STARTS[month - 1],
            "currency": "USD",
            "line_items": monthly_lines("sub_r", plan, range(month, month + 1), 7000),
            "transactions": [
                {
                    "type": "payment",
                    "result": "successful",
                    "date": MONTH_STARTS[month - 1],
                    "external_id": f"ch_r{month}",
                }
            ],
        }
        for month in (1, 2, 3)
    ]
    imported = account.import_invoices(customer, bodies)
    before = mrr_by_day(cm, "2026-01-01", "2026-04-01")
    with pytest.warns(DeprecationWarning):
        [subscription] = (
            chartmogul.Subscription.list_imported(cm, uuid=customer.uuid).get().subscriptions
        )

    assert chartmogul.Invoice.destroy(cm, uuid=imported[1].uuid).get() is None
    gap = mrr_by_day(cm, "2026-01-01", "2026-04-01")
    assert gap[date(2026, 2, 10)] == before[date(2026, 2, 10)] - 7000
    assert gap[date(2026, 3, 10)] == before[date(2026, 3, 10)]
    assert [
        i.external_id for i in chartmogul.Invoice.all(cm, uuid=customer.uuid).get().invoices
    ] == [
        "inv_r1",
        "inv_r3",
    ]
    with pytest.raises(chartmogul.APIError, match="404"):
        chartmogul.Invoice.destroy(cm, uuid=imported[1].uuid).get()

    account.import_invoices(customer, [bodies[1]])  # its external ids are free again
    assert mrr_by_day(cm, "2026-01-01", "2026-04-01") == before
    invoices = chartmogul.Invoice.all(cm, uuid=customer.uuid).get().invoices
    assert sorted(i.external_id for i in invoices) == ["inv_r1", "inv_r2", "inv_r3"]
    with pytest.warns(DeprecationWarning):
        [same] = chartmogul.Subscription.list_imported(cm, uuid=customer.uuid).get().subscriptions
    assert same.uuid == subscription.uuid
    with pytest.raises(chartmogul.APIError, match="422"):  # and now taken again
        account.import_invoices(customer, [bodies[1]])

    # by external id, as the SDK also deletes
    chartmogul.Invoice.destroy(cm, data_source_uuid=account.source.uuid, external_id="inv_r3").get()
    assert mrr_on(cm, "2026-03-10").mrr == before[date(2026, 3, 10)] - 7000
    account.import_invoices(customer, [bodies[2]])
    assert mrr_by_day(cm, "2026-01-01", "2026-04-01") == before


def test_other_currencies_convert_at_the_service_period_start(tmp_path):
    rates = tmp_path / "fx_rates.csv"
    rates.write_text("date,currency,rate\n2026-01-01,EUR,1.10\n2026-02-15,EUR,1.20\n")
    with ChartMogulStandIn(as_of=AS_OF, fx_rates=rates) as standin:
        cm = config_for(standin, "any_key")
        account = Account(cm)
        plan = account.plan("euro")
        customer = account.customer("acct_eur")
        for month in (2, 3):  # 100 EUR (+19 EUR tax) for February and for March
            account.invoice(
                customer,
                f"inv_e{month}",
                [
                    line(
                        "sub_e",
                        plan,
                        MONTH_STARTS[month - 1],
                        MONTH_STARTS[month],
                        11900,
                        tax_amount_in_cents=1900,
                    )
                ],
                currency="EUR",
            )
        assert mrr_on(cm, "2026-02-20").mrr == 11000  # the rate of 1 February
        assert mrr_on(cm, "2026-03-01").mrr == 12000  # the rate of 15 February, the latest


# ---------------------------------------------------------------- limits, faults, death


def test_the_rate_limit_answers_429_with_retry_after():
    with ChartMogulStandIn(api_key=KEY, rate_limit=2) as standin:
        answers = [httpx.get(standin.api_base + "/ping", auth=(KEY, "")) for _ in range(6)]
        limited = [a for a in answers if a.status_code == 429]
        assert len(limited) >= 3 and answers[0].status_code == 200
        assert all(int(a.headers["Retry-After"]) >= 1 for a in limited)
        assert limited[0].json() == {
            "code": 429,
            "message": "Your request rate has exceeded our rate limit.",
        }
        with pytest.raises(chartmogul.APIError, match="429"):
            chartmogul.Ping.ping(config_for(standin)).get()
        time.sleep(1.0)  # the bucket refills at 2 a second
        assert httpx.get(standin.api_base + "/ping", auth=(KEY, "")).status_code == 200
        assert standin.requests.count("/v1/ping", status=429) >= 4


def test_random_faults_follow_the_seed():
    def statuses(seed: int) -> list[int]:
        with (
            ChartMogulStandIn(fault_rate=0.5, seed=seed) as standin,
            httpx.Client(base_url=standin.url, auth=("k", "")) as client,
        ):
            return [client.get("/v1/ping").status_code for _ in range(40)]

    first = statuses(7)
    assert first == statuses(7) and first != statuses(8)
    assert set(first) <= {200, 500, 502, 503, 429} and len(set(first)) >= 3


def test_beyond_max_connections_the_answer_is_503():
    with ChartMogulStandIn(max_connections=2, latency_ms=300) as standin:
        answers: list[int] = []

        def call() -> None:
            answers.append(httpx.get(standin.api_base + "/ping", auth=("k", "")).status_code)

        threads = [threading.Thread(target=call) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers.count(200) >= 2 and 503 in answers
        assert httpx.get(standin.api_base + "/ping", auth=("k", "")).status_code == 200


def test_a_stand_in_that_dies_refuses_connections_until_revived():
    with ChartMogulStandIn(as_of=AS_OF, api_key=KEY) as standin:
        cm = config_for(standin)
        source = chartmogul.DataSource.create(cm, data={"name": "Before"}).get()
        url_before = standin.url
        standin.set_behaviour(die_after_requests=2)
        chartmogul.Ping.ping(cm).get()
        assert chartmogul.DataSource.retrieve(cm, uuid=source.uuid).get().name == "Before"
        with pytest.raises(requests.ConnectionError):  # the third is never answered
            chartmogul.Ping.ping(cm).get()
        deadline = time.monotonic() + 5
        while standin.alive and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not standin.alive
        with pytest.raises(httpx.TransportError):
            httpx.get(standin.api_base + "/ping", auth=(KEY, ""), timeout=2)

        standin.revive()
        assert standin.url == url_before
        assert [
            s.uuid for s in chartmogul.DataSource.all(cm, name="Before").get().data_sources
        ] == [source.uuid]


def test_the_request_log_file_has_no_key(tmp_path):
    log_file = tmp_path / "requests.jsonl"
    with ChartMogulStandIn(api_key=KEY, request_log_path=log_file) as standin:
        cm = config_for(standin)
        chartmogul.DataSource.create(cm, data={"name": "Logged"}).get()
        chartmogul.DataSource.all(cm).get()
        with pytest.raises(chartmogul.APIError):
            chartmogul.Ping.ping(config_for(standin, "cm_wrong_key")).get()
        assert standin.requests.count("/v1/data_sources") == 2
        assert standin.requests.by_method() == {"POST": 1, "GET": 2}
        assert standin.requests.count(status=401) == 1
    text = log_file.read_text()
    entries = [json.loads(line) for line in text.splitlines()]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/v1/data_sources", 201),
        ("GET", "/v1/data_sources", 200),
        ("GET", "/v1/ping", 401),
    ]
    assert {"time", "duration_ms", "request_bytes", "response_bytes"} <= set(entries[0])
    assert entries[0]["request_bytes"] > 0 and entries[1]["response_bytes"] > 0
    for secret in (KEY, "cm_wrong_key", base64.b64encode(f"{KEY}:".encode()).decode()):
        assert secret not in text
    assert "authorization" not in text.lower()


def test_serve_chartmogul_empty_command_answers_the_sdk(tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("date,currency,rate\n2026-01-01,EUR,1.1\n")
    log_file = tmp_path / "cm.jsonl"
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "revwh.cli",
            "sandbox",
            "serve-chartmogul",
            "--empty",
            "--as-of",
            "2026-11-15",
            "--port",
            str(port),
            "--api-key",
            KEY,
            "--fx-rates",
            str(rates),
            "--request-log",
            str(log_file),
            "--rate-limit",
            "40",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = url_for("127.0.0.1", port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/v1/ping", auth=(KEY, "")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "did not start"
            time.sleep(0.1)
        config = chartmogul.Config(KEY)
        config.uri = url + "/v1"
        assert chartmogul.DataSource.all(config).get().data_sources == []
        chartmogul.DataSource.create(config, data={"name": "CLI"}).get()
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "empty account" in output and "EUR" in output
    assert f"CHARTMOGUL_API_BASE={url}" in output and f"{url}/v1" in output
    assert KEY not in output and KEY not in log_file.read_text()
    assert '"path":"/v1/data_sources"' in log_file.read_text()


def test_serve_chartmogul_needs_a_world_or_empty():
    done = subprocess.run(
        [sys.executable, "-m", "revwh.cli", "sandbox", "serve-chartmogul"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode != 0 and "--empty" in done.stdout + done.stderr
