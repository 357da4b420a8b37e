"""A sensor that fails evaluation after evaluation (as alert_on_check_failure did on every
tick under SQLite storage) is itself alerted on, once until it recovers. Its ticks come
from Dagster's own sensor daemon loop, on the SQLite instance `make dagster` uses."""

import logging
import shutil
import time

from dagster import DagsterInstance, build_sensor_context
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.sensor import execute_sensor_iteration

from orchestration.defs.alerts.sensors import FAILED_TICKS_TO_ALERT, alert_on_failing_sensor
from orchestration.lib.resources import AlertsResource
from tests.conftest import REPO_ROOT
from tests.receivers import alert_sinks, smtp_server, webhook  # noqa: F401

LOCATION = REPO_ROOT / "tests" / "orchestration" / "failing_sensor_location.py"


def test_a_sensor_failing_three_ticks_in_a_row_is_alerted_once(tmp_path, alert_sinks):  # noqa: F811
    hook, smtp = alert_sinks
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / ".dagster" / "dagster.yaml", home / "dagster.yaml")
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(python_file=str(LOCATION), attribute="defs")
    )
    with (
        DagsterInstance.from_config(str(home)) as instance,
        create_test_daemon_workspace_context(
            InProcessWorkspaceLoadTarget(origin), instance
        ) as workspace,
    ):

        def watchdog_tick(cursor):
            context = build_sensor_context(
                instance=instance, cursor=cursor, resources={"alerts": AlertsResource()}
            )
            result = alert_on_failing_sensor(context)
            return context.cursor, result.skip_message

        def broken_sensor_ticks(count: int) -> None:
            for _ in range(count):
                list(execute_sensor_iteration(workspace, logging.getLogger("test"), None, None))
                time.sleep(1.05)  # the sensor's minimum interval

        broken_sensor_ticks(FAILED_TICKS_TO_ALERT - 1)
        cursor, message = watchdog_tick(None)
        assert message == "every sensor evaluates"  # two failures are not yet a pattern
        broken_sensor_ticks(1)
        cursor, message = watchdog_tick(cursor)
        assert message == "sent 1 alert(s) for failing sensors"
        broken_sensor_ticks(1)
        cursor, message = watchdog_tick(cursor)
        assert "already alerted" in message

    assert len(hook.requests) == 1 and len(smtp.messages) == 1
    mailed = smtp.messages[0].get_content()
    assert "broken_sensor" in mailed and "the event log cannot be read" in mailed
