"""A storage version that is not one fails the publishing step with one line naming the
setting and its values, and leaves the published copy as it was."""

import duckdb
from dagster import materialize

from orchestration.defs.resources import run_resources
from orchestration.defs.serving.assets import published_marts
from orchestration.lib.resources import RunSettingsResource
from serving.publish import default_published_path


def test_a_wrong_storage_version_fails_the_step_in_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("REVWH_PUBLISHED_WAREHOUSE", raising=False)
    warehouse = tmp_path / "revenue.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create table marts.kpis as select 1 as kpi_id")
    resources = run_resources(run_settings=RunSettingsResource(warehouse=str(warehouse)))

    monkeypatch.setenv("REVWH_PUBLISHED_STORAGE_VERSION", "v1.4.0")
    first = materialize([published_marts], resources=resources)
    (materialization,) = first.asset_materializations_for_node("published_marts")
    assert materialization.metadata["storage_version"].value == "v1.4.0"
    published = default_published_path(warehouse)
    before = published.read_bytes()

    monkeypatch.setenv("REVWH_PUBLISHED_STORAGE_VERSION", "newest")
    run = materialize([published_marts], resources=resources, raise_on_error=False)
    assert not run.success
    (failure,) = run.get_step_failure_events()
    message = failure.event_specific_data.error.message.strip()
    assert "\n" not in message
    assert "REVWH_PUBLISHED_STORAGE_VERSION: 'newest' is not" in message
    assert "v1.0.0, v1.1.0" in message
    assert published.read_bytes() == before
