"""Reading marts for comparisons: every row of a mart as text, in key order."""

from __future__ import annotations

# mart -> its key, for ordering rows
MARTS = {
    "fct_mrr_movements": "movement_id",
    "fct_mrr_monthly": "customer_month_id",
    "mrr_summary_daily": "summary_date",
    "mrr_summary_monthly": "month",
    "dim_customers": "customer_id",
    "fct_revenue": "revenue_id",
    "customer_health": "customer_id",
    "cohort_customer_segments": "customer_segment_id",
    "cohort_retention_monthly": "cohort_segment_month_id",
    "cohort_revenue_monthly": "cohort_segment_month_id",
    "activation_monthly": "month",
    "usage_daily_by_plan": "plan_day_id",
    "usage_expansion_opportunities": "account_month_id",
    "unit_economics_monthly": "month, segment",
    "clv_segments_monthly": "segment_month_id",
    "clv_by_plan": "segment",
    "clv_by_channel": "segment",
    "fct_customer_value": "customer_id",
    "customer_segments": "segment",
    "kpis": "kpi_id",
    "chartmogul_export_customers": "external_id",
    "chartmogul_export_plans": "external_id",
    "chartmogul_export_invoices": "external_id",
    "chartmogul_export_line_items": "external_id",
    "chartmogul_export_transactions": "external_id",
    "chartmogul_export_cancellations": "subscription_external_id, cancelled_at",
}


def mart_rows(connection, mart: str, columns: list[str]) -> list[tuple[str, ...]]:
    """Rows as strings so DuckDB and PostgreSQL values compare exactly (DECIMAL as text)."""
    cursor = connection.cursor()
    cursor.execute(f"select {', '.join(columns)} from marts.{mart} order by {MARTS[mart]}")
    return [tuple("" if v is None else str(v) for v in row) for row in cursor.fetchall()]


def mart_columns(duckdb_connection, mart: str) -> list[str]:
    return [
        name
        for (name,) in duckdb_connection.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = ? order by ordinal_position",
            [mart],
        ).fetchall()
    ]
