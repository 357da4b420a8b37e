"""The reconciliation in Dagster, in-process, against the ChartMogul stand-in holding the
small world's business, with a local Slack webhook receiver and SMTP server: the ChartMogul
load, the reconciliation's dbt models and the check `mrr_within_threshold` on the mart.
Within 0.5 % the check passes and nobody is alerted; 2 % off the check fails (ERROR) and each
sink gets one alert naming the customers behind the gap; a ChartMogul answering 5xx is
retried, then the run fails clearly and the run-failure sensor alerts."""

from decimal import Decimal

import duckdb
import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    DagsterEventType,
    DagsterInstance,
    build_run_status_sensor_context,
    materialize,
)

from alerts.reconciliation import CHECK_NAME
from orchestration.defs.alerts.sensors import alert_on_run_failure, failed_check_alerts
from orchestration.defs.chartmogul.assets import (
    LOAD_NAME,
    chartmogul_load,
    mrr_within_threshold,
    reconciliation_models,
)
from orchestration.defs.resources import run_resources
from orchestration.lib.resources import AlertsResource, ChartMogulResource, RunSettingsResource
from sandbox.chartmogul import ChartMogulStandIn
from tests.conftest import AS_OF, CHARTMOGUL_TEST_KEY
from tests.receivers import alert_sinks, smtp_server, webhook  # noqa: F401


@pytest.fixture
def warehouse(small_warehouse_copy):
    return small_warehouse_copy


@pytest.fixture
def largest_customers(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select customer_id from marts.dim_customers order by current_mrr desc, customer_id limit 2"
        ).fetchall()
    return [r[0] for r in rows]


def _standin(small_world, drift_percent=0, drift_customers=None) -> ChartMogulStandIn:
    return ChartMogulStandIn(
        small_world,
        as_of=AS_OF,
        api_key=CHARTMOGUL_TEST_KEY,
        drift_percent=drift_percent,
        drift_customers=drift_customers,
    )


def _materialize(warehouse, standin, instance, **chartmogul):
    """The ChartMogul load, the reconciliation's dbt models and the check."""
    return materialize(
        [chartmogul_load, reconciliation_models, mrr_within_threshold],
        resources=run_resources(
            run_settings=RunSettingsResource(warehouse=str(warehouse), as_of=AS_OF.isoformat()),
            chartmogul=ChartMogulResource(
                api_key=CHARTMOGUL_TEST_KEY, api_base=standin.url, **chartmogul
            ),
            alerts=AlertsResource(),
        ),
        instance=instance,
        raise_on_error=False,
    )


def _check(result):
    # the dbt tests of the models report as checks too
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_NAME]
    return evaluation


def test_within_half_a_percent_passes_without_alert(
    small_world,
    warehouse,
    largest_customers,
    alert_sinks,  # noqa: F811
):
    hook, smtp = alert_sinks
    with (
        DagsterInstance.ephemeral() as instance,
        _standin(small_world, 0.5, largest_customers) as standin,
    ):
        result = _materialize(warehouse, standin, instance)
    assert result.success
    evaluation = _check(result)
    assert evaluation.passed, evaluation.description
    assert hook.requests == [] and smtp.messages == []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        statuses = con.execute(
            "select status, count(*) from marts.chartmogul_reconciliation where as_of = ? group by 1",
            [AS_OF],
        ).fetchall()
        worst = con.execute(
            "select max(abs(variance_percent)) from marts.chartmogul_reconciliation where as_of = ?",
            [AS_OF],
        ).fetchone()[0]
    assert statuses == [("ok", 30 + 12)]
    # ours is 0.5 % below ChartMogul's, to the rounding of the stored percent
    assert Decimal("0.49") <= worst <= Decimal("0.51")


def test_two_percent_off_fails_the_check_and_alerts_each_sink_once(
    small_world,
    warehouse,
    largest_customers,
    alert_sinks,  # noqa: F811
):
    hook, smtp = alert_sinks
    with (
        DagsterInstance.ephemeral() as instance,
        _standin(small_world, 2, largest_customers) as standin,
    ):
        result = _materialize(warehouse, standin, instance)
        assert result.success  # the asset materialized; its check failed
        evaluation = _check(result)
        assert not evaluation.passed
        assert evaluation.severity == AssetCheckSeverity.ERROR
        # the check alerted on its own: the check-failure sensor does not alert again
        check_key = AssetCheckKey(evaluation.asset_key, evaluation.check_name)
        alerts, seen = failed_check_alerts(instance, [check_key], {})
        assert alerts == [] and check_key.to_user_string() in seen

    assert len(hook.requests) == 1
    assert len(smtp.messages) == 1
    posted = str(hook.requests[0]["json"])
    mailed = smtp.messages[0].get_content()
    for text in (posted, mailed):
        assert AS_OF.isoformat() in text
        for customer in largest_customers:
            assert customer in text
    with duckdb.connect(str(warehouse), read_only=True) as con:
        top = con.execute(
            "select customer_id from marts.chartmogul_reconciliation_customers "
            "where as_of = ? order by rank limit 2",
            [AS_OF],
        ).fetchall()
        ours, theirs = con.execute(
            "select our_mrr, chartmogul_mrr from marts.chartmogul_reconciliation "
            "where as_of = ? and metric_date = ?",
            [AS_OF, AS_OF],
        ).fetchone()
    assert sorted(r[0] for r in top) == sorted(largest_customers)
    assert ours == Decimal("25266.99")
    assert abs(theirs - ours * Decimal("1.02")) <= Decimal("0.02")
    # the numbers are in the alert
    assert "25,266.99" in mailed or "25266.99" in mailed


def test_chartmogul_answering_5xx_is_retried_then_fails_clearly_and_alerts(
    small_world,
    warehouse,
    alert_sinks,  # noqa: F811
):
    hook, smtp = alert_sinks
    with (
        DagsterInstance.ephemeral() as instance,
        _standin(small_world) as standin,
    ):
        standin.set_behaviour(fail_next=1000, fail_status=503)
        result = _materialize(warehouse, standin, instance, max_attempts=3, timeout_seconds=5)
        assert not result.success
        assert standin.requests.count() == 3  # the first call, retried twice, then given up
        [failure] = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
        description = failure.event_specific_data.user_failure_data.description
        assert "ChartMogul reconciliation could not run" in description
        assert "after 3 attempts" in description and "HTTP 503" in description
        assert CHARTMOGUL_TEST_KEY not in description

        # the run-failure sensor turns the failed run into an alert
        run = instance.get_run_by_id(result.run_id)
        failure_event = result.get_run_failure_event()
        context = build_run_status_sensor_context(
            sensor_name="alert_on_run_failure",
            dagster_event=failure_event,
            dagster_instance=instance,
            dagster_run=run,
            resources={"alerts": AlertsResource()},
        ).for_run_failure()
        alert_on_run_failure(context)

    assert len(hook.requests) == 1 and len(smtp.messages) == 1
    mailed = smtp.messages[0].get_content()
    assert "HTTP 503" in mailed and LOAD_NAME in mailed
