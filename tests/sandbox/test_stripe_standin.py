"""The Stripe stand-in, exercised through the real stripe SDK."""

from __future__ import annotations

import math
import random
import time
from itertools import pairwise
from pathlib import Path

import httpx
import orjson
import pytest
import stripe
from stripe._http_client import HTTPClient

from sandbox.stripe import StripeStandIn, load_fixtures, loader
from sandbox.stripe.fixtures import RESOURCES, Store, Table

AS_OF = 1_790_000_000
DAY = 86_400
WINDOW_START = AS_OF - 30 * DAY
CUSTOMERS = 250
LONG_INVOICE_LINES = 25


# -- fixture world ------------------------------------------------------------------


def _created(rnd: random.Random) -> int:
    return AS_OF - 400 * DAY + rnd.randrange(0, 399 * DAY)


def build_world(root: Path) -> dict[str, list[dict]]:
    """A small world with the awkward cases: ties on `created`, canceled subscriptions,
    archived prices, invoices with 25 lines, events older than 30 days."""
    rnd = random.Random(42)
    world: dict[str, list[dict]] = {}
    # Groups of three customers share a `created` second: ids break the tie.
    world["customers"] = [
        {
            "id": f"cus_{i:05d}",
            "object": "customer",
            "created": AS_OF - 300 * DAY + (i // 3) * 3600,
            "email": f"user{i}@example.com",
            "metadata": {},
        }
        for i in range(CUSTOMERS)
    ]
    customer_ids = [c["id"] for c in world["customers"]]
    world["products"] = [
        {
            "id": f"prod_{i:03d}",
            "object": "product",
            "created": _created(rnd),
            "active": i % 4 != 3,
            "name": f"Plan {i}",
            "default_price": f"price_{i:03d}",
        }
        for i in range(12)
    ]
    world["prices"] = [
        {
            "id": f"price_{i:03d}",
            "object": "price",
            "created": _created(rnd),
            "active": i < 20,
            "product": f"prod_{i % 12:03d}",
            "currency": "usd",
            "unit_amount": 1000 + i,
            "type": "recurring",
            "recurring": {"interval": "month", "interval_count": 1},
        }
        for i in range(30)
    ]
    prices = world["prices"]
    world["coupons"] = [
        {"id": f"SAVE{i}", "object": "coupon", "created": _created(rnd), "percent_off": 10}
        for i in range(15)
    ]

    world["subscriptions"] = []
    for i in range(120):
        sub_id = f"sub_{i:04d}"
        status = "canceled" if i % 4 == 0 else ("incomplete_expired" if i % 25 == 1 else "active")
        n_items = 12 if i == 7 else 1 + i % 2
        items = [
            {
                "id": f"si_{i:04d}_{k:02d}",
                "object": "subscription_item",
                "created": AS_OF - 200 * DAY,
                "price": prices[(i + k) % len(prices)],
                "quantity": 1,
                "subscription": sub_id,
                "current_period_start": AS_OF - 10 * DAY,
                "current_period_end": AS_OF + 20 * DAY,
            }
            for k in range(n_items)
        ]
        world["subscriptions"].append(
            {
                "id": sub_id,
                "object": "subscription",
                "created": _created(rnd),
                "customer": customer_ids[i],
                "status": status,
                "items": {
                    "object": "list",
                    "data": items,
                    "has_more": False,
                    "total_count": n_items,
                    "url": f"/v1/subscription_items?subscription={sub_id}",
                },
                "latest_invoice": f"in_{i:04d}",
                "discounts": [],
            }
        )

    world["invoices"] = []
    for i in range(150):
        invoice_id = f"in_{i:04d}"
        n_lines = LONG_INVOICE_LINES if i % 10 == 0 else 1 + i % 3
        lines = [
            {
                "id": f"il_{i:04d}_{k:02d}",
                "object": "line_item",
                "amount": 500 + k,
                "invoice": invoice_id,
                "pricing": {
                    "type": "price_details",
                    "price_details": {"price": prices[k % len(prices)]["id"], "product": "x"},
                },
                "parent": {
                    "type": "subscription_item_details",
                    "subscription_item_details": {"proration": False},
                },
            }
            for k in range(n_lines)
        ]
        world["invoices"].append(
            {
                "id": invoice_id,
                "object": "invoice",
                "created": _created(rnd),
                "customer": customer_ids[i % 60],
                "status": ["paid", "open", "void"][i % 3],
                "parent": {
                    "type": "subscription_details",
                    "subscription_details": {"subscription": f"sub_{i % 120:04d}"},
                },
                "lines": {"object": "list", "data": lines, "has_more": False},
                "discounts": [],
            }
        )

    world["charges"] = [
        {
            "id": f"ch_{i:04d}",
            "object": "charge",
            "created": _created(rnd),
            "customer": customer_ids[i % 80],
            "amount": 1000 + i,
            "payment_intent": f"pi_{i:04d}",
        }
        for i in range(150)
    ]
    world["refunds"] = [
        {
            "id": f"re_{i:04d}",
            "object": "refund",
            "created": _created(rnd),
            "charge": f"ch_{(i * 3) % 150:04d}",
            "amount": 100,
        }
        for i in range(40)
    ]
    # One charge still embeds its refunds list (old API versions did).
    world["charges"][0]["refunds"] = {
        "object": "list",
        "data": [r for r in world["refunds"] if r["charge"] == "ch_0000"],
        "has_more": False,
        "url": "/v1/charges/ch_0000/refunds",
    }
    world["credit_notes"] = [
        {
            "id": f"cn_{i:04d}",
            "object": "credit_note",
            "created": _created(rnd),
            "customer": customer_ids[i],
            "invoice": f"in_{i:04d}",
            "lines": {
                "object": "list",
                "data": [
                    {"id": f"cnli_{i:04d}_{k:02d}", "object": "credit_note_line_item"}
                    for k in range(12 if i == 3 else 1)
                ],
                "has_more": False,
                "url": f"/v1/credit_notes/cn_{i:04d}/lines",
            },
        }
        for i in range(20)
    ]
    event_types = ["customer.created", "invoice.paid", "customer.subscription.updated"]
    world["events"] = [
        {
            "id": f"evt_{i:04d}",
            "object": "event",
            "created": (WINDOW_START - DAY - i * 600) if i < 40 else (AS_OF - i * 1800),
            "type": event_types[i % 3],
            "data": {"object": {"id": customer_ids[i], "object": "customer"}},
        }
        for i in range(120)
    ]

    folder = root / "stripe"
    folder.mkdir(parents=True)
    for name, objects in world.items():
        shuffled = list(objects)
        rnd.shuffle(shuffled)  # the simulator writes lines in no particular order
        (folder / f"{name}.jsonl").write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in shuffled))
    (folder / "manifest.json").write_bytes(orjson.dumps({"as_of_ts": AS_OF}))
    return world


