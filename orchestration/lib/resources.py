"""The resource types of the code location: the loaders' inputs, the run's warehouse and
settings, ChartMogul and the alert sinks (dbt's is in `dbt.py`)."""

import json
from datetime import UTC

import dagster as dg

from core.settings import RunSettings, parse_as_of
from core.warehouse import Warehouse
from ingestion.run import LoadOptions


class IngestionResource(dg.ConfigurableResource):
    """Inputs of the loaders. Unset fields fall back to the environment the CLI reads:
    REVWH_WAREHOUSE, STRIPE_API_KEY (or the dlt secret sources.stripe.api_key),
    STRIPE_API_BASE, REVWH_APP_DB, REVWH_COST_SHEETS, REVWH_FX_RATES."""

    warehouse: str | None = None
    # a secret: EnvVar("STRIPE_API_KEY"), else dlt's secrets file (sources.stripe.api_key)
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


class RunSettingsResource(dg.ConfigurableResource):
    """The warehouse and settings of a build: `as_of` (YYYY-MM-DD; unset = today in UTC,
    fixed when the run starts) and any other dbt vars as a JSON object (e.g.
    '{"allow_estimates": true}')."""

    warehouse: str | None = None
    as_of: str | None = None
    vars_json: str = "{}"
    threads: int | None = None
    full_refresh: bool = False

    def target(self) -> Warehouse:
        return Warehouse.of(self.warehouse)

    def settings(
        self,
        context: dg.AssetExecutionContext
        | dg.OpExecutionContext
        | dg.AssetCheckExecutionContext
        | None = None,
    ) -> RunSettings:
        """The run's settings. With no as-of date set, "today" is the day the run was
        created (UTC), so every step of a run agrees even when it runs past midnight."""
        as_of = parse_as_of(self.as_of)
        if as_of is None and context is not None:
            record = context.instance.get_run_record_by_id(context.run.run_id)
            if record is not None:
                as_of = record.create_timestamp.astimezone(UTC).date()
        return RunSettings.of(as_of, json.loads(self.vars_json or "{}"))


class ChartMogulResource(dg.ConfigurableResource):
    """ChartMogul's API for the reconciliation. Timeouts and retries are ours: the SDK
    retries nothing over http and waits forever by default."""

    # a secret: EnvVar("CHARTMOGUL_API_KEY"); unset, a reconciliation fails naming it
    api_key: str | None = None
    api_base: str | None = None
    timeout_seconds: float = 30.0
    max_attempts: int = 5
    # the sync's request budget; None: CHARTMOGUL_SYNC_RPS, else ChartMogul's 40/s
    sync_requests_per_second: float | None = None

    def client(self):
        from ingestion.chartmogul.client import ChartMogulClient

        return ChartMogulClient(
            self.api_key,
            api_base=self.api_base,
            timeout_seconds=self.timeout_seconds,
            max_attempts=self.max_attempts,
        )

    def sync_settings(self):
        """What the ChartMogul sync sends with: this key and base, the rest (data source
        name, batch size, concurrency, requests per second, enabled) from the environment."""
        from serving.chartmogul_sync import SyncSettings

        return SyncSettings.from_env(
            api_key=self.api_key,
            api_base=self.api_base,
            requests_per_second=self.sync_requests_per_second,
        )


class AlertsResource(dg.ConfigurableResource):
    """Where alerts go: always the run's log, plus the destinations set in REVWH_ALERT_*
    (read when an alert is sent, so the definitions load without them)."""

    enabled: bool = True

    def send(self, alert, logger=None):
        from alerts import send_alert

        # None: the sinks configured in the environment (a broken setup is reported, and the
        # alert still reaches the log); []: the log only
        return send_alert(alert, None if self.enabled else [], logger=logger)
