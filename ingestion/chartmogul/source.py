"""What one load reads from ChartMogul, as contract rows and rejects, and the dlt source
that writes them to `raw_chartmogul`:

- `account`: the account (its currency), replaced;
- `mrr_metrics`: the MRR series, daily over the compared days and monthly for the month
  ends, merged on (bucket, date) (a re-read replaces; ChartMogul restates history);
- `customers`: every customer with its current MRR, replaced (a snapshot);
- `chartmogul_rejects`: objects that broke their contract, replaced.

Every row carries the as-of date the load read ChartMogul for, so the reconciliation marts
compare only what was read for their as-of date."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime

import dlt

from .. import contracts
from .client import ChartMogulClient
from .settings import Window

DATASET = "raw_chartmogul"
TABLES = ("account", "mrr_metrics", "customers")
REJECTS_TABLE = "chartmogul_rejects"


def contract(table: str) -> contracts.Contract:
    return contracts.load(DATASET, table)


@dataclass
class ChartMogulRead:
    """Rows that keep their contract, per table, and the rejects."""

    as_of: date | None = None
    read_at: datetime | None = None
    rows: dict[str, list[dict]] = field(default_factory=lambda: {t: [] for t in TABLES})
    rejects: list[dict] = field(default_factory=list)

    def add(self, table: str, row: dict) -> None:
        row = {**row, "as_of": self.as_of, "read_at": self.read_at}
        spec = contract(table)
        reasons = spec.check_typed(row)
        if not reasons:
            self.rows[table].append(row)
            return
        raw = json.dumps(row, default=str, sort_keys=True)
        self.rejects.append(
            {
                "reject_id": hashlib.sha1(f"{table}\n{raw}".encode()).hexdigest(),
                "table_name": table,
                "record_key": "|".join(str(row.get(k)) for k in spec.primary_key),
                "reasons": "; ".join(reasons),
                "raw_row": raw,
                "loaded_at": self.read_at,
            }
        )


def read_chartmogul(client: ChartMogulClient, window: Window, read_at: datetime) -> ChartMogulRead:
    """Read the account, the MRR series of `window` and every customer (raises
    ChartMogulError subclasses when ChartMogul cannot be read)."""
    read = ChartMogulRead(as_of=window.as_of, read_at=read_at)
    account = client.account_info()
    read.add(
        "account",
        {
            "account_id": account.account_id,
            "name": account.name,
            "currency": account.currency,
            "time_zone": account.time_zone,
        },
    )
    series = [("day", window.first_day, window.as_of)]
    if window.month_range is not None:
        series.append(("month", *window.month_range))
    for bucket, start, end in series:
        for entry in client.mrr_entries(start, end, bucket):
            read.add(
                "mrr_metrics",
                {
                    "bucket": bucket,
                    "date": entry.date,
                    "mrr": entry.mrr_cents,
                    "mrr_new_business": entry.new_business_cents,
                    "mrr_expansion": entry.expansion_cents,
                    "mrr_contraction": entry.contraction_cents,
                    "mrr_churn": entry.churn_cents,
                    "mrr_reactivation": entry.reactivation_cents,
                },
            )
    for customer in client.customers():
        read.add(
            "customers",
            {
                "uuid": customer.uuid,
                "external_id": customer.external_id,
                "name": customer.name,
                "email": customer.email,
                "mrr": customer.mrr_cents,
                "currency": customer.currency,
            },
        )
    return read


def _hints(table: str, disposition: str) -> dict:
    spec = contract(table)
    write = (
        {"disposition": "merge", "strategy": "delete-insert"}
        if disposition == "merge"
        else "replace"
    )
    return {
        "table_name": spec.table,
        "columns": spec.dlt_columns(),
        "primary_key": list(spec.primary_key),
        "write_disposition": write,
        "schema_contract": spec.schema_contract,
    }


@dlt.source(name="chartmogul", max_table_nesting=0)
def chartmogul_source(read: ChartMogulRead):
    """The tables of one read (see the module's docstring)."""

    @dlt.resource(name="account", **_hints("account", "replace"))
    def account():
        yield read.rows["account"]

    @dlt.resource(name="mrr_metrics", **_hints("mrr_metrics", "merge"))
    def mrr_metrics():
        yield read.rows["mrr_metrics"]

    @dlt.resource(name="customers", **_hints("customers", "replace"))
    def customers():
        yield read.rows["customers"]

    @dlt.resource(name=REJECTS_TABLE, **_hints(REJECTS_TABLE, "replace"))
    def chartmogul_rejects():
        yield read.rejects

    return account, mrr_metrics, customers, chartmogul_rejects
