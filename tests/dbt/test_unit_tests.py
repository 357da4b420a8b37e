"""The dbt unit tests (`unit_tests:` in the model YAML files): one or more per rule of
MRR_RULES.md, on hand-made rows. Data builds skip them; they run here, once, against the
small warehouse (dbt needs the models' tables to know their column types)."""

from __future__ import annotations

from core.settings import RunSettings
from orchestration.lib.dbt import run_dbt
from tests.conftest import AS_OF


def test_every_dbt_unit_test_passes(small_warehouse_copy):
    warehouse = small_warehouse_copy
    result = run_dbt(
        warehouse, RunSettings.of(AS_OF), "test", select="test_type:unit", unit_tests=True
    )
    assert result.success, result.describe_failures()
    passed = result.counts.get("unit_test", result.counts.get("test", {})).get("passed", 0)
    print(f"{passed} dbt unit tests passed")
    assert passed >= 30
