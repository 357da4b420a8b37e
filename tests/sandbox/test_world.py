"""The simulated business: deterministic, internally consistent, in Stripe's shapes."""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

import orjson
import pytest
from openpyxl import load_workbook

from sandbox.world import generate as generate_module
from sandbox.world.catalog import ALL_CURRENCIES
from sandbox.world.generate import generate_world
from tests.conftest import AS_OF, START
from tests.sandbox.world_files import file_digests, money, stripe_objects, truth

RESOURCE_EXAMPLES = {
    "customers": "customer",
    "products": "product",
    "prices": "price",
    "coupons": "coupon",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "charges": "charge",
    "refunds": "refund",
    "credit_notes": "credit_note",
    "events": "event",
}


def test_same_seed_and_dates_give_identical_bytes(tmp_path, monkeypatch):
    # several chunks, generated serially and in parallel: the bytes must not depend on it
    monkeypatch.setattr(generate_module, "CHUNK_SIZE", 25)
    first = generate_world("tiny", 3, AS_OF, tmp_path / "a", workers=1)
    second = generate_world("tiny", 3, AS_OF, tmp_path / "b", workers=2)
    assert first["accounts"] > 50
    digests = file_digests(tmp_path / "a")
    assert len(digests) > 30
    assert digests == file_digests(tmp_path / "b")
    other_seed = generate_world("tiny", 4, AS_OF, tmp_path / "c", workers=1)
    assert file_digests(tmp_path / "c") != digests
    assert second["mrr_usd"] == first["mrr_usd"] != other_seed["mrr_usd"]


def test_a_later_as_of_date_only_extends_history(tmp_path):
    """What incremental loading relies on: earlier objects stay, and each one that changes
    is named by an event (Stripe) or gets a newer updated_at (app database)."""
    earlier, later = tmp_path / "earlier", tmp_path / "later"
    generate_world("small", 9, date(2026, 11, 8), earlier, start=START)
    generate_world("small", 9, date(2026, 11, 15), later, start=START)
    cutoff = orjson.loads((earlier / "stripe" / "manifest.json").read_bytes())["as_of_ts"]
    touched = {
        e["data"]["object"]["id"] for e in stripe_objects(later, "events") if e["created"] > cutoff
    }
    for resource in RESOURCE_EXAMPLES:
        if resource == "events":
            continue
        before = {o["id"]: o for o in stripe_objects(earlier, resource)}
        after = {o["id"]: o for o in stripe_objects(later, resource)}
        assert set(before) <= set(after), resource
        new_but_old = [i for i, o in after.items() if i not in before and o["created"] <= cutoff]
        assert new_but_old == [], resource
        silent = [i for i in before if before[i] != after[i] and i not in touched]
        assert silent == [], f"{resource} changed without an event: {silent[:5]}"
    cutoff_text = f"{date(2026, 11, 8)} 23:59:59"
    old, new = sqlite3.connect(earlier / "app.sqlite"), sqlite3.connect(later / "app.sqlite")
    for table, key in (
        ("accounts", 1),
        ("users", 1),
        ("transactions", 1),
        ("usage_daily", 3),
        ("support_tickets", 1),
        ("nps_responses", 1),
        ("activation_events", 1),
    ):
        rows_before = {r[:key]: r for r in old.execute(f"SELECT * FROM {table}")}
        rows_after = {r[:key]: r for r in new.execute(f"SELECT * FROM {table}")}
        assert set(rows_before) <= set(rows_after), table
        stale = [
            k
            for k, r in rows_before.items()
            if rows_after[k] != r and rows_after[k][-1] <= cutoff_text
        ]
        assert stale == [], f"{table} rows changed without a newer updated_at: {stale[:3]}"
    movements_before = truth(earlier, "mrr_movements")
    movements_after = {tuple(m.values()) for m in truth(later, "mrr_movements")}
    assert all(tuple(m.values()) in movements_after for m in movements_before)


