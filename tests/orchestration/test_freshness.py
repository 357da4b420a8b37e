"""Freshness: Dagster's FreshnessPolicy (a time window) on the raw Stripe tables and the MRR
marts, and the sensor that turns a FAIL state change into one alert, once."""

from datetime import timedelta

import pytest
from dagster import AssetKey, DagsterInstance, build_sensor_context
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

from orchestration.defs.alerts.sensors import alert_on_freshness_failure, freshness_failure_alerts
from orchestration.lib.freshness import FAIL_WINDOW, HOURLY, MRR_MARTS, WARN_WINDOW
from orchestration.lib.resources import AlertsResource
from tests.receivers import alert_sinks, smtp_server, webhook  # noqa: F401

STALE = AssetKey("mrr_summary_daily")


@pytest.fixture(scope="module")
def graph():
    from orchestration.definitions import load

    return load().resolve_asset_graph()


def test_policies_on_the_raw_stripe_tables_and_the_mrr_marts(graph):
    policies = {
        key.to_user_string(): graph.get(key).freshness_policy
        for key in graph.get_all_asset_keys()
        if graph.get(key).freshness_policy is not None
    }
    stripe = {
        k for k in graph.materializable_asset_keys if k.to_user_string().startswith("dlt_stripe_")
    }
    expected = {k.to_user_string() for k in stripe} - {"dlt_stripe_stripe_rejects"} | set(MRR_MARTS)
    assert set(policies) == expected
    assert {"dlt_stripe_invoices", "dlt_stripe_subscriptions", "mrr_summary_daily"} <= expected
    for policy in policies.values():
        assert policy == HOURLY
        assert policy.fail_window.to_timedelta() == FAIL_WINDOW == timedelta(hours=2, minutes=30)
        assert policy.warn_window.to_timedelta() == WARN_WINDOW


def change(key: AssetKey, new: FreshnessState, previous: FreshnessState, at: float):
    return FreshnessStateChange(
        key=key, new_state=new, previous_state=previous, state_change_timestamp=at
    )


def test_a_fail_state_change_sends_one_alert_once(alert_sinks):  # noqa: F811
    hook, smtp = alert_sinks
    with DagsterInstance.ephemeral() as instance:
        start = build_sensor_context(instance=instance, resources={"alerts": AlertsResource()})
        alert_on_freshness_failure(start)  # a new sensor starts from now
        for event in (
            change(STALE, FreshnessState.WARN, FreshnessState.PASS, 1_790_000_000.0),
            change(STALE, FreshnessState.FAIL, FreshnessState.WARN, 1_790_003_600.0),
            change(AssetKey("fct_mrr_monthly"), FreshnessState.PASS, FreshnessState.UNKNOWN, 1.0),
        ):
            instance.report_runless_asset_event(event)

        alerts, cursor = freshness_failure_alerts(instance, int(start.cursor), {STALE: HOURLY})
        [alert] = alerts
        assert alert.title == "Stale: mrr_summary_daily"
        fields = dict(alert.fields)
        assert fields["Freshness"] == "FAIL (was WARN)"
        assert fields["Fail window"] == "2h 30m"
        assert fields["Last updated"] == "never"
        assert fields["Since"].startswith("2026-09-21T")
        assert "has not been updated for more than 2h 30m" in alert.summary

        first = build_sensor_context(
            instance=instance, cursor=start.cursor, resources={"alerts": AlertsResource()}
        )
        alert_on_freshness_failure(first)
        assert int(first.cursor) == cursor
        # the next tick starts after the first one's cursor: nothing is sent twice
        second = build_sensor_context(
            instance=instance, cursor=first.cursor, resources={"alerts": AlertsResource()}
        )
        alert_on_freshness_failure(second)

    assert len(hook.requests) == 1 and len(smtp.messages) == 1
    mailed = smtp.messages[0]
    assert mailed["Subject"] == "[revwh ERROR] Stale: mrr_summary_daily"
    assert "FAIL (was WARN)" in mailed.get_content()
