"""Alerting sensors: a failed run, a failed data-quality check (dbt test, data contract) and
an asset whose freshness policy turns FAIL each send one alert to the configured destinations
(alerts/, REVWH_ALERT_*); so does a sensor or schedule that keeps failing, since an alerting
sensor that cannot run sends nothing else."""

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from dagster import (
    AssetCheckKey,
    AssetKey,
    DagsterEventType,
    DefaultSensorStatus,
    EventRecordsFilter,
    FreshnessPolicy,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from orchestration.lib.resources import AlertsResource

FRESHNESS_EVENTS_PER_TICK = 200
FAIL = "FAIL"  # dagster's FreshnessState.FAIL (not exported by dagster)
# dagster's AssetCheckExecutionRecordStatus values (not exported either) of a check that ran
CHECK_PASSED, CHECK_FAILED = "SUCCEEDED", "FAILED"


@run_failure_sensor(
    name="alert_on_run_failure",
    description="Sends an alert naming the job, the run, the failed steps and the error.",
    default_status=DefaultSensorStatus.RUNNING,
)
def alert_on_run_failure(context: RunFailureSensorContext, alerts: AlertsResource):
    from alerts import run_failure_alert

    steps = context.get_step_failure_events()
    errors = [
        step.event_specific_data.error.message.strip()
        for step in steps
        if step.event_specific_data is not None and step.event_specific_data.error is not None
    ]
    error = "\n".join(errors) or context.failure_event.message or "the run failed"
    alerts.send(
        run_failure_alert(
            context.dagster_run.job_name,
            context.dagster_run.run_id,
            error,
            failed_steps=[step.step_key for step in steps if step.step_key],
        ),
        logger=context.log,
    )


def failed_check_alerts(
    instance, check_keys: Iterable[AssetCheckKey], seen: Mapping[str, int]
) -> tuple[list, dict[str, int]]:
    """Alerts for the checks whose latest completed evaluation failed and is newer than the
    one `seen` holds for them (check key -> execution id), and the new `seen`.

    Read from the asset-check execution records, one query for every check: they live in the
    index shard of every event storage Dagster ships (SQLite's run-sharded one, whose event
    records cannot be read across runs by storage id, and PostgreSQL). The latest evaluation
    per check is what is read: a check that fails and passes again between two ticks (a
    minute) goes unreported. Checks that alert on their own (metadata alert_sent) are left
    out."""
    from alerts import Severity, check_failure_alert

    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(check_keys))
    alerts = []
    now_seen = dict(seen)
    for key, record in latest.items():
        name = key.to_user_string()
        if record.status.value not in (CHECK_PASSED, CHECK_FAILED):
            continue  # still running: looked at again when it has a result
        if record.id <= seen.get(name, 0):
            continue
        now_seen[name] = record.id
        if record.status.value != CHECK_FAILED or record.event is None:
            continue
        evaluation = record.event.dagster_event.event_specific_data  # AssetCheckEvaluation
        metadata = {k: value.value for k, value in (evaluation.metadata or {}).items()}
        if metadata.get("alert_sent"):
            continue
        severity = Severity.ERROR if evaluation.severity.value == "ERROR" else Severity.WARNING
        alerts.append(
            check_failure_alert(
                evaluation.check_name,
                evaluation.asset_key.to_user_string(),
                evaluation.description or "the check failed",
                metadata={
                    k: v for k, v in metadata.items() if isinstance(v, str | int | float | bool)
                },
                severity=severity,
            )
        )
    return alerts, now_seen


def _check_keys(context: SensorEvaluationContext) -> list[AssetCheckKey]:
    try:
        return list(context.repository_def.asset_graph.asset_check_keys)
    except Exception:  # a sensor context built without definitions
        return []


def _seen_checks(cursor: str | None) -> dict[str, int] | None:
    """The cursor of alert_on_check_failure, None when it is not one (a first tick, or the
    storage id an earlier version kept)."""
    try:
        seen = json.loads(cursor) if cursor else None
    except ValueError:
        return None
    return seen if isinstance(seen, dict) else None


def _start_from_now(
    context: SensorEvaluationContext, event_type: DagsterEventType, what: str
) -> SkipReason:
    """A new sensor starts from now, not by replaying the instance's whole history."""
    latest = context.instance.get_event_records(EventRecordsFilter(event_type=event_type), limit=1)
    context.update_cursor(str(latest[0].storage_id if latest else 0))
    return SkipReason(f"started: alerting on {what} from now on")


