"""What `revwh run` shows while the graph runs in-process, and where the run is recorded:
real Dagster runs of small jobs, printed through revwh's progress logger."""

from __future__ import annotations

import io
import shutil

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from rich.console import Console

from orchestration.run import DagsterHomeError, recording_instance, step_labels
from revwh.progress import RunProgressHandler, progress_logger
from tests.conftest import REPO_ROOT


@dg.multi_asset(
    specs=[dg.AssetSpec(f"model_{n}") for n in range(3)],
    check_specs=[dg.AssetCheckSpec("not_null", asset=f"model_{n}") for n in range(3)],
    name="warehouse_models",
    pool="warehouse_writer",
)
def warehouse_models():
    for n in range(3):
        yield dg.MaterializeResult(asset_key=f"model_{n}")
        yield dg.AssetCheckResult(asset_key=f"model_{n}", check_name="not_null", passed=True)


@dg.asset_check(asset="model_0", name="contract_model")
def contract_check():
    return dg.AssetCheckResult(passed=True)


def _run(handler: RunProgressHandler, instance: dg.DagsterInstance):
    job = dg.define_asset_job("progress", executor_def=dg.in_process_executor)
    defs = dg.Definitions(
        assets=[warehouse_models],
        asset_checks=[contract_check],
        jobs=[job],
        loggers={"console": progress_logger(handler)},
    )
    return defs.resolve_job_def("progress").execute_in_process(
        instance=instance, run_config={"loggers": {"console": {}}}
    )


def test_the_dbt_step_shows_counts_as_lines_and_checks_say_what_they_check():
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False)
    handler = RunProgressHandler(
        console, labels={"model_0_contract_model": "check contract_model on raw.model_0"},
        every_seconds=0,
    )  # fmt: skip
    with dg.DagsterInstance.ephemeral() as instance:
        assert _run(handler, instance).success
    lines = out.getvalue().splitlines()
    # not a terminal: plain lines of counts while the quiet (dbt) step runs
    assert "  … 1 assets, 0 s so far" in lines
    assert "  … 3 assets; 3 checks passed, 0 s so far" in lines
    assert "▶ check contract_model on raw.model_0" in lines
    assert not any(line.startswith("▶ model_0_contract_model") for line in lines)


def test_the_code_locations_check_steps_are_named_by_table_and_check():
    labels = step_labels()
    assert labels["dlt_stripe_invoices_contract_invoices"] == (
        "check contract_invoices on raw_stripe.invoices"
    )
    assert labels["chartmogul_reconciliation_mrr_within_threshold"] == (
        "check mrr_within_threshold on marts.chartmogul_reconciliation"
    )


def test_runs_are_recorded_in_dagster_home_and_a_killed_runs_slot_blocks_nothing(
    tmp_path, monkeypatch
):
    """With the project's .dagster settings (pools of one), an in-process run records itself
    in DAGSTER_HOME without claiming per-step pool slots: a run killed mid-step (its slot
    never freed) would otherwise stop every later run."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with recording_instance() as instance:
        assert instance.is_ephemeral
    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with pytest.raises(DagsterHomeError, match="not an existing absolute folder"):
        recording_instance()
    home.mkdir()
    shutil.copy(REPO_ROOT / ".dagster" / "dagster.yaml", home)
    # what a run killed mid-step leaves behind on the instance: the pool's only slot,
    # claimed and never freed
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as project_instance:
        storage = project_instance.event_log_storage
        storage.initialize_concurrency_limit_to_default("warehouse_writer")  # 1
        storage.claim_concurrency_slot("warehouse_writer", "dead", "step")
        info = storage.get_concurrency_info("warehouse_writer")
        assert [slot.run_id for slot in info.claimed_slots] == ["dead"]
    with recording_instance() as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        result = _run(RunProgressHandler(Console(file=io.StringIO())), instance)
        assert result.success
        assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.SUCCESS
    assert any(home.joinpath("history").iterdir())