def test_stripe_objects_carry_the_fields_of_stripes_examples(small_world, shared_reference):
    examples = orjson.loads((shared_reference / "stripe-openapi-fixtures3.json").read_bytes())
    examples = examples["resources"]
    for resource, example in RESOURCE_EXAMPLES.items():
        objects = stripe_objects(small_world, resource)
        assert objects, resource
        expected = set(examples[example])
        for obj in objects:
            missing = expected - set(obj)
            assert not missing, f"{resource} {obj['id']} lacks {sorted(missing)}"
            assert obj["object"] == example
    nested = (
        ("invoices", "lines", "line_item"),
        ("subscriptions", "items", "subscription_item"),
        ("credit_notes", "lines", "credit_note_line_item"),
    )
    for resource, field, example in nested:
        expected = set(examples[example])
        for obj in stripe_objects(small_world, resource):
            for child in obj[field]["data"]:
                assert not expected - set(child), f"{resource}.{field} {child['id']}"


def test_invoices_are_consistent_with_their_lines_and_payments(small_world):
    charges_by_pi = defaultdict(list)
    for charge in stripe_objects(small_world, "charges"):
        charges_by_pi[charge["payment_intent"]].append(charge)
    invoices = stripe_objects(small_world, "invoices")
    for inv in invoices:
        lines = inv["lines"]["data"]
        assert lines and inv["lines"]["url"] == f"/v1/invoices/{inv['id']}/lines"
        assert inv["period_start"] <= inv["period_end"]
        subtotal = sum(line["amount"] for line in lines)
        discounts = sum(d["amount"] for line in lines for d in line["discount_amounts"])
        exclusive = sum(
            t["amount"] for line in lines for t in line["taxes"] if t["tax_behavior"] == "exclusive"
        )
        assert inv["subtotal"] == subtotal
        assert inv["total"] == subtotal - discounts + exclusive
        assert sum(d["amount"] for d in inv["total_discount_amounts"]) == discounts
        assert inv["amount_due"] == max(inv["total"], 0)
        for line in lines:
            assert line["period"]["start"] <= line["period"]["end"]
            assert line["invoice"] == inv["id"]
            assert line["currency"] == inv["currency"]
        if inv["parent"]:
            subscription = inv["parent"]["subscription_details"]["subscription"]
            assert subscription.startswith("sub_")
        paid = [c for c in charges_by_pi.get(f"pi_{inv['id'][3:]}", []) if c["paid"]]
        if inv["status"] == "paid" and inv["amount_due"] > 0:
            assert [c["amount"] for c in paid] == [inv["amount_due"]]
        if inv["status"] in ("open", "uncollectible"):
            assert paid == []
    for sub in stripe_objects(small_world, "subscriptions"):
        for item in sub["items"]["data"]:
            assert item["current_period_start"] < item["current_period_end"]
        if sub["status"] == "canceled":
            assert sub["ended_at"] is not None and sub["canceled_at"] is not None
        assert sub["ended_at"] is None or sub["ended_at"] >= sub["start_date"]
    charges = {c["id"]: c for c in stripe_objects(small_world, "charges")}
    for refund in stripe_objects(small_world, "refunds"):
        charge = charges[refund["charge"]]
        assert 0 < refund["amount"] <= charge["amount_refunded"] <= charge["amount"]
    by_invoice = {inv["id"]: inv for inv in invoices}
    for note in stripe_objects(small_world, "credit_notes"):
        assert 0 < note["amount"] <= by_invoice[note["invoice"]]["total"]


