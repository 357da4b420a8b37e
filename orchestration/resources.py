"""Resources: where the warehouse and the inputs are, and the dbt settings. Every field is
optional and read when a run starts (env vars, dlt secrets), never at import: the
definitions load on a machine without any secret."""

import json
from datetime import date

from dagster import ConfigurableResource

from ingestion.run import LoadOptions


class IngestionResource(ConfigurableResource):
    """Inputs of the loaders. Unset fields fall back to the environment the CLI reads:
    REVWH_WAREHOUSE, STRIPE_API_KEY (or the dlt secret sources.stripe.api_key),
    STRIPE_API_BASE, REVWH_APP_DB, REVWH_COST_SHEETS, REVWH_FX_RATES."""

    warehouse: str | None = None
    # a secret: give it as EnvVar("STRIPE_API_KEY") or leave it to the environment
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None
    stripe_requests_per_second: float | None = None
    app_db: str | None = None
    cost_sheets: str | None = None
    fx_rates: str | None = None
    full_refresh: bool = False
    # False: a source whose input is not configured is skipped with a reason, not failed
    required: bool = False

    def options(self) -> LoadOptions:
        return LoadOptions.from_env(
            target=self.warehouse,
            stripe_api_key=self.stripe_api_key,
            stripe_api_base=self.stripe_api_base,
            stripe_requests_per_second=self.stripe_requests_per_second,
            app_db=self.app_db,
            cost_sheets=self.cost_sheets,
            fx_rates=self.fx_rates,
            full_refresh=self.full_refresh or None,
        )


class DbtSettingsResource(ConfigurableResource):
    """The dbt vars of a build: `as_of` (YYYY-MM-DD; unset = the warehouse's today) and
    any others as a JSON object (e.g. '{"allow_estimates": true}')."""

    warehouse: str | None = None
    as_of: str | None = None
    vars_json: str = "{}"
    threads: int | None = None
    full_refresh: bool = False

    def dbt_vars(self) -> dict:
        """The `--vars` of the build; the as-of date goes by the environment (as_of_env)."""
        return json.loads(self.vars_json or "{}")

    def as_of_date(self) -> date | None:
        return date.fromisoformat(self.as_of) if self.as_of else None


class ChartMogulResource(ConfigurableResource):
    """ChartMogul's API for the reconciliation. Unset fields fall back to CHARTMOGUL_API_KEY
    and CHARTMOGUL_API_BASE when the reconciliation runs (a missing key fails that run and
    names the variable; the definitions load without it). Timeouts and retries are ours:
    the SDK retries nothing over http and waits forever by default."""

    # a secret: give it as EnvVar("CHARTMOGUL_API_KEY") or leave it to the environment
    api_key: str | None = None
    api_base: str | None = None
    timeout_seconds: float = 30.0
    max_attempts: int = 5

    def client(self):
        from orchestration.chartmogul.client import ChartMogulClient

        return ChartMogulClient(
            self.api_key,
            api_base=self.api_base,
            timeout_seconds=self.timeout_seconds,
            max_attempts=self.max_attempts,
        )


class AlertsResource(ConfigurableResource):
    """Where alerts go: always the run's log, plus the Slack webhook and SMTP server set in
    REVWH_ALERT_* (read when an alert is sent, so the definitions load without them)."""

    enabled: bool = True

    def send(self, alert, logger=None):
        from orchestration.alerts import send_alert

        # None: the sinks configured in the environment (a broken setup is reported, and the
        # alert still reaches the log); []: the log only
        return send_alert(alert, None if self.enabled else [], logger=logger)
