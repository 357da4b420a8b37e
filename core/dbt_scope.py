"""Which dbt models an hourly run can leave as they are.

An hourly build rebuilds the operational models; most hours, new rows reach only some of
the raw tables (Stripe objects and app transactions, seldom usage, costs or FX). A model
that no newly loaded row can reach, built on the same as-of date and with the same MRR
settings as the last successful build, would come out the same: `stale_free_models` names
those, and the run excludes them (with their tests). Everything else, and every model when
there is no previous build, the as-of date moved or a setting changed, is built as usual.

"New" is a `_dlt_load_id` above the watermark of the last successful build, which
`intermediate.revwh_build_log` records (macros/build_log.sql)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from core.settings import RunSettings
from core.warehouse import Warehouse

PROJECT_FILE = Path(__file__).resolve().parents[1] / "dbt_project" / "dbt_project.yml"
SELECTORS_FILE = PROJECT_FILE.with_name("selectors.yml")
# The operational view an hourly run keeps current (dbt_project/selectors.yml): MRR, today's
# sign-ups and trials, churn and revenue, with the models they read; the whole-warehouse
# checks (tag full_check) wait for the daily build.
HOURLY_SELECTOR = "hourly"


def selector_arguments(name: str) -> tuple[str, str]:
    """`--select` and `--exclude` values equal to selector `name` of selectors.yml, for a
    dbt command that must exclude more (dbt ignores --exclude beside --selector). Selectors
    here are a union of selection strings and one `exclude` list."""
    selectors = yaml.safe_load(SELECTORS_FILE.read_text())["selectors"]
    [definition] = [s["definition"] for s in selectors if s["name"] == name]
    select, exclude = [], []
    for part in definition["union"]:
        if isinstance(part, str):
            select.append(part)
        elif set(part) == {"exclude"}:
            exclude.extend(part["exclude"])
        else:
            raise ValueError(f"selector {name!r}: only selection strings and one exclude list")
    return " ".join(select), " ".join(exclude)


def settings_fingerprint(dbt_vars: Mapping[str, Any] | None = None) -> str:
    """The MRR settings string the models store (macro mrr_settings_fingerprint), for the
    project's defaults overridden by `dbt_vars`. A test keeps the two in step."""
    merged = {**yaml.safe_load(PROJECT_FILE.read_text())["vars"], **(dbt_vars or {})}
    unpaid = merged["unpaid_is_churn"]
    if isinstance(unpaid, str):
        unpaid = unpaid.lower() in ("true", "1", "yes")
    return "|".join(
        [
            str(merged["reporting_currency"]).upper(),
            str(merged["churn_recognition"]),
            str(bool(unpaid)),
            str(merged["gateway_retry_days"]).strip(),
        ]
    )


def upstream_sources(manifest: Mapping[str, Any], node_id: str) -> set[str]:
    """The dbt sources (unique ids) `node_id` reads, directly or through other nodes."""
    parents = manifest["parent_map"]
    seen, stack, sources = set(), [node_id], set()
    while stack:
        for parent in parents.get(stack.pop(), []):
            if parent in seen:
                continue
            seen.add(parent)
            if parent.startswith("source."):
                sources.add(parent)
            else:
                stack.append(parent)
    return sources


def stale_free_models(
    warehouse: Warehouse,
    manifest: Mapping[str, Any],
    candidates: Iterable[str],
    settings: RunSettings,
) -> set[str]:
    """Names of the models among `candidates` (model names) that no data loaded since the
    last successful build reaches; empty when every candidate must be built."""
    if not warehouse.is_postgres and not warehouse.path.exists():
        return set()
    try:
        with warehouse.connect(read_only=True) as con:
            last = _last_build(con)
            if last is None or last["as_of_date"] != settings.as_of:
                return set()
            if last["settings_fingerprint"] != settings_fingerprint(settings.dbt_vars):
                return set()
            by_name = {
                node["name"]: node_id
                for node_id, node in manifest["nodes"].items()
                if node["resource_type"] == "model"
            }
            upstream = {
                name: upstream_sources(manifest, by_name[name])
                for name in candidates
                if name in by_name
            }
            tables = {source for sources in upstream.values() for source in sources}
            changed = _changed_tables(
                con, warehouse.is_postgres, manifest, tables, last["watermark"]
            )
    except Exception:  # e.g. the file is held by another writer: build everything
        return set()
    return {name for name, sources in upstream.items() if not sources & changed}


def _last_build(con) -> dict | None:
    cursor = con.cursor()
    try:
        cursor.execute(
            "select watermark, settings_fingerprint, as_of_date "
            "from intermediate.revwh_build_log order by recorded_at desc limit 1"
        )
    except Exception:  # no build log yet: the first build
        return None
    row = cursor.fetchone()
    if row is None:
        return None
    return {"watermark": row[0], "settings_fingerprint": row[1], "as_of_date": row[2]}


def _changed_tables(
    con, postgres: bool, manifest: Mapping[str, Any], sources: set[str], watermark: str
) -> set[str]:
    """The sources with a row loaded after `watermark` (a table that does not exist has
    none; a nested table has what its root table has). dlt's load log is left out: it is
    the watermark's own bookkeeping (every load adds a row), and a load that reached a
    model's tables shows in those tables."""
    cursor = con.cursor()
    answers: dict[str, bool] = {}  # per root table: several sources share one
    changed = set()
    for source_id in sorted(sources):
        node = manifest["sources"][source_id]
        if node["identifier"] == "_dlt_loads":
            continue
        # dlt's nested tables (invoices__lines) carry no load id: their rows change with
        # their root row, which a merge replaces together with its children
        table = f'"{node["schema"]}"."{node["identifier"].split("__")[0]}"'
        if table not in answers:
            answers[table] = _has_rows_after(con, cursor, postgres, table, watermark)
        if answers[table]:
            changed.add(source_id)
    return changed


def _has_rows_after(con, cursor, postgres: bool, table: str, watermark: str) -> bool:
    try:
        cursor.execute(
            f"select 1 from {table} where _dlt_load_id > {'%s' if postgres else '?'} limit 1",
            (watermark,),
        )
    except Exception as exc:
        if postgres:
            con.rollback()
        return not _missing_table(exc)  # any other error: cannot tell, so build it
    return cursor.fetchone() is not None


def _missing_table(exc: Exception) -> bool:
    """A table never loaded (DuckDB: "Table with name ... does not exist", PostgreSQL:
    'relation "..." does not exist'), as opposed to any other error."""
    text = str(exc).lower()
    return "does not exist" in text and ("table with name" in text or "relation" in text)