def newest_first(objects: list[dict]) -> list[str]:
    return [o["id"] for o in sorted(objects, key=lambda o: (o["created"], o["id"]), reverse=True)]


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("world")
    return root, build_world(root)


@pytest.fixture(scope="module")
def world(world_dir) -> dict[str, list[dict]]:
    return world_dir[1]


@pytest.fixture(scope="module")
def store(world_dir) -> Store:
    return load_fixtures(world_dir[0])  # the parent folder: finds stripe/ itself


@pytest.fixture(scope="module")
def server(store: Store):
    with StripeStandIn(store, rate_limit=None) as standin:
        yield standin


@pytest.fixture
def standin(server: StripeStandIn):
    """The shared server with a clean log and default behaviour for each test."""
    server.set_faults(rate_limit=None, latency_ms=0, fault_rate=0.0, seed=0)
    server.reset_log()
    yield server
    server.set_faults(rate_limit=None, latency_ms=0, fault_rate=0.0, seed=0)


def make_client(standin: StripeStandIn, retries: int = 2, key: str = "sk_test_x"):
    return stripe.StripeClient(
        key, base_addresses={"api": standin.url}, max_network_retries=retries
    )


@pytest.fixture
def client(standin: StripeStandIn) -> stripe.StripeClient:
    return make_client(standin)


