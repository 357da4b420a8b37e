"""The daily job's docs step: `dbt docs generate --static` on the small world's warehouse,
published as one page beside the published copy, naming the marts, their descriptions and
who reads them (exposures)."""

import re

from dagster import AssetKey, DagsterInstance, Definitions

from orchestration.definitions import load
from orchestration.defs.resources import run_resources
from orchestration.defs.schedules import daily_job
from orchestration.lib.resources import RunSettingsResource
from serving.docs import docs_site_path
from tests.conftest import AS_OF


def test_the_daily_job_publishes_the_dbt_docs_site(small_warehouse_copy, monkeypatch):
    monkeypatch.delenv("REVWH_PUBLISHED_WAREHOUSE", raising=False)
    warehouse = small_warehouse_copy
    site = docs_site_path(warehouse)
    assert site == warehouse.parent / "published" / "docs" / "index.html"
    assert not site.exists()
    location = load()
    definitions = Definitions(
        assets=list({id(a): a for a in location.assets or []}.values()),
        asset_checks=list({id(c): c for c in location.asset_checks or []}.values()),
        jobs=[daily_job],
        resources=run_resources(
            run_settings=RunSettingsResource(warehouse=str(warehouse), as_of=AS_OF.isoformat())
        ),
    )
    with DagsterInstance.ephemeral() as instance:
        run = definitions.resolve_job_def("daily_build").execute_in_process(
            instance=instance, asset_selection=[AssetKey("dbt_docs")], raise_on_error=False
        )
    assert run.success, [e.message for e in run.get_step_failure_events()]
    (materialization,) = run.asset_materializations_for_node("dbt_docs")
    assert materialization.metadata["path"].value == str(site)

    page = site.read_text()
    assert page.lstrip().lower().startswith("<!doctype html>")
    # one page with the manifest and the warehouse's catalog built in
    for name in (
        "model.revenue_warehouse.mrr_summary_daily",
        "exposure.revenue_warehouse.kpi_export",
    ):
        assert name in page, name
    for artifact in ("manifest", "catalog"):
        assert re.search(rf"dbt_schema_version.{{0,60}}/{artifact}/v\d+\.json", page), artifact
    assert not list(site.parent.glob(".*.tmp"))  # swapped in, nothing left behind


def test_a_run_publishes_the_docs_only_when_asked():
    """`run_pipeline(docs=True)` (the demo's choice): the docs site costs a dbt invocation."""
    from orchestration.run import LOADED_SOURCES, run_selection

    graph = load().resolve_asset_graph()

    def selected(**options) -> set[str]:
        selection = run_selection(LOADED_SOURCES, reconcile=False, publish=True, **options)
        return {key.to_user_string() for key in selection.resolve(graph)}

    assert "dbt_docs" not in selected()
    assert {"dbt_docs", "published_marts"} <= selected(docs=True)
    assert not {"dbt_docs", "published_marts"} & selected(docs=True, models=False)
