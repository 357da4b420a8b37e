"""The real `stripe` SDK against the stand-in serving the small world."""

from __future__ import annotations

from collections import Counter

import pytest
import stripe

from sandbox.stripe.server import StripeStandIn
from sandbox.world.generate import STRIPE_RESOURCES
from tests.sandbox.world_files import stripe_objects


@pytest.fixture(scope="module")
def standin(small_world):
    with StripeStandIn(small_world / "stripe", rate_limit=None) as server:
        yield server


@pytest.fixture
def client(standin):
    return stripe.StripeClient(
        "sk_test_smallworld", base_addresses={"api": standin.url}, max_network_retries=2
    )


@pytest.mark.parametrize("resource", STRIPE_RESOURCES)
def test_auto_paging_returns_every_object_exactly_once(small_world, client, resource):
    expected = Counter(o["id"] for o in stripe_objects(small_world, resource))
    params = {
        "subscriptions": [{"status": "all"}],
        "prices": [{"active": True}, {"active": False}],
    }.get(resource, [{}])
    got: Counter = Counter()
    created = []
    for extra in params:
        page = getattr(client.v1, resource).list(params={"limit": 100, **extra})
        for obj in page.auto_paging_iter():
            got[obj.id] += 1
            created.append(obj.created)
    assert got == expected
    assert max(got.values()) == 1
    if len(params) == 1:
        assert created == sorted(created, reverse=True), "newest first"


def test_stripe_defaults_hide_canceled_subscriptions_and_archived_prices(small_world, client):
    subscriptions = stripe_objects(small_world, "subscriptions")
    canceled = {s["id"] for s in subscriptions if s["status"] == "canceled"}
    assert canceled
    default = {s.id for s in client.v1.subscriptions.list(params={"limit": 100}).auto_paging_iter()}
    assert default == {s["id"] for s in subscriptions} - canceled
    only_canceled = {
        s.id
        for s in client.v1.subscriptions.list(
            params={"limit": 100, "status": "canceled"}
        ).auto_paging_iter()
    }
    assert only_canceled == canceled
    prices = stripe_objects(small_world, "prices")
    archived = {p["id"] for p in prices if not p["active"]}
    assert archived
    default_prices = {p.id for p in client.v1.prices.list(params={"limit": 100}).auto_paging_iter()}
    assert default_prices == {p["id"] for p in prices} - archived


def test_invoice_lines_beyond_ten_are_paged(small_world, client):
    invoices = {i["id"]: i for i in stripe_objects(small_world, "invoices")}
    long_ones = [i for i in invoices.values() if len(i["lines"]["data"]) > 10]
    assert long_ones
    for inv in long_ones:
        fetched = client.v1.invoices.retrieve(inv["id"])
        assert len(fetched.lines.data) == 10 and fetched.lines.has_more
        ids = [
            line.id
            for line in client.v1.invoices.line_items.list(
                inv["id"], params={"limit": 3}
            ).auto_paging_iter()
        ]
        assert ids == [line["id"] for line in inv["lines"]["data"]]
    # every line of every invoice, through the embedded list and the lines endpoint
    lines = 0
    for invoice in client.v1.invoices.list(params={"limit": 100}).auto_paging_iter():
        lines += len(invoice.lines.data)
        if invoice.lines.has_more:
            lines += sum(
                1
                for _ in client.v1.invoices.line_items.list(
                    invoice.id, params={"limit": 100, "starting_after": invoice.lines.data[-1].id}
                ).auto_paging_iter()
            )
    assert lines == sum(len(i["lines"]["data"]) for i in invoices.values())


def test_customer_filter_and_retrieve(small_world, client):
    invoices = stripe_objects(small_world, "invoices")
    customer = Counter(i["customer"] for i in invoices).most_common(1)[0][0]
    mine = {
        i.id
        for i in client.v1.invoices.list(
            params={"customer": customer, "limit": 100}
        ).auto_paging_iter()
    }
    assert mine == {i["id"] for i in invoices if i["customer"] == customer}
    fetched = client.v1.customers.retrieve(customer)
    assert (
        fetched.to_dict()["metadata"]
        == next(c for c in stripe_objects(small_world, "customers") if c["id"] == customer)[
            "metadata"
        ]
    )


def test_errors_come_back_as_the_sdks_exceptions(standin):
    bad = stripe.StripeClient("sk_live_not_allowed", base_addresses={"api": standin.url})
    with pytest.raises(stripe.AuthenticationError):
        bad.v1.customers.list()
    good = stripe.StripeClient("sk_test_x", base_addresses={"api": standin.url})
    with pytest.raises(stripe.InvalidRequestError) as missing:
        good.v1.customers.retrieve("cus_does_not_exist")
    assert missing.value.code == "resource_missing"