@pytest.fixture
def http(standin: StripeStandIn):
    """Raw HTTP, for what the SDK hides (headers, missing keys, other methods)."""
    with httpx.Client(base_url=standin.url, headers={"Authorization": "Bearer sk_test_x"}) as c:
        yield c


# -- paging -------------------------------------------------------------------------

PAGED = [
    ("customers", {}),
    ("products", {}),
    ("coupons", {}),
    ("subscriptions", {"status": "all"}),
    ("invoices", {}),
    ("charges", {}),
    ("refunds", {}),
    ("credit_notes", {}),
]


@pytest.mark.parametrize("limit", [100, None])
@pytest.mark.parametrize(("resource", "params"), PAGED, ids=[r for r, _ in PAGED])
def test_auto_paging_yields_everything_once_newest_first(
    client, standin, world, resource, params, limit
):
    if limit:
        params = {**params, "limit": limit}
    service = getattr(client.v1, resource)
    ids = [obj.id for obj in service.list(params=params).auto_paging_iter()]
    assert ids == newest_first(world[resource])
    # has_more is exact: no request for an empty last page.
    assert len(standin.requests) == max(1, math.ceil(len(ids) / (limit or 10)))


@pytest.mark.parametrize("limit", [100, None])
def test_prices_active_and_archived_together_cover_all(client, world, limit):
    extra = {"limit": limit} if limit else {}
    active = [p.id for p in client.v1.prices.list(params=extra).auto_paging_iter()]
    archived = [
        p.id for p in client.v1.prices.list(params={**extra, "active": False}).auto_paging_iter()
    ]
    assert active == newest_first([p for p in world["prices"] if p["active"]])
    assert archived == newest_first([p for p in world["prices"] if not p["active"]])
    assert sorted(active + archived) == sorted(p["id"] for p in world["prices"])


def test_events_reach_back_30_days_only(client, world):
    recent = [e for e in world["events"] if e["created"] >= WINDOW_START]
    ids = [e.id for e in client.v1.events.list(params={"limit": 100}).auto_paging_iter()]
    assert ids == newest_first(recent)
    old = next(e for e in world["events"] if e["created"] < WINDOW_START)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.events.retrieve(old["id"])
    assert info.value.code == "resource_missing"


def test_event_type_filters(client, world):
    recent = [e for e in world["events"] if e["created"] >= WINDOW_START]

    def listed(params: dict) -> list[str]:
        return [e.id for e in client.v1.events.list(params=params).auto_paging_iter()]

    assert listed({"type": "invoice.paid"}) == newest_first(
        [e for e in recent if e["type"] == "invoice.paid"]
    )
    assert listed({"type": "customer.*"}) == newest_first(
        [e for e in recent if e["type"].startswith("customer.")]
    )
    both = {"invoice.paid", "customer.created"}
    assert listed({"types": sorted(both)}) == newest_first([e for e in recent if e["type"] in both])


def test_ending_before_pages_backwards(client, world):
    expected = newest_first(world["customers"])
    page = client.v1.customers.list(params={"ending_before": expected[-1], "limit": 7})
    assert [c.id for c in page.data] == expected[-8:-1]
    # The SDK walks backwards (oldest first) when only ending_before is given.
    walked = [c.id for c in page.auto_paging_iter()]
    assert walked == list(reversed(expected[:-1]))


def test_cursor_outside_the_filtered_view(client, world):
    # A canceled subscription is not in the default list but still works as a cursor.
    ordered = newest_first(world["subscriptions"])
    live = {s["id"] for s in world["subscriptions"] if s["status"] == "active"}
    cursor = next(i for i in ordered[20:] if i not in live)
    page = client.v1.subscriptions.list(params={"starting_after": cursor, "limit": 5})
    after = [i for i in ordered[ordered.index(cursor) + 1 :] if i in live]
    assert [s.id for s in page.data] == after[:5]
    before = client.v1.subscriptions.list(params={"ending_before": cursor, "limit": 3})
    newer = [i for i in ordered[: ordered.index(cursor)] if i in live]
    assert [s.id for s in before.data] == newer[-3:]


