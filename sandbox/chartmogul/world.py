"""Load the simulated business into the stand-in, as if it had been imported into
ChartMogul: every customer with its MRR series from the world's ground truth (reporting
currency, rates of each service-period start, MRR_RULES.md) and names and e-mails from the
app database or Stripe. External ids are the ground truth's customer ids, which are the
warehouse's `dim_customers.customer_id`, so a per-customer comparison matches them."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from .store import MOVEMENT_NAMES, Step, Store

DATA_SOURCE_NAME = "Sandbox billing (imported)"


def _contacts(world: Path) -> dict[str, tuple[str, str]]:
    """account_id or stripe customer id -> (name, email)."""
    contacts: dict[str, tuple[str, str]] = {}
    stripe_customers = world / "stripe" / "customers.jsonl"
    if stripe_customers.exists():
        with stripe_customers.open("rb") as lines:
            for line in lines:
                customer = json.loads(line)
                contacts[customer["id"]] = (customer.get("name") or "", customer.get("email") or "")
    app_db = world / "app.sqlite"
    if app_db.exists():
        with sqlite3.connect(f"file:{app_db}?mode=ro", uri=True) as con:
            rows = con.execute(
                "select a.account_id, a.name, u.email from accounts a "
                "left join users u on u.user_id = a.owner_user_id"
            )
            for account_id, name, email in rows:
                contacts[account_id] = (name or "", email or "")
    return contacts


def _moment(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def load_fx_rates(path: str | Path) -> dict[tuple[str, date], Decimal]:
    """A `date,currency,rate` CSV (1 unit of the currency = rate USD), as a world's
    fx_rates.csv: (CURRENCY, day) -> rate."""
    path = Path(path)
    rates: dict[tuple[str, date], Decimal] = {}
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if not {"date", "currency", "rate"} <= set(reader.fieldnames or ()):
            raise ValueError(f"{path}: expected the columns date,currency,rate")
        for line, row in enumerate(reader, start=2):
            try:
                day = date.fromisoformat(row["date"])
                rate = Decimal(row["rate"])
            except (ValueError, ArithmeticError):
                raise ValueError(f"{path}:{line}: not a date and a rate: {row}") from None
            if not rate.is_finite() or rate <= 0:
                raise ValueError(f"{path}:{line}: the rate must be a positive number")
            rates[(row["currency"].strip().upper(), day)] = rate
    return rates


def load_world(
    world: str | Path,
    *,
    as_of: date | None = None,
    fx_rates: Mapping[tuple[str, date], Decimal] | None = None,
) -> Store:
    """The world's customers with their ground-truth MRR series; `fx_rates` replaces the
    world's fx_rates.csv (used for invoices imported on top)."""
    world = Path(world)
    truth = world / "ground_truth"
    if not (truth / "customers.csv").exists():
        raise FileNotFoundError(f"no ground truth in {world} (expected {truth}/customers.csv)")
    summary = json.loads((truth / "summary.json").read_text())
    fx = fx_rates
    if fx is None and (world / "fx_rates.csv").exists():
        fx = load_fx_rates(world / "fx_rates.csv")
    store = Store(as_of=as_of or date.fromisoformat(summary["as_of"]), fx_rates=fx)
    source = store.create_data_source(
        DATA_SOURCE_NAME, created_at=datetime.fromisoformat(summary["start"])
    )
    series: dict[str, list[Step]] = defaultdict(list)
    with (truth / "mrr_changes.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            series[row["customer_id"]].append(
                Step(
                    date.fromisoformat(row["date"]),
                    Decimal(row["mrr_reporting"]),
                    MOVEMENT_NAMES.get(row["movement_type"]),
                    Decimal(row["mrr_change"]),
                )
            )
    contacts = _contacts(world)
    with (truth / "customers.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            name, email = contacts.get(row["account_id"]) or contacts.get(
                row["stripe_customer_id"], ("", "")
            )
            store.seed_customer(
                source.uuid,
                row["customer_id"],
                series.get(row["customer_id"], []),
                name=name,
                email=email,
                company=name,
                country=row["country"] or None,
                lead_created_at=_moment(row["signed_up_at"]),
                free_trial_started_at=_moment(row["trial_started_at"]),
            )
    return store