def test_the_world_contains_every_case_the_mrr_rules_name(small_world):
    invoices = stripe_objects(small_world, "invoices")
    lines = [line for inv in invoices for line in inv["lines"]["data"]]
    prices = {p["id"]: p for p in stripe_objects(small_world, "prices")}
    subscriptions = stripe_objects(small_world, "subscriptions")
    statuses = Counter(s["status"] for s in subscriptions)
    assert {"active", "canceled", "trialing", "past_due"} <= set(statuses), statuses
    archived = {p for p, price in prices.items() if not price["active"]}
    used = {line["pricing"]["price_details"]["price"] for line in lines}
    assert archived & used, "archived prices still appear on invoices"
    assert any(len(inv["lines"]["data"]) > 10 for inv in invoices)
    details = [
        line["parent"]["subscription_item_details"]
        for line in lines
        if line["parent"]["type"] == "subscription_item_details"
    ]
    assert any(d["proration"] for d in details), "proration lines"
    assert any(line["amount"] == 0 and "Trial" in line["description"] for line in lines)
    assert any(line["parent"]["type"] == "invoice_item_details" for line in lines)
    assert any(
        prices[line["pricing"]["price_details"]["price"]]["recurring"]
        and prices[line["pricing"]["price_details"]["price"]]["recurring"]["usage_type"]
        == "metered"
        for line in lines
    )
    behaviours = {t["tax_behavior"] for line in lines for t in line["taxes"]}
    assert behaviours == {"inclusive", "exclusive"}
    assert any(line["discount_amounts"] for line in lines)
    intervals = {
        (p["recurring"]["interval"], p["recurring"]["interval_count"])
        for p in prices.values()
        if p["recurring"]
    }
    assert {("month", 1), ("month", 3), ("year", 1)} <= intervals
    assert stripe_objects(small_world, "refunds") and stripe_objects(small_world, "credit_notes")
    assert any(not c["paid"] for c in stripe_objects(small_world, "charges"))
    assert {s["id"][-2:] for s in subscriptions} & {"R1", "R2"}, "reactivations"
    customers = stripe_objects(small_world, "customers")
    linked = [c for c in customers if "app_user_id" in c["metadata"]]
    assert 0 < len(linked) < len(customers), "app users and Stripe-only customers"
    movements = Counter(m["movement_type"] for m in truth(small_world, "mrr_movements"))
    assert set(movements) == {"new", "expansion", "contraction", "churn", "reactivation"}
    gateways = Counter(c["gateway"] for c in truth(small_world, "customers"))
    assert set(gateways) == {"stripe", "paypal", "egypay"}
    with sqlite3.connect(small_world / "app.sqlite") as conn:
        kinds = dict(
            conn.execute("SELECT product_type, count(*) FROM transactions GROUP BY 1").fetchall()
        )
        currencies = {r[0] for r in conn.execute("SELECT DISTINCT currency FROM transactions")}
    assert set(kinds) == {"subscription", "credit_pack"}
    assert currencies == {"USD", "EUR", "EGP"}


def test_ground_truth_is_internally_consistent(small_world):
    changes = truth(small_world, "mrr_changes")
    movements = truth(small_world, "mrr_movements")
    customers = {c["customer_id"]: c for c in truth(small_world, "customers")}
    subscriptions = truth(small_world, "subscriptions")
    assert len(movements) > 100
    # each customer's MRR is the sum of its movements and FX adjustments, to the 1/100 cent
    running = defaultdict(Decimal)
    for row in changes:
        running[row["customer_id"]] += money(row["mrr_change"]) + money(row["fx_adjustment"])
        assert running[row["customer_id"]] == money(row["mrr_reporting"]), row
    for customer_id, customer in customers.items():
        assert running[customer_id] == money(customer["current_mrr"]), customer_id
    for move in movements:
        before, after, change = (money(move[k]) for k in ("mrr_before", "mrr_after", "mrr_change"))
        assert after == before + change
        expected = {
            "new": (before == 0 and after > 0),
            "reactivation": (before == 0 < after),
            "churn": (before > 0 and after == 0),
            "expansion": (0 < before < after),
            "contraction": (0 < after < before),
        }[move["movement_type"]]
        assert expected, move
    # the MRR it reports equals its subscriptions' recurring amounts after discounts
    by_customer = defaultdict(Decimal)
    for sub in subscriptions:
        by_customer[sub["customer_id"]] += money(sub["current_mrr"])
    for customer_id, customer in customers.items():
        assert by_customer[customer_id] == money(customer["current_mrr_original"]), customer_id
        paying = money(customer["current_mrr"]) > 0
        assert paying == (customer["status"] in ("active", "past_due")), customer
    total = sum(money(c["current_mrr"]) for c in customers.values())
    summary = orjson.loads((small_world / "ground_truth" / "summary.json").read_bytes())
    assert Decimal(summary["mrr_usd"]) == total.quantize(Decimal("0.01"))
    assert summary["paying_customers"] == sum(
        1 for c in customers.values() if money(c["current_mrr"]) > 0
    )