# -- defaults and filters -----------------------------------------------------------


def test_subscriptions_default_omits_canceled_and_expired(client, world):
    ids = [s.id for s in client.v1.subscriptions.list(params={"limit": 100}).auto_paging_iter()]
    live = [s for s in world["subscriptions"] if s["status"] == "active"]
    assert ids == newest_first(live)
    canceled = client.v1.subscriptions.list(params={"status": "canceled", "limit": 100})
    assert {s.status for s in canceled.data} == {"canceled"}
    ended = [
        s.id for s in client.v1.subscriptions.list(params={"status": "ended"}).auto_paging_iter()
    ]
    assert ended == newest_first(
        [s for s in world["subscriptions"] if s["status"] in ("canceled", "incomplete_expired")]
    )


def test_invoice_lines_embedded_ten_and_paged_separately(client):
    invoice = client.v1.invoices.retrieve("in_0010")
    assert len(invoice.lines.data) == 10
    assert invoice.lines.has_more is True
    assert invoice.lines.url == "/v1/invoices/in_0010/lines"
    listed = client.v1.invoices.list(params={"limit": 100})
    for inv in listed.data:
        assert len(inv.lines.data) <= 10
    lines = [
        line.id
        for line in client.v1.invoices.line_items.list(
            "in_0010", params={"limit": 4}
        ).auto_paging_iter()
    ]
    assert lines == [f"il_0010_{k:02d}" for k in range(LONG_INVOICE_LINES)]
    everything = client.v1.invoices.line_items.list("in_0010", params={"limit": 100})
    assert len(everything.data) == LONG_INVOICE_LINES and everything.has_more is False


def test_subscription_items_and_credit_note_lines(client):
    sub = client.v1.subscriptions.retrieve("sub_0007")
    assert len(sub["items"].data) == 10 and sub["items"].has_more is True
    assert sub["items"].total_count == 12
    items = client.v1.subscription_items.list(params={"subscription": "sub_0007", "limit": 5})
    assert [i.id for i in items.auto_paging_iter()] == [f"si_0007_{k:02d}" for k in range(12)]
    item = client.v1.subscription_items.retrieve("si_0007_11")
    assert item.price.object == "price"
    lines = client.v1.credit_notes.line_items.list("cn_0003", params={"limit": 5})
    assert len(list(lines.auto_paging_iter())) == 12
    # Canceled subscriptions can still be retrieved.
    assert client.v1.subscriptions.retrieve("sub_0000").status == "canceled"


def test_created_and_customer_filters(client, world):
    cut = sorted(c["created"] for c in world["charges"])[100]
    ids = [
        c.id for c in client.v1.charges.list(params={"created": {"gte": cut}}).auto_paging_iter()
    ]
    assert ids == newest_first([c for c in world["charges"] if c["created"] >= cut])
    ranged = client.v1.charges.list(params={"created": {"gt": cut, "lte": cut + 50 * DAY}})
    assert all(cut < c.created <= cut + 50 * DAY for c in ranged.auto_paging_iter())

    customer = "cus_00005"
    invoices = client.v1.invoices.list(params={"customer": customer})
    assert [i.id for i in invoices.auto_paging_iter()] == newest_first(
        [i for i in world["invoices"] if i["customer"] == customer]
    )
    by_sub = client.v1.invoices.list(params={"subscription": "sub_0010", "status": "paid"})
    assert {i.id for i in by_sub.data} == {
        i["id"]
        for i in world["invoices"]
        if i["parent"]["subscription_details"]["subscription"] == "sub_0010"
        and i["status"] == "paid"
    }
    refunds = client.v1.refunds.list(params={"charge": "ch_0003"})
    assert [r.id for r in refunds.data] == ["re_0001"]
    exact = world["customers"][30]["created"]
    same_second = client.v1.customers.list(params={"created": exact})
    assert [c.id for c in same_second.data] == ["cus_00032", "cus_00031", "cus_00030"]
    mine = client.v1.subscriptions.list(params={"customer": "cus_00004", "status": "all"})
    assert [s.id for s in mine.data] == ["sub_0004"]
    assert client.v1.subscriptions.list(params={"customer": "cus_00004"}).data == []


