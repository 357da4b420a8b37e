"""dbt models as Dagster assets: grouped by layer, keyed by model name; tests become asset
checks; sources name their dlt assets (meta.dagster.asset_key in the sources' YAML); the MRR
marts carry their freshness policy (orchestration/lib/freshness.py)."""

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from orchestration.lib.freshness import model_policy, with_policy

# models/<layer>/... -> group; models/utilities/ holds the semantic layer's time spine, which
# reads no model and no model reads (MetricFlow joins to it), so it is a group of its own
GROUPS = {"staging": "staging", "intermediate": "intermediate", "utilities": "utilities"}


class WarehouseTranslator(DagsterDbtTranslator):
    def __init__(self):
        super().__init__(
            settings=DagsterDbtTranslatorSettings(
                enable_asset_checks=True,
                # one dlt asset feeds several source tables (a parent and its child tables)
                enable_duplicate_source_asset_keys=True,
            )
        )

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] != "model":
            return super().get_group_name(dbt_resource_props)
        layer = dbt_resource_props["fqn"][1]
        return GROUPS.get(layer, "marts")

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        # a model's key is its name (unique in the project), not schema/name: `kpis`,
        # `mrr_summary_daily`, as analysts call them; sources keep their dlt asset keys
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return AssetKey(dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] != "model":
            return spec
        return with_policy(spec, model_policy(props["name"]))