def test_ground_truth_matches_subscription_state_in_stripe(small_world):
    """Independent check of one rule set: for USD Stripe customers with one active
    subscription never discounted, MRR is unit amount x quantity normalised to a month."""
    truth_by_customer = {c["stripe_customer_id"]: c for c in truth(small_world, "customers")}
    discounted = {
        inv["parent"]["subscription_details"]["subscription"]
        for inv in stripe_objects(small_world, "invoices")
        if inv["parent"] and inv["total_discount_amounts"]
    }
    checked = 0
    by_customer = defaultdict(list)
    for sub in stripe_objects(small_world, "subscriptions"):
        if sub["status"] in ("active", "past_due"):
            by_customer[sub["customer"]].append(sub)
    for customer_id, subs in by_customer.items():
        if len(subs) != 1 or subs[0]["currency"] != "usd" or subs[0]["id"] in discounted:
            continue
        item = subs[0]["items"]["data"][0]
        recurring = item["price"]["recurring"]
        months = recurring["interval_count"] * (12 if recurring["interval"] == "year" else 1)
        expected = Decimal(item["price"]["unit_amount"] * item["quantity"]) / 100 / months
        assert money(truth_by_customer[customer_id]["current_mrr"]) == expected.quantize(
            Decimal("0.0001")
        ), customer_id
        checked += 1
    assert checked > 30


def test_cost_sheets_follow_the_contract_in_csv_and_xlsx(small_world):
    folder = small_world / "cost_sheets"
    csv_files = sorted((folder / "finance").glob("*.csv"))
    xlsx_files = sorted((folder / "marketing").glob("*.xlsx"))
    assert len(csv_files) >= 24 and len(xlsx_files) >= 2
    allowed = {
        "marketing",
        "advertising",
        "sales",
        "infrastructure",
        "personnel",
        "payment_fees",
        "support",
        "cogs",
        "other",
    }
    header = ["cost_date", "cost_type", "amount", "currency", "channel", "description"]
    rows = []
    for path in csv_files:
        lines = path.read_text().splitlines()
        assert lines[0].split(",") == header
        rows += [line.split(",") for line in lines[1:]]
    for path in xlsx_files:
        sheet = load_workbook(path, read_only=True)["spend"]
        values = list(sheet.iter_rows(values_only=True))
        assert list(values[0]) == header
        rows += [[str(v) if v is not None else "" for v in row] for row in values[1:]]
    types = Counter(row[1] for row in rows)
    assert set(types) == allowed, types
    for row in rows:
        date.fromisoformat(row[0][:10])
        assert Decimal(row[2]) > 0 and row[3] in {c.upper() for c in ALL_CURRENCIES}
    channels = {row[4] for row in rows if row[1] == "advertising"}
    assert channels == {"paid_search", "paid_social"}


def test_fx_rates_cover_every_day_and_currency(small_world):
    lines = (small_world / "fx_rates.csv").read_text().splitlines()
    assert lines[0] == "date,currency,rate"
    rows = [line.split(",") for line in lines[1:]]
    days = (AS_OF - START).days + 1
    assert len(rows) == days * len(ALL_CURRENCIES)
    assert {r[0] for r in rows} == {(START + timedelta(days=i)).isoformat() for i in range(days)}
    for _day, currency, rate in rows:
        assert Decimal(rate) > 0
        if currency == "USD":
            assert Decimal(rate) == 1


def test_app_database_tables_and_links(small_world):
    with sqlite3.connect(small_world / "app.sqlite") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {
            "plans",
            "accounts",
            "users",
            "transactions",
            "usage_daily",
            "activation_events",
            "support_tickets",
            "nps_responses",
        }
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            assert "updated_at" in columns, table
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, table
        orphans = conn.execute("""SELECT count(*) FROM users u LEFT JOIN accounts a
                                  USING (account_id) WHERE a.account_id IS NULL""").fetchone()
        assert orphans == (0,)
        linked = dict(
            conn.execute("""SELECT stripe_customer_id, owner_user_id FROM accounts
                                      WHERE stripe_customer_id IS NOT NULL""").fetchall()
        )
        gateways = {r[0] for r in conn.execute("SELECT DISTINCT gateway FROM transactions")}
    assert gateways == {"paypal", "egypay"}
    for customer in stripe_objects(small_world, "customers"):
        user = customer["metadata"].get("app_user_id")
        if user:
            assert linked[customer["id"]] == user


@pytest.mark.parametrize("scale", ["medium", "large"])
def test_scales_are_defined(scale):
    from sandbox.world.catalog import SCALES

    assert SCALES[scale].accounts in (20_000, 200_000) and SCALES[scale].years == 3
