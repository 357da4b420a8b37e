"""A raw table that breaks its data contract: the contract check (great-expectations over the
whole table) fails in a real Dagster run, and the check-failure sensor sends one alert to
each destination (Slack and email through apprise), once."""

import shutil

import duckdb
from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetSelection,
    DagsterInstance,
    Definitions,
    build_sensor_context,
    define_asset_job,
)

from orchestration.definitions import load
from orchestration.defs.alerts.sensors import alert_on_check_failure
from orchestration.defs.resources import run_resources
from orchestration.lib.resources import AlertsResource, RunSettingsResource
from tests.conftest import REPO_ROOT
from tests.receivers import alert_sinks, smtp_server, webhook  # noqa: F401

CHECK = AssetCheckKey(AssetKey("dlt_stripe_customers"), "contract_customers")


def test_a_broken_contract_fails_its_check_and_alerts_once(
    tmp_path,
    small_warehouse_copy,
    alert_sinks,  # noqa: F811
):
    hook, smtp = alert_sinks
    with duckdb.connect(str(small_warehouse_copy)) as con:
        # a second row with an existing customer id: the key is no longer unique
        duplicated = con.execute(
            "insert into raw_stripe.customers select * from raw_stripe.customers "
            "order by id limit 1 returning id"
        ).fetchone()[0]
    job = define_asset_job("contract_check", selection=AssetSelection.checks(CHECK))
    code_location = load()
    defs = Definitions(
        assets=code_location.assets,
        asset_checks=code_location.asset_checks,
        jobs=[job],
        resources=run_resources(
            run_settings=RunSettingsResource(warehouse=str(small_warehouse_copy))
        ),
    )
    # the instance `make dagster` runs: DAGSTER_HOME with the repository's dagster.yaml,
    # SQLite storage whose event log is sharded by run
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / ".dagster" / "dagster.yaml", home / "dagster.yaml")
    with DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"

        def tick(cursor):
            context = build_sensor_context(
                instance=instance,
                cursor=cursor,
                definitions=defs,
                resources={"alerts": AlertsResource()},
            )
            result = alert_on_check_failure(context)
            return context.cursor, result

        # a new sensor starts from now
        cursor, started = tick(None)
        assert "from now on" in started.skip_message
        run = defs.resolve_job_def("contract_check").execute_in_process(
            instance=instance, raise_on_error=False
        )
        [evaluation] = run.get_asset_check_evaluations()
        assert not evaluation.passed
        assert evaluation.severity.value == "ERROR"
        assert "id" in evaluation.description

        cursor, sent = tick(cursor)
        assert "sent 1 alert" in sent.skip_message
        # the next tick starts after the first one's cursor: nothing is sent twice
        cursor, quiet = tick(cursor)
        assert "no failed check" in quiet.skip_message

    assert len(hook.requests) == 1 and len(smtp.messages) == 1
    mailed = smtp.messages[0].get_content()
    assert "contract_customers" in mailed and "dlt_stripe_customers" in mailed
    assert duplicated.startswith("cus_")
