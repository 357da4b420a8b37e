"""dbt exposures name everything that reads the marts (models/exposures.yml), so `dbt docs`
shows who uses what: the published copy reads every mart, and a new mart that it misses
fails here."""

import json
from pathlib import Path

from orchestration.defs.dbt.project import dbt_project
from serving.chartmogul_sync.exports import EXPORT_TABLES


def _manifest() -> dict:
    return json.loads(Path(dbt_project.manifest_path).read_text())


def test_the_published_copy_exposes_every_mart():
    manifest = _manifest()
    marts = {
        node_id
        for node_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["config"].get("schema") == "marts"
    }
    assert len(marts) > 20
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures["published_marts"]["depends_on"]["nodes"]) == marts


def test_each_consumer_reads_what_its_code_reads():
    exposures = {e["name"]: e for e in _manifest()["exposures"].values()}
    reads = {
        name: sorted(node.rsplit(".", 1)[-1] for node in exposure["depends_on"]["nodes"])
        for name, exposure in exposures.items()
        if name != "published_marts"
    }
    assert reads == {
        "kpi_export": ["kpis"],
        "chartmogul_reconciliation_alert": [
            "chartmogul_reconciliation",
            "chartmogul_reconciliation_customers",
        ],
        "demo_summary": ["kpis", "mrr_summary_daily", "mrr_summary_monthly"],
        # what the ChartMogul sync reads (serving/chartmogul_sync/exports.py)
        "chartmogul_custom_data_source": sorted(EXPORT_TABLES),
    }
    for exposure in exposures.values():
        assert exposure["owner"]["name"] and exposure["owner"]["email"].endswith("@example.com")
        assert exposure["description"].strip()
