"""The alerts' content: the subject and plain-text body name everything a reader needs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from alerts import (
    AlertKind,
    Severity,
    check_failure_alert,
    reconciliation_alert,
    run_failure_alert,
)

TOP = [
    {
        "customer_id": "cus_A1",
        "name": "Acme GmbH",
        "our_mrr": "500.00",
        "chartmogul_mrr": "460.5",
        "variance": "39.50",
    },
    # an object (as the reconciliation returns them) without a variance of its own
    SimpleNamespace(
        customer_id="cus_B2",
        customer_name="Beta & <Co>",
        our_mrr=Decimal("0"),
        chartmogul_mrr=Decimal("6.17"),
    ),
]


def reconciliation(**overrides):
    args = {
        "currency": "EUR",
        "threshold_percent": Decimal("1.0"),
        "top_customers": TOP,
        "days_over_threshold": 3,
    } | overrides
    return reconciliation_alert(
        date(2026, 11, 15), date(2026, 11, 14), Decimal("12345.67"), Decimal("12000"), **args
    )


def test_reconciliation_text_names_date_numbers_variance_threshold_and_customers():
    alert = reconciliation()
    assert alert.kind is AlertKind.RECONCILIATION and alert.severity is Severity.ERROR
    text = alert.text()
    for expected in (
        "2026-11-14",
        "12345.67 EUR",
        "12000.00 EUR",
        "+345.67 EUR",
        "+2.88%",
        "1.0%",
        "3 days",
        "cus_A1 Acme GmbH: ours 500.00 EUR, ChartMogul 460.50 EUR, variance +39.50 EUR",
        "cus_B2 Beta & <Co>: ours 0.00 EUR, ChartMogul 6.17 EUR, variance -6.17 EUR",
    ):
        assert expected in text, expected
    assert dict(alert.fields)["Variance %"] == "+2.88%"
    assert [label for label, _ in alert.fields][:2] == ["Date", "As of"]


def test_reconciliation_keeps_every_digit_and_handles_zero_chartmogul():
    alert = reconciliation_alert(
        date(2026, 11, 15),
        date(2026, 11, 15),
        Decimal("10.125"),
        Decimal("0"),
        currency="USD",
        threshold_percent=Decimal("0.5"),
    )
    fields = dict(alert.fields)
    assert fields["Our MRR"] == "10.125 USD"
    assert fields["Variance"] == "+10.125 USD"
    assert fields["Variance %"] == "n/a"
    assert "Top customers" not in alert.text()


def test_subject_and_body_make_the_text_every_destination_shows():
    alert = check_failure_alert(
        "not_null_dim_customers_customer_id",
        "dim_customers",
        "3 rows with a null customer_id",
        metadata={f"key_{i}": "v" * 3000 for i in range(12)},
        severity=Severity.WARNING,
    )
    assert alert.subject == (
        "[revwh WARNING] Check failed: dim_customers not_null_dim_customers_customer_id"
    )
    assert alert.text() == f"{alert.subject}\n\n{alert.body()}"
    body = alert.body().splitlines()
    assert body[0] == (
        "not_null_dim_customers_customer_id on dim_customers failed: 3 rows with a null customer_id"
    )
    assert body[2:5] == [
        "Asset: dim_customers",
        "Check: not_null_dim_customers_customer_id",
        "Severity: warning",
    ]
    # metadata values are clipped, one line each
    assert len(body) == 2 + 15 and all(len(line) <= 510 for line in body[5:])

    rec = reconciliation().body()
    assert "Top customers by variance:\n- cus_A1 Acme GmbH" in rec
    assert "Beta & <Co>" in rec  # plain text: apprise escapes for each destination


def test_run_failure_alert():
    alert = run_failure_alert(
        "daily_refresh",
        "4f2c-run",
        "dbt build failed: 2 tests\n",
        failed_steps=["dbt_models", "reconcile"],
        url="http://dagster.local/runs/4f2c-run",
    )
    assert alert.kind is AlertKind.RUN_FAILURE
    assert alert.title == "Run failed: daily_refresh"
    assert dict(alert.fields) == {
        "Job": "daily_refresh",
        "Run": "4f2c-run",
        "Failed steps": "dbt_models, reconcile",
        "Run URL": "http://dagster.local/runs/4f2c-run",
    }
    assert "dbt build failed: 2 tests" in alert.text()
    assert alert.subject.startswith("[revwh ERROR]")
