"""Run the Stripe stand-in: in a background thread (tests) or blocking (CLI)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from .app import create_app
from .behaviour import DEFAULT_RATE_LIMIT, Behaviour
from .fixtures import Store
from .loader import load_fixtures
from .requestlog import RequestLog

DEFAULT_PORT = 12111  # stripe-mock's port, so tools that know it find us


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listen at once: clients that connect before uvicorn runs wait in the backlog.
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _uvicorn_server(app: Any) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        # Keep idle SDK connections open across slow test steps.
        timeout_keep_alive=30,
    )
    return uvicorn.Server(config)


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
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> StripeStandIn:
        if self._thread is not None:
            return self
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        server = _uvicorn_server(self.app)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="stripe-standin", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the Stripe stand-in did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None
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
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    print(f"Stripe stand-in: fixtures {store.source} (as_of {store.as_of})")
    for name, count in store.counts().items():
        print(f"  {name:<14}{count:>10}")
    limit = f"{rate_limit:g} req/s" if rate_limit else "unlimited"
    print(
        f"loaded in {time.perf_counter() - started:.1f}s; rate limit {limit}, "
        f"latency {latency_ms:g} ms, fault rate {fault_rate:g}"
    )
    print(f"listening on http://{shown_host}:{bound_port}", flush=True)
    try:
        _uvicorn_server(app).run(sockets=[sock])
    finally:
        log.close()
