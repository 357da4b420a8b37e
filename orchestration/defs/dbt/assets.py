"""Every dbt model as an asset, built with `dbt build` (models and their tests, which report
as asset checks). Unit tests are left to CI."""

import json

import dagster as dg
from dagster_dbt import dbt_assets

from core.dbt_scope import stale_free_models
from orchestration.defs.dbt.project import dbt_project
from orchestration.defs.dbt.translator import WarehouseTranslator
from orchestration.lib.dbt import WarehouseDbtCliResource, dbt_args, dbt_env
from orchestration.lib.resources import RunSettingsResource
from orchestration.lib.sources import WAREHOUSE_POOL

translator = WarehouseTranslator()
# run tag: "changed" builds only the selected models that newly loaded rows reach
DBT_SCOPE_TAG = "revwh/dbt_scope"


def dbt_project_manifest() -> dict:
    return json.loads(dbt_project.manifest_path.read_text())


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=translator,
    # the ChartMogul reconciliation's models are their own asset (defs/chartmogul/)
    exclude="test_type:unit tag:chartmogul",
    pool=WAREHOUSE_POOL,
)
def warehouse_models(
    context: dg.AssetExecutionContext,
    dbt: WarehouseDbtCliResource,
    run_settings: RunSettingsResource,
):
    warehouse, settings = run_settings.target(), run_settings.settings(context)
    unchanged: set[str] = set()
    if context.run.tags.get(DBT_SCOPE_TAG) == "changed" and not run_settings.full_refresh:
        # an hourly run: leave out the selected models no new row reaches
        selected = {key.path[-1] for key in context.selected_asset_keys}
        unchanged = stale_free_models(warehouse, dbt_project_manifest(), selected, settings)
        if unchanged:
            context.log.info(f"no new data reaches {len(unchanged)} models: left as they are")
    args = dbt_args(
        "build",
        settings,
        exclude=sorted(unchanged),
        full_refresh=run_settings.full_refresh,
        threads=run_settings.threads,
    )
    # dbt's artifacts and log go beside the warehouse (target/, where dagster-dbt keeps
    # dbt.log too), so two warehouses never share them
    yield from dbt.cli(
        args,
        env=dbt_env(warehouse, settings),
        context=context,
        target_path=warehouse.artifacts_dir / "target",
    ).stream()


def model_key(name: str) -> dg.AssetKey:
    """The asset key of dbt model `name` (keys carry the schema: marts/mrr_summary_daily)."""
    matches = [key for key in warehouse_models.keys if key.path[-1] == name]
    if len(matches) != 1:
        raise KeyError(f"no single dbt model named {name!r} among the dbt assets")
    return matches[0]
