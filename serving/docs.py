"""The dbt docs site, published beside the published copy of the marts.

`dbt docs generate --static` writes one self-contained page (static_index.html: the project,
its lineage, the exposures and the warehouse's catalog built in), which opens from disk in a
browser without a server. The daily job writes it to `docs_site_path()`:

    <published copy's folder>/docs/index.html     # warehouse/published/docs/index.html
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from core.warehouse import REPO_ROOT, Warehouse
from serving.publish import PUBLISHED_ENV, published_path

STATIC_PAGE = "static_index.html"  # what `dbt docs generate --static` writes to its target


def docs_site_path(warehouse: str | Path | Warehouse | None = None) -> Path:
    """Where the docs site of `warehouse` (default REVWH_WAREHOUSE) is published:
    `docs/index.html` beside its published copy (REVWH_PUBLISHED_WAREHOUSE, else `<dir>/published/`). A
    PostgreSQL warehouse has no published copy unless REVWH_PUBLISHED_WAREHOUSE is set:
    its site goes to the repository's `warehouse/published/docs/`."""
    target = Warehouse.of(warehouse)
    if target.is_postgres:
        chosen = os.environ.get(PUBLISHED_ENV)
        folder = Path(chosen).parent if chosen else REPO_ROOT / "warehouse" / "published"
    else:
        folder = published_path(target.target).parent
    return folder / "docs" / "index.html"


def publish_docs_site(static_page: str | Path, warehouse: str | Path | Warehouse | None) -> Path:
    """Copy dbt's static page to `docs_site_path(warehouse)` with an atomic swap (a reader
    never opens half a page); returns where it went."""
    static_page = Path(static_page)
    if not static_page.is_file():
        raise FileNotFoundError(f"dbt wrote no docs page at {static_page}")
    target = docs_site_path(warehouse)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        shutil.copyfile(static_page, temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target
