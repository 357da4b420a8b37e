"""Run the ChartMogul stand-in: in a background thread (tests, demo) or blocking (CLI)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

from ..serving import BackgroundServer, bind_socket, serve_forever, url_for
from .app import create_app
from .behaviour import DEFAULT_FAULT_STATUSES, Behaviour
from .requestlog import RequestLog
from .store import Store
from .world import load_fx_rates, load_world

DEFAULT_PORT = 12112

FxRates = str | Path | Mapping[tuple[str, date], Decimal] | None


def _rates(fx_rates: FxRates) -> Mapping[tuple[str, date], Decimal] | None:
    if fx_rates is None or isinstance(fx_rates, Mapping):
        return fx_rates
    return load_fx_rates(fx_rates)


def build_store(
    world_dir: str | Path | None, *, as_of: date | None = None, fx_rates: FxRates = None
) -> Store:
    """The world's business as if imported, or (no world) an empty account that learns the
    business from what is imported; `fx_rates` (a date,currency,rate CSV or a mapping)
    replaces the world's fx_rates.csv."""
    rates = _rates(fx_rates)
    if world_dir:
        return load_world(world_dir, as_of=as_of, fx_rates=rates)
    return Store(as_of=as_of, fx_rates=rates)


class ChartMogulStandIn:
    """ChartMogul's API on a local port, for the real `chartmogul` SDK:

        with ChartMogulStandIn(world_dir, as_of=day, api_key="cm_test") as cm:
            config = chartmogul.Config("cm_test"); config.uri = cm.api_base
            cm.set_behaviour(drift_percent=2)         # ChartMogul reports 2 % more
            cm.set_behaviour(fail_next=3, fail_status=503)
            cm.requests.count("/v1/metrics/mrr")

    Without a world it starts empty and learns the business from what is imported:

        with ChartMogulStandIn(as_of=day, fx_rates="fx_rates.csv", rate_limit=40) as cm:
            cm.set_behaviour(die_after_requests=100)  # then every connection fails
            ...
            cm.revive()                               # same store, same port

    Behaviour (constructor and set_behaviour, see Behaviour): api_key, drift_percent,
    drift_customers, latency_ms, rate_limit, max_connections, fault_rate, fault_statuses,
    seed, fault_next/fail_next, fault_status/fail_status, retry_after, die_after_requests.
    """

    def __init__(
        self,
        world_dir: str | Path | None = None,
        *,
        store: Store | None = None,
        as_of: date | None = None,
        fx_rates: FxRates = None,
        api_key: str | None = None,
        drift_percent: float = 0,
        drift_customers=None,
        latency_ms: float = 0,
        rate_limit: float | None = None,
        max_connections: int | None = None,
        fault_rate: float = 0,
        fault_statuses: Iterable[int] = DEFAULT_FAULT_STATUSES,
        seed: int = 0,
        die_after_requests: int | None = None,
        request_log_path: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.store = store or build_store(world_dir, as_of=as_of, fx_rates=fx_rates)
        self.behaviour = Behaviour(
            api_key=api_key,
            drift_percent=drift_percent,
            drift_customers=drift_customers,
            latency_ms=latency_ms,
            rate_limit=rate_limit,
            max_connections=max_connections,
            fault_rate=fault_rate,
            fault_statuses=fault_statuses,
            seed=seed,
            die_after_requests=die_after_requests,
        )
        self.requests = RequestLog(request_log_path)
        self.app = create_app(self.store, self.behaviour, self.requests, on_death=self._kill)
        self._server = BackgroundServer(self.app, host, port, name="chartmogul-standin")

    def _kill(self) -> None:
        self._server.kill()

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def api_base(self) -> str:
        """What `chartmogul.Config.uri` must be set to."""
        return self.url + "/v1"

    @property
    def alive(self) -> bool:
        return self._server.alive

    def set_behaviour(self, **changes) -> None:
        """Any Behaviour setting, e.g. drift_percent, fail_next, rate_limit,
        die_after_requests; settings left out keep their value."""
        self.behaviour.update(**changes)

    def start(self, timeout: float = 10.0) -> ChartMogulStandIn:
        """Serve; after a death (die_after_requests) the same as revive()."""
        if self.behaviour.dead or (self._server.running and not self._server.alive):
            return self.revive(timeout)
        self._server.start(timeout)
        return self

    def revive(self, timeout: float = 10.0) -> ChartMogulStandIn:
        """Serve the same store on the same port again, after a death."""
        self._server.stop()
        self.behaviour.revive()
        self._server.start(timeout)
        return self

    def stop(self) -> None:
        self._server.stop()
        self.requests.close()

    def __enter__(self) -> ChartMogulStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(
    world_dir: str | Path | None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    as_of: date | None = None,
    fx_rates: FxRates = None,
    api_key: str | None = None,
    drift_percent: float = 0,
    latency_ms: float = 0,
    rate_limit: float | None = None,
    max_connections: int | None = None,
    fault_rate: float = 0,
    seed: int = 0,
    request_log_path: str | Path | None = None,
) -> None:
    """Serve the world's business (or, with world_dir None, an empty account) until
    interrupted (Ctrl-C)."""
    store = build_store(world_dir, as_of=as_of, fx_rates=fx_rates)
    behaviour = Behaviour(
        api_key=api_key,
        drift_percent=drift_percent,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        max_connections=max_connections,
        fault_rate=fault_rate,
        seed=seed,
    )
    log = RequestLog(request_log_path)
    app = create_app(store, behaviour, log)
    sock = bind_socket(host, port)
    url = url_for(host, sock.getsockname()[1])
    if world_dir:
        index = store.index()
        print(
            f"ChartMogul stand-in: {len(store.customers):,} customers from {world_dir}, "
            f"MRR {index.mrr(store.as_of):,.2f} {store.currency} on {store.as_of}"
        )
    else:
        currencies = store.fx_currencies()
        print(
            f"ChartMogul stand-in: empty account ({store.currency}, as of {store.as_of}); "
            f"exchange rates for {', '.join(currencies) or 'no other currency'}"
        )
    limits = f"{rate_limit:g} req/s" if rate_limit else "no rate limit"
    if max_connections:
        limits += f", {max_connections} parallel requests"
    print(f"  {url}  ({limits}, latency {latency_ms:g} ms, fault rate {fault_rate:g})")
    print(f"  SDK: config = chartmogul.Config(key); config.uri = '{url}/v1'")
    print(f"  or:  export CHARTMOGUL_API_BASE={url}")
    if request_log_path:
        print(f"  requests logged to {request_log_path}")
    try:
        serve_forever(app, sock)
    finally:
        log.close()
