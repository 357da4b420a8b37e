"""The published copy of the small world's run opens in what BI tools bundle: an older DuckDB
(1.x, in an isolated environment made by uv) reads every mart, row for row as many as this
DuckDB sees, and every mart's table and column descriptions (dbt's persist_docs, kept by the
copy).

uv makes the environment: `uv` on PATH or `.tools/bin/uv` (the Makefile's); it needs PyPI (or
uv's cache). Without them the test skips with the reason, except in CI (CI=true), where it
fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO_ROOT

# DuckDB 1.4: what Metabase's and DBeaver's drivers, Evidence, Rill and npm bundle today;
# 1.0: the oldest release the default storage version (v1.0.0) promises
OLDER_DUCKDBS = ("1.4.*", "1.0.*")

READ_EVERY_MART = r"""
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
tables = [name for (name,) in con.execute(
    "select table_name from duckdb_tables() where schema_name = 'marts' order by 1").fetchall()]
print(json.dumps({
    "version": duckdb.__version__,
    "rows": {t: con.execute(f'select count(*) from marts."{t}"').fetchone()[0] for t in tables},
    "tables": dict(con.execute(
        "select table_name, comment from duckdb_tables() where schema_name = 'marts'").fetchall()),
    "columns": [list(row) for row in con.execute(
        "select table_name, column_name, comment from duckdb_columns() "
        "where schema_name = 'marts' order by 1, column_index").fetchall()],
}))
"""


# what uv says when it cannot reach the package index
OFFLINE = ("Failed to fetch", "error sending request", "dns error", "Could not connect")


def offline(stderr: str) -> bool:
    return any(marker in stderr for marker in OFFLINE)


def uv_executable() -> str | None:
    return shutil.which("uv") or (
        str(REPO_ROOT / ".tools" / "bin" / "uv")
        if (REPO_ROOT / ".tools" / "bin" / "uv").is_file()
        else None
    )


def skip_unless_ci(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must open the published copy with an older DuckDB, but {reason}")
    pytest.skip(reason)


def read_with(duckdb_spec: str, path: Path, tmp_path: Path) -> dict:
    uv = uv_executable()
    if uv is None:
        skip_unless_ci("uv is neither on PATH nor in .tools/bin (run `make install`)")
    script = tmp_path / "read_every_mart.py"
    script.write_text(READ_EVERY_MART)
    done = subprocess.run(
        [uv, "run", "--isolated", "--no-project", "--python", sys.executable,
         "--with", f"duckdb=={duckdb_spec}", "python", str(script), str(path)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    if done.returncode != 0 and offline(done.stderr):
        skip_unless_ci(f"uv could not download duckdb=={duckdb_spec}: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def published_copy(small_run) -> Path:
    done, warehouse, output = small_run
    assert done.returncode == 0, output
    path = warehouse.parent / "published" / f"{warehouse.stem}.duckdb"
    assert path.is_file(), output
    return path


@pytest.mark.parametrize("duckdb_spec", OLDER_DUCKDBS)
def test_an_older_duckdb_reads_every_mart_and_its_descriptions(
    published_copy, duckdb_spec, tmp_path
):
    seen = read_with(duckdb_spec, published_copy, tmp_path)
    assert seen["version"].startswith(duckdb_spec.rstrip("*"))

    with duckdb.connect(str(published_copy), read_only=True) as con:
        marts = [name for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()]  # fmt: skip
        rows = {t: con.execute(f'select count(*) from marts."{t}"').fetchone()[0] for t in marts}
    assert len(marts) > 20 and "kpis" in marts
    assert seen["rows"] == rows
    assert sum(rows.values()) > 0

    models = [name for name in marts if name != "_published"]  # the copy's own metadata
    undescribed_tables = [t for t in models if not seen["tables"].get(t)]
    undescribed_columns = [
        f"{table}.{column}" for table, column, comment in seen["columns"]
        if table in models and not comment
    ]  # fmt: skip
    assert not undescribed_tables, undescribed_tables
    assert not undescribed_columns, undescribed_columns
    assert len([c for c in seen["columns"] if c[0] in models]) > 300
    kpi_columns = {column: comment for table, column, comment in seen["columns"] if table == "kpis"}
    assert len(kpi_columns["kpi"]) > 10


def test_python_recipe_reads_the_copy_read_only(published_copy):
    """docs/bi.md, Python: duckdb.connect(path, read_only=True)."""
    with duckdb.connect(str(published_copy), read_only=True) as con:
        months = con.sql(
            "select * from marts.mrr_summary_monthly order by month desc limit 12"
        ).fetchall()
        comments = con.sql(
            "select column_name, comment from duckdb_columns() where table_name = 'kpis'"
        ).fetchall()
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("delete from marts.kpis")
    assert len(months) == 12
    assert comments and all(comment for _, comment in comments)


def test_cli_recipe_reads_the_copy(published_copy, tmp_path):
    """docs/bi.md, DuckDB CLI: `uvx --from duckdb-cli duckdb -readonly <copy>` (DuckDB's CLI
    from PyPI, run by uv)."""
    uv = uv_executable()
    if uv is None:
        skip_unless_ci("uv is neither on PATH nor in .tools/bin (run `make install`)")
    with duckdb.connect(str(published_copy), read_only=True) as con:
        (expected,) = con.execute("select count(*) from marts.mrr_summary_monthly").fetchone()
    done = subprocess.run(
        [uv, "tool", "run", "--isolated", "--from", "duckdb-cli", "duckdb", "-readonly",
         "-json", str(published_copy), "-c",
         "select count(*) as months from marts.mrr_summary_monthly"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    if done.returncode != 0 and offline(done.stderr):
        skip_unless_ci(f"uv could not download duckdb-cli: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"months": expected}]


def test_superset_recipe_reads_the_copy_through_sqlalchemy(published_copy):
    """docs/bi.md, Superset: duckdb-engine's URL with access_mode=read_only."""
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(f"duckdb:///{published_copy}?access_mode=read_only")
    try:
        with engine.connect() as connection:
            kpis = connection.execute(text("select count(*) from marts.kpis")).scalar()
            comment = inspect(connection).get_table_comment("kpis", schema="marts")
            with pytest.raises(SQLAlchemyError, match="read-only"):
                connection.execute(text("create table marts.scratch (x int)"))
    finally:
        engine.dispose()
    with duckdb.connect(str(published_copy), read_only=True) as con:
        assert kpis == con.execute("select count(*) from marts.kpis").fetchone()[0] > 0
    assert comment["text"].startswith("The KPI table")
