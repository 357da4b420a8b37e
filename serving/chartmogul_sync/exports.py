"""The marts the sync reads (`marts.chartmogul_export_*`, built by dbt: exactly what
ChartMogul is sent) and the sync's own state, in one short read-only connection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.warehouse import Warehouse

from .state import StateRow, placeholder, read_state

EXPORT_SCHEMA = "marts"
# table -> the columns the sync needs (others are ignored)
EXPORT_TABLES: dict[str, tuple[str, ...]] = {
    "chartmogul_export_plans": (
        "external_id",
        "name",
        "interval_unit",
        "interval_count",
        "currency",
    ),
    "chartmogul_export_customers": (
        "external_id",
        "name",
        "email",
        "company",
        "country",
        "city",
        "lead_created_at",
        "free_trial_started_at",
        "billing_currency",
        "acquisition_channel",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "billing_gateway",
        "plan",
        "health_score",
        "health_band",
        "seats",
    ),
    "chartmogul_export_invoices": (
        "external_id",
        "customer_external_id",
        "gateway",
        "currency",
        "invoice_date",
        "due_date",
    ),
    "chartmogul_export_line_items": (
        "external_id",
        "invoice_external_id",
        "customer_external_id",
        "line_type",
        "plan_external_id",
        "subscription_external_id",
        "subscription_set_external_id",
        "service_period_start",
        "service_period_end",
        "quantity",
        "amount_in_cents",
        "discount_amount_in_cents",
        "tax_amount_in_cents",
        "prorated",
        "description",
    ),
    "chartmogul_export_transactions": (
        "external_id",
        "invoice_external_id",
        "customer_external_id",
        "transaction_type",
        "result",
        "transaction_date",
        "amount_in_cents",
    ),
    "chartmogul_export_cancellations": (
        "subscription_external_id",
        "customer_external_id",
        "cancelled_at",
    ),
}
ORDER = {
    "chartmogul_export_line_items": "invoice_external_id, external_id",
    "chartmogul_export_cancellations": "subscription_external_id, cancelled_at",
}


class ExportTablesMissing(RuntimeError):
    """The export marts are not in the warehouse: the models were not built."""


@dataclass
class SyncInputs:
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    state: dict[tuple[str, str], StateRow] = field(default_factory=dict)

    def rows(self, short_name: str) -> list[dict[str, Any]]:
        return self.tables[f"chartmogul_export_{short_name}"]


def _columns_of(con, warehouse: Warehouse, table: str) -> set[str]:
    mark = placeholder(warehouse)
    cursor = con.cursor()
    try:
        cursor.execute(
            "select column_name from information_schema.columns "
            f"where table_schema = {mark} and table_name = {mark}",
            (EXPORT_SCHEMA, table),
        )
        return {str(r[0]).lower() for r in cursor.fetchall()}
    finally:
        cursor.close()


def read_inputs(warehouse: Warehouse) -> SyncInputs:
    """Every export table's rows (as dicts) and the sync's state. Raises
    ExportTablesMissing naming what to build when a table or column is not there."""
    if not warehouse.is_postgres and not warehouse.path.is_file():
        raise ExportTablesMissing(
            f"no warehouse at {warehouse}: run the pipeline first (`revwh run`)"
        )
    inputs = SyncInputs()
    with warehouse.connect(read_only=True) as con:
        missing = []
        for table, needed in EXPORT_TABLES.items():
            present = _columns_of(con, warehouse, table)
            if not present:
                missing.append(f"{EXPORT_SCHEMA}.{table}")
                continue
            lacking = [c for c in needed if c not in present]
            if lacking:
                raise ExportTablesMissing(
                    f"{EXPORT_SCHEMA}.{table} in {warehouse} lacks {', '.join(lacking)}: "
                    "rebuild the models (`revwh run`)"
                )
        if missing:
            raise ExportTablesMissing(
                f"{warehouse} has no {', '.join(missing)}: run the pipeline first "
                "(`revwh run`), which builds what ChartMogul is sent"
            )
        for table, needed in EXPORT_TABLES.items():
            order = ORDER.get(table, "external_id")
            cursor = con.cursor()
            try:
                cursor.execute(
                    f"select {', '.join(needed)} from {EXPORT_SCHEMA}.{table} order by {order}"
                )
                rows = cursor.fetchall()
                inputs.tables[table] = [dict(zip(needed, r, strict=True)) for r in rows]
            finally:
                cursor.close()
        inputs.state = read_state(con, warehouse)
    return inputs