@sensor(
    name="alert_on_check_failure",
    description="Sends an alert for every failed asset check: dbt tests, data contracts (the "
    "reconciliation check sends its own, naming the customers).",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
)
def alert_on_check_failure(context: SensorEvaluationContext, alerts: AlertsResource):
    check_keys = _check_keys(context)
    seen = _seen_checks(context.cursor)
    if seen is None:
        # a new sensor starts from now, not by replaying every check's last result
        _, now_seen = failed_check_alerts(context.instance, check_keys, {})
        context.update_cursor(json.dumps(now_seen, sort_keys=True))
        return SkipReason("started: alerting on check failures from now on")
    alert_list, now_seen = failed_check_alerts(context.instance, check_keys, seen)
    for alert in alert_list:
        alerts.send(alert, logger=context.log)
    context.update_cursor(json.dumps(now_seen, sort_keys=True))
    if not alert_list:
        return SkipReason("no failed check since the last tick")
    return SkipReason(f"sent {len(alert_list)} alert(s) for failed checks")


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def freshness_failure_alerts(
    instance,
    after_storage_id: int,
    policies: Mapping[AssetKey, FreshnessPolicy | None] | None = None,
) -> tuple[list, int]:
    """Alerts for the assets whose freshness state changed to FAIL after `after_storage_id`
    (Dagster's freshness daemon records a FRESHNESS_STATE_CHANGE event when a policy's state
    changes), and the new cursor. `policies` gives each asset's policy, for its window."""
    from alerts import freshness_failure_alert

    records = instance.get_event_records(
        EventRecordsFilter(
            event_type=DagsterEventType.FRESHNESS_STATE_CHANGE, after_cursor=after_storage_id
        ),
        limit=FRESHNESS_EVENTS_PER_TICK,
        ascending=True,
    )
    alerts = []
    for record in records:
        change = record.event_log_entry.dagster_event.event_specific_data  # FreshnessStateChange
        if change.new_state.value != FAIL:
            continue
        policy = (policies or {}).get(change.key)
        fail_window = getattr(policy, "fail_window", None)
        latest = instance.get_latest_materialization_event(change.key)
        alerts.append(
            freshness_failure_alert(
                change.key.to_user_string(),
                failed_at=_utc(change.state_change_timestamp),
                previous_state=change.previous_state.value,
                fail_window=fail_window.to_timedelta() if fail_window is not None else None,
                last_updated=_utc(latest.timestamp) if latest is not None else None,
            )
        )
    cursor = records[-1].storage_id if records else after_storage_id
    return alerts, cursor


def _policies(context: SensorEvaluationContext) -> dict[AssetKey, FreshnessPolicy | None]:
    try:
        graph = context.repository_def.asset_graph
    except Exception:  # a sensor context built without definitions
        return {}
    return {key: graph.get(key).freshness_policy for key in graph.get_all_asset_keys()}


@sensor(
    name="alert_on_freshness_failure",
    description="Sends an alert when an asset's freshness policy turns FAIL (the raw Stripe "
    "tables and the MRR marts: orchestration/lib/freshness.py), once per change.",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
)
def alert_on_freshness_failure(context: SensorEvaluationContext, alerts: AlertsResource):
    if context.cursor is None:
        return _start_from_now(
            context, DagsterEventType.FRESHNESS_STATE_CHANGE, "freshness failures"
        )
    alert_list, cursor = freshness_failure_alerts(
        context.instance, int(context.cursor or 0), _policies(context)
    )
    for alert in alert_list:
        alerts.send(alert, logger=context.log)
    context.update_cursor(str(cursor))
    if not alert_list:
        return SkipReason("no asset turned stale since the last tick")
    return SkipReason(f"sent {len(alert_list)} alert(s) for stale assets")


# A sensor or schedule failing this many evaluations in a row is alerted on, once, until it
# evaluates without an error again.
FAILED_TICKS_TO_ALERT = 3


def failing_sensor_alerts(instance, alerted: Iterable[str]) -> tuple[list, list[str]]:
    """Alerts for the sensors and schedules of the instance whose last FAILED_TICKS_TO_ALERT
    evaluations all failed and that were not alerted on yet (`alerted`), and the names that
    are failing now (alerted once per streak of failures)."""
    from alerts import sensor_failure_alert

    alerts, failing = [], []
    for state in instance.all_instigator_state():
        ticks = instance.get_ticks(
            state.instigator_origin_id, state.selector_id, limit=FAILED_TICKS_TO_ALERT
        )
        if not ticks or not ticks[0].is_failure:
            continue
        name = state.instigator_name
        if name in alerted:
            failing.append(name)
            continue
        if len(ticks) == FAILED_TICKS_TO_ALERT and all(tick.is_failure for tick in ticks):
            alerts.append(sensor_failure_alert(name, FAILED_TICKS_TO_ALERT, _root(ticks[0].error)))
            failing.append(name)
    return alerts, failing


def _root(error) -> str:
    """The innermost error of a tick (Dagster wraps the sensor's own in SensorExecutionError)."""
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip() if error is not None else ""


@sensor(
    name="alert_on_failing_sensor",
    description=f"Sends an alert when a sensor or schedule fails {FAILED_TICKS_TO_ALERT} "
    "evaluations in a row (an alerting sensor that cannot run sends nothing else), once until "
    "it recovers.",
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.RUNNING,
)
def alert_on_failing_sensor(context: SensorEvaluationContext, alerts: AlertsResource):
    alerted = json.loads(context.cursor) if context.cursor else []
    alert_list, failing = failing_sensor_alerts(context.instance, alerted)
    for alert in alert_list:
        alerts.send(alert, logger=context.log)
    context.update_cursor(json.dumps(sorted(failing)))
    if not alert_list:
        return SkipReason(
            f"{len(failing)} sensor(s) failing, already alerted"
            if failing
            else "every sensor evaluates"
        )
    return SkipReason(f"sent {len(alert_list)} alert(s) for failing sensors")
