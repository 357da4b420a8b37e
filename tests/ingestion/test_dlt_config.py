"""dlt's configuration files as the loaders read them: every key that .dlt/config.toml and
.dlt/secrets.toml.example show is read, the environment wins over them, and the committed
config.toml sets nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from ingestion.config import KEYS

REPO = Path(__file__).resolve().parents[2]
# what the child process prints: every setting as the loaders resolve it
READ = """
import json
from ingestion.chartmogul.client import ChartMogulClient
from ingestion.run import LoadOptions
from ingestion.stripe.api import resolve_api_key
options = LoadOptions.from_env()
client = ChartMogulClient()
print(json.dumps({
    "stripe_api_key": resolve_api_key(None),
    "stripe_api_base": options.stripe_api_base,
    "stripe_requests_per_second": options.stripe_requests_per_second,
    "app_db": options.app_db,
    "cost_sheets": options.cost_sheets,
    "fx_rates": options.fx_rates,
    "chartmogul_api_key": client.config.auth[0],
    "chartmogul_api_base": client.api_base,
}))
"""
SETTING = re.compile(r"^# (?P<key>\w+) = (?P<value>.+)$")


def _uncommented(text: str) -> str:
    """The file with the example settings of its [sources.*] tables switched on."""
    lines, section = [], ""
    for line in text.splitlines():
        if line.startswith("["):
            section = line
        elif line.startswith("# ["):
            section = ""
        match = SETTING.match(line)
        lines.append(line[2:] if match and section.startswith("[sources.") else line)
    return "\n".join(lines) + "\n"


def _read(cwd: Path, env_extra: dict[str, str] | None = None) -> dict:
    prefixes = ("REVWH_", "STRIPE_", "CHARTMOGUL_", "SOURCES__")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env |= {"PYTHONPATH": str(REPO), "HOME": str(cwd)} | (env_extra or {})
    done = subprocess.run(
        [sys.executable, "-c", READ], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _examples(folder: Path) -> tuple[dict, dict]:
    (folder / ".dlt").mkdir()
    config = _uncommented((REPO / ".dlt" / "config.toml").read_text())
    secrets = (REPO / ".dlt" / "secrets.toml.example").read_text()
    (folder / ".dlt" / "config.toml").write_text(config)
    (folder / ".dlt" / "secrets.toml").write_text(secrets)
    return tomllib.loads(config), tomllib.loads(secrets)


def _lookup(document: dict, dotted: str):
    for part in dotted.split("."):
        document = document.get(part, {})
    return document or None


def test_every_documented_key_is_read_from_the_dlt_files(tmp_path):
    config, secrets = _examples(tmp_path)
    read = _read(tmp_path)
    for name, (key, secret) in KEYS.items():
        expected = _lookup(secrets if secret else config, key)
        assert expected is not None, f"{key} is not shown in .dlt/ ({name})"
        got = read[name]
        assert (got.rstrip("/") if isinstance(got, str) else got) == expected, key


def test_the_environment_wins_over_the_dlt_files(tmp_path):
    _examples(tmp_path)
    env = {
        "STRIPE_API_KEY": "sk_test_fromenv",
        "STRIPE_API_BASE": "http://stripe.env",
        "REVWH_APP_DB": "sqlite:///env.sqlite",
        "REVWH_COST_SHEETS": "/env/costs",
        "REVWH_FX_RATES": "/env/fx.csv",
        "CHARTMOGUL_API_KEY": "cm_env",
        "CHARTMOGUL_API_BASE": "http://chartmogul.env",
        "SOURCES__STRIPE__REQUESTS_PER_SECOND": "7",
    }
    read = _read(tmp_path, env)
    assert read == {
        "stripe_api_key": "sk_test_fromenv",
        "stripe_api_base": "http://stripe.env",
        "stripe_requests_per_second": 7.0,
        "app_db": "sqlite:///env.sqlite",
        "cost_sheets": "/env/costs",
        "fx_rates": "/env/fx.csv",
        "chartmogul_api_key": "cm_env",
        "chartmogul_api_base": "http://chartmogul.env",
    }


def test_the_committed_config_sets_nothing():
    config = tomllib.loads((REPO / ".dlt" / "config.toml").read_text())
    assert all(not table for table in config.get("sources", {}).values()), config
    assert set(config) <= {"sources"}, config
    assert not (REPO / ".dlt" / "secrets.toml").exists() or _ignored(".dlt/secrets.toml")


def _ignored(path: str) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0


def test_the_secrets_file_is_never_committed():
    assert _ignored(".dlt/secrets.toml")
    assert not _ignored(".dlt/secrets.toml.example")
