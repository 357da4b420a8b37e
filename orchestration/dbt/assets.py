"""Every dbt model as an asset, built with `dbt build` (models and their tests, which report
as asset checks). Unit tests are left to CI."""

import json
import os

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.dbt.project import dbt_project
from orchestration.dbt.translator import WarehouseTranslator
from orchestration.ingestion.factory import WAREHOUSE_POOL
from orchestration.resources import DbtSettingsResource

translator = WarehouseTranslator()
# run tag: "changed" builds only the selected models that newly loaded rows reach
DBT_SCOPE_TAG = "revwh/dbt_scope"


def dbt_project_manifest() -> dict:
    return json.loads(dbt_project.manifest_path.read_text())


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=translator,
    exclude="test_type:unit",
    pool=WAREHOUSE_POOL,
)
def warehouse_models(
    context: AssetExecutionContext, dbt: DbtCliResource, dbt_settings: DbtSettingsResource
):
    from revwh.dbt_scope import stale_free_models
    from revwh.transform import artifacts_dir, as_of_env, target_env

    # profiles/profiles.yml reads the target from the environment; dbt's artifacts and log
    # go beside the warehouse (target/, where dagster-dbt keeps dbt.log too), so two
    # warehouses never share them
    out = artifacts_dir(dbt_settings.warehouse)
    os.environ.update(target_env(dbt_settings.warehouse) | as_of_env(dbt_settings.as_of_date()))
    args = ["build", "--vars", json.dumps(dbt_settings.dbt_vars())]
    if context.run.tags.get(DBT_SCOPE_TAG) == "changed" and not dbt_settings.full_refresh:
        # an hourly run: leave out the selected models no new row reaches
        selected = {key.path[-1] for key in context.selected_asset_keys}
        unchanged = stale_free_models(
            dbt_settings.warehouse,
            dbt_project_manifest(),
            selected,
            dbt_settings.as_of_date(),
            dbt_settings.dbt_vars(),
        )
        if unchanged:
            context.log.info(f"no new data reaches {len(unchanged)} models: left as they are")
            # one value: dagster-dbt reads a single word after --exclude
            args += ["--exclude", " ".join(sorted(unchanged))]
    if dbt_settings.threads:
        args += ["--threads", str(dbt_settings.threads)]
    if dbt_settings.full_refresh:
        args.append("--full-refresh")
    yield from dbt.cli(args, context=context, target_path=out / "target").stream()


def model_key(name: str) -> AssetKey:
    """The asset key of dbt model `name` (keys carry the schema: marts/mrr_summary_daily)."""
    matches = [key for key in warehouse_models.keys if key.path[-1] == name]
    if len(matches) != 1:
        raise KeyError(f"no single dbt model named {name!r} among the dbt assets")
    return matches[0]
