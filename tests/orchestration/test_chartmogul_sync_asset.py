"""The ChartMogul sync in Dagster, materialized in-process on a real instance against an
empty ChartMogul stand-in, with the local Slack webhook receiver and SMTP server: the asset
reports its health as metadata (counts, requests, backlog); an object ChartMogul keeps
refusing is retried on the next runs and, after the third failed run, parked and alerted
once through the sinks; a ChartMogul that stops answering fails the step in one line. The
hourly and daily jobs run the sync after the export marts, and ChartMogul is read back for
the reconciliation only after it."""

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from orchestration.defs.chartmogul.assets import chartmogul_load
from orchestration.defs.chartmogul.sync import EXPORT_KEYS, chartmogul_sync
from orchestration.defs.resources import run_resources
from orchestration.defs.schedules import daily_job, hourly_job
from orchestration.lib.resources import AlertsResource, ChartMogulResource, RunSettingsResource
from sandbox.chartmogul import ChartMogulStandIn
from tests.conftest import AS_OF, CHARTMOGUL_TEST_KEY
from tests.receivers import alert_sinks, smtp_server, webhook  # noqa: F401


def _materialize(warehouse, standin, instance):
    return materialize(
        [chartmogul_sync],
        resources=run_resources(
            run_settings=RunSettingsResource(warehouse=str(warehouse), as_of=AS_OF.isoformat()),
            chartmogul=ChartMogulResource(
                api_key=CHARTMOGUL_TEST_KEY, api_base=standin.url, sync_requests_per_second=0
            ),
            alerts=AlertsResource(),
        ),
        instance=instance,
        raise_on_error=False,
    )


def _metadata(result) -> dict:
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_sync_reports_health_and_parks_what_keeps_failing_with_one_alert(
    small_warehouse_copy,
    small_world,
    alert_sinks,  # noqa: F811
):
    hook, smtp = alert_sinks
    warehouse = small_warehouse_copy
    with duckdb.connect(str(warehouse)) as con:
        customers = con.execute(
            "select count(*) from marts.chartmogul_export_customers"
        ).fetchone()[0]
        # a real ISO currency that this ChartMogul account has no exchange rate for: our
        # checks let it through, ChartMogul refuses it on every run
        [refused] = con.execute(
            "update marts.chartmogul_export_invoices set currency = 'CHF' "
            "where external_id = (select min(external_id) from marts.chartmogul_export_invoices) "
            "returning external_id"
        ).fetchall()
    with (
        DagsterInstance.ephemeral() as instance,
        ChartMogulStandIn(
            as_of=AS_OF, api_key=CHARTMOGUL_TEST_KEY, fx_rates=small_world / "fx_rates.csv"
        ) as standin,
    ):
        runs = [_materialize(warehouse, standin, instance) for _ in range(3)]
    assert all(run.success for run in runs)
    first, second, third = (_metadata(run) for run in runs)
    assert first["customer_created"] == customers
    assert first["invoice_failed"] == 1 and first["backlog_failed"] == 1
    assert first["requests"] > customers and first["requests_per_second"] > 0
    # the next runs send only the failing invoice again
    assert second["customer_created"] == 0 and second["invoice_failed"] == 1
    assert second["requests"] <= 3
    assert third["newly_parked"] == 1 and third["backlog_parked"] == 1
    assert third["backlog_failed"] == 0
    # one alert per sink, naming the invoice and ChartMogul's reason
    assert len(hook.requests) == 1 and len(smtp.messages) == 1
    for text in (str(hook.requests[0]["json"]), smtp.messages[0].get_content()):
        assert refused[0] in text and "CHF" in text
        assert CHARTMOGUL_TEST_KEY not in text
    with duckdb.connect(str(warehouse), read_only=True) as con:
        status = con.execute(
            "select status, failed_runs from chartmogul_sync.object_state "
            "where object_type = 'invoice' and external_id = ?",
            [refused[0]],
        ).fetchone()
        logged = con.execute(
            "select count(distinct run_id) from chartmogul_sync.sync_log"
        ).fetchone()
    assert status == ("parked", 3)
    assert logged == (3,)


def test_a_chartmogul_that_stops_answering_fails_the_step_in_one_line(small_warehouse_copy):
    with (
        DagsterInstance.ephemeral() as instance,
        ChartMogulStandIn(
            as_of=AS_OF, api_key=CHARTMOGUL_TEST_KEY, die_after_requests=20
        ) as standin,
    ):
        result = _materialize(small_warehouse_copy, standin, instance)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "ChartMogul sync failed" in message and "run the sync again" in message
    assert CHARTMOGUL_TEST_KEY not in message


@pytest.mark.parametrize("job", [hourly_job, daily_job], ids=["hourly", "daily"])
def test_the_scheduled_jobs_sync_after_the_export_marts_and_before_the_read_back(job):
    from orchestration.definitions import load

    selected = load().resolve_job_def(job.name).asset_layer.selected_asset_keys
    assert chartmogul_sync.key in selected
    assert set(EXPORT_KEYS) <= selected
    assert set(EXPORT_KEYS) == {
        dep.asset_key for dep in chartmogul_sync.specs_by_key[chartmogul_sync.key].deps
    }
    # ChartMogul is read back (for the reconciliation) after the sync
    for spec in chartmogul_load.specs:
        assert AssetKey("chartmogul_sync") in {dep.asset_key for dep in spec.deps}
    assert len(EXPORT_KEYS) == 6
