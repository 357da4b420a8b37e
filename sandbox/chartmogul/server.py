"""Run the ChartMogul stand-in: in a background thread (tests, demo) or blocking (CLI)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..serving import BackgroundServer, bind_socket, serve_forever, url_for
from .app import create_app
from .behaviour import Behaviour
from .requestlog import RequestLog
from .store import Store
from .world import load_world

DEFAULT_PORT = 12112


class ChartMogulStandIn:
    """ChartMogul's API on a local port, for the real `chartmogul` SDK:

        with ChartMogulStandIn(world_dir, as_of=day, api_key="cm_test") as cm:
            config = chartmogul.Config("cm_test"); config.uri = cm.url + "/v1"
            cm.set_behaviour(drift_percent=2)         # ChartMogul reports 2 % more
            cm.set_behaviour(fail_next=3, fail_status=503)
            cm.requests.count("/v1/metrics/mrr")

    Without a world it starts empty and learns the business from what is imported.
    """

    def __init__(
        self,
        world_dir: str | Path | None = None,
        *,
        store: Store | None = None,
        as_of: date | None = None,
        api_key: str | None = None,
        drift_percent: float = 0,
        drift_customers=None,
        latency_ms: float = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if store is None:
            store = load_world(world_dir, as_of=as_of) if world_dir else Store(as_of=as_of)
        self.store = store
        self.behaviour = Behaviour(
            api_key=api_key,
            drift_percent=drift_percent,
            drift_customers=drift_customers,
            latency_ms=latency_ms,
        )
        self.requests = RequestLog()
        self.app = create_app(self.store, self.behaviour, self.requests)
        self._server = BackgroundServer(self.app, host, port, name="chartmogul-standin")

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def api_base(self) -> str:
        """What `chartmogul.Config.uri` must be set to."""
        return self.url + "/v1"

    def set_behaviour(self, **changes) -> None:
        """drift_percent, drift_customers, latency_ms, fail_next / fault_next,
        fail_status / fault_status, fail_rate / fault_rate, retry_after, api_key."""
        self.behaviour.update(**changes)

    def start(self, timeout: float = 10.0) -> ChartMogulStandIn:
        self._server.start(timeout)
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> ChartMogulStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(
    world_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    as_of: date | None = None,
    api_key: str | None = None,
    drift_percent: float = 0,
    latency_ms: float = 0,
) -> None:
    """Load the world and serve until interrupted (Ctrl-C)."""
    store = load_world(world_dir, as_of=as_of)
    behaviour = Behaviour(api_key=api_key, drift_percent=drift_percent, latency_ms=latency_ms)
    app = create_app(store, behaviour, RequestLog())
    sock = bind_socket(host, port)
    url = url_for(host, sock.getsockname()[1])
    index = store.index()
    print(
        f"ChartMogul stand-in: {len(store.customers):,} customers from {world_dir}, "
        f"MRR {index.mrr(store.as_of):,.2f} {store.currency} on {store.as_of}"
    )
    print(f"  SDK: config = chartmogul.Config(key); config.uri = '{url}/v1'")
    print(f"  or:  export CHARTMOGUL_API_BASE={url}")
    serve_forever(app, sock)