def test_unknown_parameters_are_rejected(client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.list(params={"colour": "blue"})
    assert info.value.code == "parameter_unknown"
    assert info.value.param == "colour"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.subscriptions.list(params={"status": "sleeping"})
    assert info.value.param == "status"


def test_charge_refunds_sublist(client, http):
    body = http.get("/v1/charges/ch_0003/refunds").json()
    assert [r["id"] for r in body["data"]] == ["re_0001"]
    assert body["url"] == "/v1/charges/ch_0003/refunds"
    embedded = client.v1.charges.retrieve("ch_0000")
    assert [r.id for r in embedded.refunds.data] == ["re_0000"]


# -- retrieve and errors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "object_id"),
    [
        ("customers", "cus_00017"),
        ("products", "prod_003"),
        ("prices", "price_025"),  # archived prices stay retrievable
        ("coupons", "SAVE3"),
        ("subscriptions", "sub_0004"),
        ("invoices", "in_0001"),
        ("charges", "ch_0001"),
        ("refunds", "re_0002"),
        ("credit_notes", "cn_0002"),
        ("events", "evt_0100"),
    ],
)
def test_retrieve_each_resource(client, world, resource, object_id):
    obj = getattr(client.v1, resource).retrieve(object_id)
    expected = next(o for o in world[resource] if o["id"] == object_id)
    assert obj.id == object_id
    assert obj.object == expected["object"]
    assert obj.created == expected["created"]


def test_unknown_id_is_resource_missing(client, standin):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.invoices.retrieve("in_nope")
    assert info.value.code == "resource_missing"
    assert info.value.http_status == 404
    assert info.value.json_body["error"]["message"] == "No such invoice: 'in_nope'"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.list(params={"starting_after": "cus_nope"})
    assert info.value.code == "resource_missing"
    assert info.value.param == "starting_after"


