"""Settings from dlt's configuration, the fallback after our own environment variables.

dlt resolves `sources.<section>.<key>` from, first to last: the environment variable
`SOURCES__<SECTION>__<KEY>`, `.dlt/secrets.toml` and `.dlt/config.toml` in the working
directory, then the same files in `~/.dlt/`. Secrets (API keys, a database URL with a
password) are read from the secrets providers only. `.dlt/config.toml` and
`.dlt/secrets.toml.example` show every key of KEYS; docs/configuration.md the precedence.
"""

from __future__ import annotations

from typing import Any

# LoadOptions field or client setting -> (dlt key, secret)
KEYS: dict[str, tuple[str, bool]] = {
    "stripe_api_key": ("sources.stripe.api_key", True),
    "stripe_api_base": ("sources.stripe.api_base", False),
    "stripe_requests_per_second": ("sources.stripe.requests_per_second", False),
    "app_db": ("sources.app_db.credentials", True),
    "cost_sheets": ("sources.cost_sheets.location", False),
    "fx_rates": ("sources.fx.location", False),
    "chartmogul_api_key": ("sources.chartmogul.api_key", True),
    "chartmogul_api_base": ("sources.chartmogul.api_base", False),
}


def dlt_setting(name: str) -> Any:
    """The value dlt's configuration holds for setting `name` (a key of KEYS); None when
    unset."""
    import dlt

    key, secret = KEYS[name]
    try:
        value: Any = (dlt.secrets if secret else dlt.config).get(key)
    except Exception:  # a broken or absent provider: nothing to read
        return None
    return None if value in (None, "") else value
