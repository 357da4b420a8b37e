"""Where the dbt docs site goes (beside the published copy) and how it gets there."""

import pytest

from serving.docs import docs_site_path, publish_docs_site


def test_the_site_sits_beside_the_published_copy(tmp_path, monkeypatch):
    monkeypatch.delenv("REVWH_PUBLISHED_WAREHOUSE", raising=False)
    warehouse = tmp_path / "wh" / "revenue.duckdb"
    assert docs_site_path(warehouse) == tmp_path / "wh" / "published" / "docs" / "index.html"
    monkeypatch.setenv("REVWH_PUBLISHED_WAREHOUSE", str(tmp_path / "bi" / "marts.duckdb"))
    assert docs_site_path(warehouse) == tmp_path / "bi" / "docs" / "index.html"
    # a PostgreSQL warehouse: beside REVWH_PUBLISHED_WAREHOUSE when set, else warehouse/
    assert docs_site_path("postgresql://u@h/db") == tmp_path / "bi" / "docs" / "index.html"
    monkeypatch.delenv("REVWH_PUBLISHED_WAREHOUSE")
    assert docs_site_path("postgresql://u@h/db").parts[-4:] == (
        "warehouse",
        "published",
        "docs",
        "index.html",
    )


def test_publishing_replaces_the_page_whole(tmp_path, monkeypatch):
    monkeypatch.delenv("REVWH_PUBLISHED_WAREHOUSE", raising=False)
    warehouse = tmp_path / "revenue.duckdb"
    page = tmp_path / "static_index.html"
    for version in ("first", "second"):
        page.write_text(f"<!doctype html>{version}")
        site = publish_docs_site(page, warehouse)
        assert site.read_text() == f"<!doctype html>{version}"
    assert sorted(p.name for p in site.parent.iterdir()) == ["index.html"]
    with pytest.raises(FileNotFoundError, match="dbt wrote no docs page"):
        publish_docs_site(tmp_path / "missing.html", warehouse)
    assert site.read_text() == "<!doctype html>second"
