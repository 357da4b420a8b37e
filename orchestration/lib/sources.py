"""One Dagster multi-asset per source system: the asset specs come from dagster-dlt (one per
dlt resource, keyed `dlt_<source>_<resource>` as the dbt sources expect), the body runs the
project's own loader (ingestion/), which adds what dagster-dlt's runner would skip: the data
contracts' quarantine, Stripe's request budget and event-driven incremental sync, and file
discovery for the sheets. Each multi-asset also owns the tables every resource of the source
writes (dlt's load log, the quarantine), so no dbt source is left without an asset."""

from collections.abc import Iterator, Sequence

import dlt
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from dagster_dlt import DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData

from core.sources import source_named
from ingestion.run import load
from orchestration.lib.freshness import source_policy, with_policy
from orchestration.lib.resources import IngestionResource

INGESTION_GROUP = "ingestion"
# every asset that writes the DuckDB file runs in this pool (limit 1: see dagster.yaml)
WAREHOUSE_POOL = "warehouse_writer"


def external_system_key(system: str) -> AssetKey:
    return AssetKey(system)


class SourceTranslator(DagsterDltTranslator):
    """Keys `dlt_<source>_<resource>`, group `ingestion`, one upstream external system, the
    raw table the resource writes."""

    def __init__(self, system: str, dataset: str):
        super().__init__()
        self._system = system
        self._dataset = dataset

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        return (
            super()
            .get_asset_spec(data)
            .replace_attributes(
                deps=[external_system_key(self._system)],
                group_name=INGESTION_GROUP,
                kinds={"dlt", "duckdb"},
            )
            .merge_attributes(
                metadata={"dagster/table_name": f"{self._dataset}.{data.resource.table_name}"}
            )
        )


def source_assets(
    name: str,
    *,
    dlt_source: dlt.sources.DltSource,
    extra_tables: dict[str, str],
    description: str,
):
    """The external system's spec and the multi-asset that loads source `name` (its entry in
    core.sources gives the dataset, the keys and the external system). `extra_tables`: table
    -> description of the tables written by every resource (the load log, the quarantine)."""
    entry = source_named(name)
    source, dataset, system = entry.name, entry.dataset, entry.system
    system_description = f"{entry.description} ({entry.input_env})"
    specs: list[AssetSpec] = list(
        build_dlt_asset_specs(
            dlt_source=dlt_source,
            # no pipeline: a real dlt.pipeline() creates its working folder and state file,
            # which importing the definitions must not do (two processes would collide);
            # the loads create their pipelines when they run
            dlt_pipeline=None,  # type: ignore[arg-type]
            dagster_dlt_translator=SourceTranslator(system, dataset),
        )
    )
    prefix = f"dlt_{entry.dlt_source}_"
    for table, text in extra_tables.items():
        specs.append(
            AssetSpec(
                key=AssetKey(prefix + table.lstrip("_")),
                description=text,
                group_name=INGESTION_GROUP,
                deps=[external_system_key(system)],
                kinds={"dlt", "duckdb"},
                metadata={"dagster/table_name": f"{dataset}.{table}"},
            )
        )
    # freshness: a FreshnessPolicy on each raw table loaded on a schedule (lib/freshness.py)
    specs = [with_policy(spec, source_policy(source, _table_name(spec, prefix))) for spec in specs]
    external = AssetSpec(
        key=external_system_key(system), description=system_description, group_name=INGESTION_GROUP
    )
    table_of = {spec.key: _table_name(spec, prefix) for spec in specs}

    @multi_asset(
        name=f"load_{entry.dlt_source}",
        specs=specs,
        description=description,
        pool=WAREHOUSE_POOL,
        can_subset=False,
    )
    def _load(context: AssetExecutionContext, ingestion: IngestionResource) -> Iterator:
        report = load(source, ingestion.options(), required=ingestion.required)
        context.log.info(report.summary())
        for note in report.notes:
            context.log.info(f"{source}: {note}")
        for reason, count in report.rejected.most_common():
            # kept in the source's quarantine table with the reason, never dropped
            context.log.warning(f"{source}: {count:,} rows quarantined: {reason}")
        if not report.ok:
            # the rows that did load stay loaded (merge): a re-run completes the rest
            raise Failure(
                description=f"{source}: {'; '.join(report.errors)}",
                metadata={"errors": MetadataValue.json(list(report.errors))},
            )
        yield from _results(specs, table_of, report)

    return external, _load


def _table_name(spec: AssetSpec, prefix: str) -> str:
    return spec.key.to_user_string().removeprefix(prefix)


def _results(specs: Sequence[AssetSpec], table_of: dict, report) -> Iterator[MaterializeResult]:
    rows = getattr(report, "rows", {}) or {}
    for spec in specs:
        table = table_of[spec.key]
        # child tables (invoices__lines) belong to their parent resource's asset
        loaded = sum(n for t, n in rows.items() if t == table or t.startswith(table + "__"))
        metadata: dict = {"rows_loaded": MetadataValue.int(loaded)}
        if report.skipped:
            metadata["skipped"] = MetadataValue.text(report.skipped)
        if report.rejected:
            metadata["rows_quarantined"] = MetadataValue.int(sum(report.rejected.values()))
        yield MaterializeResult(asset_key=spec.key, metadata=metadata)
