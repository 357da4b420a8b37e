"""Load several sources in one go; a source whose input is absent is skipped, not fatal."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from core.sources import LOADED_SOURCE_NAMES, source_named
from core.warehouse import Warehouse

from .config import dlt_setting
from .report import LoadReport


@dataclass
class LoadOptions:
    target: str | None = None  # warehouse: DuckDB path or postgresql:// URL
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None
    stripe_requests_per_second: float | None = None
    app_db: str | None = None  # SQLAlchemy URL or SQLite file path
    cost_sheets: str | None = None  # folder or fsspec URL
    fx_rates: str | None = None  # file or URL
    full_refresh: bool = False

    @classmethod
    def from_env(cls, **given) -> LoadOptions:
        """Fill what was not given from the environment, then from dlt's configuration
        (ingestion.config: SOURCES__... variables, .dlt/config.toml, .dlt/secrets.toml)."""
        inputs = {
            "app_db": source_named("app").input_env,
            "cost_sheets": source_named("costs").input_env,
            "fx_rates": source_named("fx").input_env,
        }
        env: dict[str, Any] = {
            "target": os.environ.get("REVWH_WAREHOUSE"),
            "stripe_api_key": os.environ.get("STRIPE_API_KEY")
            or os.environ.get("SOURCES__STRIPE__API_KEY"),
            "stripe_api_base": os.environ.get("STRIPE_API_BASE"),
            **{field: os.environ.get(variable) for field, variable in inputs.items()},
        }
        for field in ("stripe_api_base", "stripe_requests_per_second", *inputs):
            if env.get(field) is None and given.get(field) is None:
                env[field] = dlt_setting(field)
        if env.get("stripe_requests_per_second") is not None:
            env["stripe_requests_per_second"] = float(env["stripe_requests_per_second"])
        return cls(
            **{k: v for k, v in env.items() if v is not None}
            | {k: v for k, v in given.items() if v is not None}
        )


def load(source: str, options: LoadOptions, required: bool = False) -> LoadReport:
    """Run one source. Unless `required`, an absent input gives a skipped report. Raises
    WarehouseLockedError, naming the process, when another one holds the DuckDB file."""
    Warehouse.of(options.target).check_writable()
    if source == "stripe":
        from .stripe.api import StripeConfigError, resolve_api_key
        from .stripe.load import load_stripe

        try:
            key = resolve_api_key(options.stripe_api_key)
        except StripeConfigError:
            if required:
                raise
            return LoadReport("stripe", skipped="no STRIPE_API_KEY set")
        return load_stripe(
            key,
            options.stripe_api_base,
            options.target,
            options.full_refresh,
            options.stripe_requests_per_second,
        )
    if source == "app":
        from .app_db.load import load_app_db

        return load_app_db(options.app_db, options.target, options.full_refresh)
    if source == "costs":
        from .cost_sheets.load import load_cost_sheets

        return load_cost_sheets(options.cost_sheets, options.target, options.full_refresh)
    if source == "fx":
        from .fx.load import load_fx_rates

        return load_fx_rates(options.fx_rates, options.target, options.full_refresh)
    raise ValueError(
        f"unknown source {source!r}; choose from {', '.join(LOADED_SOURCE_NAMES)} or all"
    )
