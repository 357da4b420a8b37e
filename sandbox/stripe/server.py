"""Run the Stripe stand-in: in a background thread (tests) or blocking (CLI)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..serving import BackgroundServer, bind_socket, serve_forever, url_for
from .app import create_app
from .behaviour import DEFAULT_RATE_LIMIT, Behaviour
from .fixtures import Store
from .loader import load_fixtures
from .requestlog import RequestLog

DEFAULT_PORT = 12111  # stripe-mock's port, so tools that know it find us


def _store(fixtures: str | Path | Store) -> Store:
    return fixtures if isinstance(fixtures, Store) else load_fixtures(fixtures)


class StripeStandIn:
    """A Stripe API stand-in on a free local port, for tests.

        with StripeStandIn(fixtures_dir, rate_limit=None) as standin:
            client = stripe.StripeClient("sk_test_x", base_addresses={"api": standin.url})

    `fixtures` may also be an already loaded Store, to share one between servers.
    """

    def __init__(
        self,
        fixtures: str | Path | Store,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        latency_ms: float = 0.0,
        fault_rate: float = 0.0,
        seed: int = 0,
        request_log_path: str | Path | None = None,
        api_key: str | None = None,
    ) -> None:
        self.store = _store(fixtures)
        self.host = host
        self.port = port
        self.behaviour = Behaviour(
            api_key=api_key,
            rate_limit=rate_limit,
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            seed=seed,
        )
        self.requests = RequestLog(request_log_path)
        self.app = create_app(self.store, self.behaviour, self.requests)
        self._server = BackgroundServer(self.app, host, port, name="stripe-standin")

    @property
    def url(self) -> str:
        return url_for(self.host, self.port)

    def start(self, timeout: float = 10.0) -> StripeStandIn:
        self._server.start(timeout)
        self.port = self._server.port
        return self

    def stop(self) -> None:
        self._server.stop()
        self.requests.close()

    def reset_log(self) -> None:
        self.requests.clear()

    def set_faults(
        self,
        *,
        rate_limit: Any = ...,
        latency_ms: Any = ...,
        fault_rate: Any = ...,
        seed: int | None = None,
    ) -> None:
        """Change behaviour while running; arguments left out keep their value."""
        changes = {
            name: value
            for name, value in (
                ("rate_limit", rate_limit),
                ("latency_ms", latency_ms),
                ("fault_rate", fault_rate),
            )
            if value is not ...
        }
        self.behaviour.update(**changes, seed=seed)

    def __enter__(self) -> StripeStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve(
    fixtures_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    rate_limit: float | None = DEFAULT_RATE_LIMIT,
    latency_ms: float = 0.0,
    fault_rate: float = 0.0,
    seed: int = 0,
    request_log_path: str | Path | None = None,
    api_key: str | None = None,
) -> None:
    """Load the fixtures and serve until interrupted (Ctrl-C)."""
    started = time.perf_counter()
    store = load_fixtures(fixtures_dir)
    behaviour = Behaviour(
        api_key=api_key,
        rate_limit=rate_limit,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        seed=seed,
    )
    log = RequestLog(request_log_path)
    app = create_app(store, behaviour, log)
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    print(f"Stripe stand-in: fixtures {store.source} (as_of {store.as_of})")
    for name, count in store.counts().items():
        print(f"  {name:<14}{count:>10}")
    limit = f"{rate_limit:g} req/s" if rate_limit else "unlimited"
    print(
        f"loaded in {time.perf_counter() - started:.1f}s; rate limit {limit}, "
        f"latency {latency_ms:g} ms, fault rate {fault_rate:g}"
    )
    print(f"listening on {url_for(host, bound_port)}", flush=True)
    try:
        serve_forever(app, sock)
    finally:
        log.close()