@pytest.mark.parametrize("limit", [0, 101, "ten"])
def test_bad_limit(http, limit):
    response = http.get("/v1/customers", params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "limit"


def test_auth(standin, http):
    with pytest.raises(stripe.AuthenticationError) as info:
        make_client(standin, key="sk_live_123456789abcdef").v1.customers.list()
    message = info.value.json_body["error"]["message"]
    assert "cdef" in message and "123456789" not in message  # masked
    missing = http.get("/v1/customers", headers={"Authorization": ""})
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("You did not provide an API key.")
    basic = http.get("/v1/customers", auth=("sk_test_x", ""))
    assert basic.status_code == 200
    assert all("authorization" not in str(entry).lower() for entry in standin.requests)
    assert "sk_live" not in str(standin.requests.snapshot())


def test_unrecognized_urls_and_headers(standin, http):
    for method, path in [("GET", "/v1/foo"), ("POST", "/v1/customers"), ("GET", "/nope")]:
        response = http.request(method, path)
        assert response.status_code == 404
        assert response.json()["error"]["message"].startswith(
            f"Unrecognized request URL ({method}: {path})"
        )
    ok = http.get("/v1/customers", headers={"Stripe-Version": "2025-01-27.acacia"})
    assert ok.headers["request-id"].startswith("req_")
    assert ok.headers["stripe-version"] == "2025-01-27.acacia"
    assert http.get("/v1/coupons").headers["stripe-version"] == "2026-10-28.endive"
    assert ok.headers["content-type"] == "application/json"
    assert list(ok.json()) == ["object", "url", "has_more", "data"]
    assert standin.requests[-2]["count"] == 10
    assert standin.requests[-2]["status"] == 200


@pytest.mark.parametrize("key", ["sk_test_wrong!", "sk_test_", "sk_test_with space", "pk_test_abc"])
def test_a_key_not_in_stripes_format_is_refused(http, key):
    response = http.get("/v1/customers", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("Invalid API Key provided")


def test_an_expected_key_must_itself_be_a_stripe_key(store):
    with pytest.raises(ValueError, match="Stripe test key"):
        StripeStandIn(store, rate_limit=None, api_key="not-a-key")


def test_configured_api_key(store):
    with StripeStandIn(store, rate_limit=None, api_key="sk_test_exact") as standin:
        assert make_client(standin, key="sk_test_exact").v1.coupons.list().data
        with pytest.raises(stripe.AuthenticationError):
            make_client(standin, key="sk_test_other").v1.coupons.list()


def test_request_log_file(store, tmp_path):
    log_path = tmp_path / "requests.jsonl"
    with StripeStandIn(store, rate_limit=None, request_log_path=log_path) as standin:
        make_client(standin).v1.customers.list(params={"limit": 3, "created": {"gte": 0}})
    lines = [orjson.loads(line) for line in log_path.read_bytes().splitlines()]
    assert lines[0]["path"] == "/v1/customers"
    assert lines[0]["query"] == {"limit": "3", "created[gte]": "0"}
    assert lines[0]["count"] == 3


# -- rate limit, faults, latency ----------------------------------------------------


def test_rate_limit_retried_by_the_sdk(standin):
    standin.set_faults(rate_limit=2)
    client = make_client(standin, retries=3)
    for i in range(5):
        assert client.v1.customers.retrieve(f"cus_{i:05d}").id == f"cus_{i:05d}"
    statuses = [entry["status"] for entry in standin.requests]
    assert 429 in statuses
    assert statuses.count(200) == 5
    # Every 429 was followed by a retry of the same request.
    for entry, following in zip(standin.requests, standin.requests.snapshot()[1:], strict=False):
        if entry["status"] == 429:
            assert following["path"] == entry["path"]
    no_retry = make_client(standin, retries=0)
    with pytest.raises(stripe.RateLimitError):
        for _ in range(5):
            no_retry.v1.customers.retrieve("cus_00001")


def test_rate_limit_429_body(standin, http):
    standin.set_faults(rate_limit=1)
    responses = [http.get("/v1/customers") for _ in range(3)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited
    assert limited[0].headers["stripe-should-retry"] == "true"
    assert limited[0].json()["error"]["code"] == "rate_limit"


def test_faults_are_retried_and_paging_completes(standin, world, monkeypatch):
    # Shorter SDK backoff keeps the test fast; the retry decision itself is unchanged.
    monkeypatch.setattr(HTTPClient, "INITIAL_DELAY", 0.01)
    standin.set_faults(fault_rate=0.3, seed=7)
    client = make_client(standin, retries=6)
    ids = [i.id for i in client.v1.invoices.list(params={"limit": 20}).auto_paging_iter()]
    assert ids == newest_first(world["invoices"])
    statuses = [entry["status"] for entry in standin.requests]
    assert statuses.count(500) >= 1
    assert statuses.count(200) == 8


def test_faults_are_repeatable_with_a_seed(standin, http):
    def run() -> list[int]:
        standin.set_faults(fault_rate=0.5, seed=3)
        return [http.get("/v1/coupons").status_code for _ in range(12)]

    first = run()
    assert first == run()
    assert set(first) == {200, 500}


def test_latency(standin, client):
    client.v1.customers.retrieve("cus_00001")  # warm the connection
    standin.set_faults(latency_ms=150)
    started = time.perf_counter()
    client.v1.customers.retrieve("cus_00001")
    elapsed = time.perf_counter() - started
    assert 0.15 <= elapsed < 1.0


# -- expand -------------------------------------------------------------------------


def test_expand(client):
    invoices = client.v1.invoices.list(params={"expand": ["data.customer"], "limit": 5})
    for invoice in invoices.data:
        assert invoice.customer.object == "customer"
        assert invoice.customer.email.endswith("@example.com")
    sub = client.v1.subscriptions.retrieve(
        "sub_0003", params={"expand": ["customer", "latest_invoice", "discounts"]}
    )
    assert sub.customer.id == "cus_00003"
    assert sub.latest_invoice.object == "invoice"
    lines = client.v1.invoices.line_items.list(
        "in_0010", params={"expand": ["data.pricing.price_details.price"], "limit": 3}
    )
    assert lines.data[0].pricing.price_details.price.object == "price"
    # Unknown or unresolvable paths are left alone.
    products = client.v1.products.list(
        params={"expand": ["data.default_price", "data.lines", "data.nope.deeper"]}
    )
    assert all(p.default_price.object == "price" for p in products.data)


# -- loading ------------------------------------------------------------------------


def test_loader_accepts_either_folder_and_missing_files(world_dir, tmp_path):
    root, world = world_dir
    direct = load_fixtures(root / "stripe")
    assert direct.counts() == {name: len(objs) for name, objs in world.items()}
    assert direct.as_of == AS_OF
    (tmp_path / "customers.jsonl").write_bytes(
        b'{"id":"cus_1","object":"customer","created":5}\n\n'
    )
    sparse = load_fixtures(tmp_path)
    assert sparse.counts()["customers"] == 1 and sparse.counts()["invoices"] == 0
    assert sparse.as_of == 5  # no manifest: the newest object
    with pytest.raises(FileNotFoundError):
        load_fixtures(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError):
        load_fixtures(tmp_path / "empty")


def test_loader_lines_duplicates_and_errors(tmp_path):
    (tmp_path / "coupons.jsonl").write_bytes(
        b'{"id":"A","object":"coupon","created":5,"v":1}\r\n'
        b'  {"id":"B","object":"coupon","created":5}  \n'
        b'{"id":"A","object":"coupon","created":5,"v":2}'  # no final newline
    )
    store = load_fixtures(tmp_path)
    table = store.tables["coupons"]
    assert table.ids == ["B", "A"]  # id desc on equal created; one copy per id
    assert orjson.loads(table.raw(table.pos["A"]))["v"] == 2  # the later line wins
    (tmp_path / "refunds.jsonl").write_bytes(b'{"id":"re_1","object":"refund"}\n')
    with pytest.raises(ValueError, match=r"refunds\.jsonl"):
        load_fixtures(tmp_path)


def test_a_malformed_line_is_named_by_its_line_and_column(tmp_path):
    good = b'{"id":"cus_%d","object":"customer","created":5}\n'
    lines = [good % i for i in range(2999)] + [b'{"id":"cus_x","object":"customer",created:5}\n']
    (tmp_path / "customers.jsonl").write_bytes(b"".join(lines))
    with pytest.raises(ValueError) as raised:
        load_fixtures(tmp_path)
    message = str(raised.value)
    assert "customers.jsonl, line 3000: not a Stripe object, invalid JSON at column 35" in message
    assert "byte" not in message
    (tmp_path / "customers.jsonl").write_bytes(good % 1 + b'\n  {"object":"customer"}\n')
    with pytest.raises(ValueError, match=r"customers\.jsonl, line 3: .*no 'id' field"):
        load_fixtures(tmp_path)


def test_chunked_scan_matches_a_single_pass(world_dir):
    # The parallel loader cuts files at line boundaries; the index must not change.
    folder = world_dir[0] / "stripe"
    for name in ("invoices", "events"):
        buffer = (folder / f"{name}.jsonl").read_bytes()
        whole, parts = Table(RESOURCES[name]), Table(RESOURCES[name])
        loader.assemble(whole, buffer, [loader.scan(buffer, name)])
        bounds = loader._boundaries(buffer, 2000)
        assert len(bounds) > 5
        chunks = [loader.scan(buffer, name, lo, hi) for lo, hi in pairwise(bounds)]
        loader.assemble(parts, buffer, chunks)
        assert parts.ids == whole.ids
        assert [parts.raw(p) for p in range(len(parts))] == [
            whole.raw(p) for p in range(len(whole))
        ]
        assert parts.overflow == whole.overflow
