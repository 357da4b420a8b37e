"""A reader (another process, as a BI tool would be) holds the published copy open while a
Dagster run writes the warehouse and publishes again: the run is not blocked, and the reader
keeps reading complete marts throughout."""

import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal

import duckdb
from dagster import DagsterInstance, materialize

from orchestration.defs.chartmogul.assets import chartmogul_load, reconciliation_models
from orchestration.defs.resources import run_resources
from orchestration.defs.serving.assets import published_marts
from orchestration.lib.resources import AlertsResource, ChartMogulResource, RunSettingsResource
from sandbox.chartmogul import ChartMogulStandIn
from serving.publish import default_published_path
from tests.conftest import AS_OF, CHARTMOGUL_TEST_KEY

READER = r"""
import os, sys, time, duckdb
path, stop, day = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect(path, read_only=True)  # held for the whole run
while not os.path.exists(stop):
    (mrr,) = con.execute(
        "select mrr_end from marts.mrr_summary_daily where summary_date = ?", [day]
    ).fetchone()
    print(mrr, flush=True)
    time.sleep(0.01)
"""


def test_a_reader_holding_the_published_copy_neither_blocks_nor_is_blocked(
    small_warehouse_copy, small_world, tmp_path
):
    warehouse = small_warehouse_copy
    settings = RunSettingsResource(warehouse=str(warehouse), as_of=AS_OF.isoformat())
    with DagsterInstance.ephemeral() as instance:
        first = materialize([published_marts], resources=run_resources(run_settings=settings))
        assert first.success
        published = default_published_path(str(warehouse))
        stop = tmp_path / "stop"
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(published), str(stop), AS_OF.isoformat()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(1)  # the reader has the file open
            with ChartMogulStandIn(
                small_world, as_of=AS_OF, api_key=CHARTMOGUL_TEST_KEY
            ) as chartmogul:
                started = time.perf_counter()
                run = materialize(
                    [chartmogul_load, reconciliation_models, published_marts],
                    resources=run_resources(
                        run_settings=settings,
                        chartmogul=ChartMogulResource(
                            api_key=CHARTMOGUL_TEST_KEY, api_base=chartmogul.url
                        ),
                        alerts=AlertsResource(enabled=False),
                    ),
                    instance=instance,
                )
                seconds = time.perf_counter() - started
            assert run.success
            time.sleep(0.5)  # and it is still reading after the swap
        finally:
            stop.touch()
            out, err = reader.communicate(timeout=30)
    assert reader.returncode == 0, err
    reads = out.split()
    assert len(reads) > 50
    # one complete mart all along: the as-of day's MRR, to the cent
    assert len(set(reads)) == 1
    assert Decimal(reads[0]).quantize(Decimal("0.01"), ROUND_HALF_UP) == Decimal("25266.99")
    assert seconds < 30
    # the new copy has what the run wrote: the reconciliation
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*) from marts.chartmogul_reconciliation").fetchone()[0]
