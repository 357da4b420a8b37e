"""Serve an ASGI app with uvicorn: in a background thread (tests, in-process stand-ins) or
blocking (CLI). Shared by every stand-in and by the tests' local receivers."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listen at once: clients that connect before uvicorn runs wait in the backlog.
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def uvicorn_server(app: Any) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        # Keep idle SDK connections open across slow test steps.
        timeout_keep_alive=30,
    )
    return uvicorn.Server(config)


def url_for(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve_forever(app: Any, sock: socket.socket) -> None:
    """Block serving `app` on an already bound socket until interrupted."""
    uvicorn_server(app).run(sockets=[sock])


class BackgroundServer:
    """An ASGI app on a local port, served from a daemon thread.

    with BackgroundServer(app) as server:
        httpx.get(server.url + "/health")
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, name: str = "server"):
        self.app = app
        self.host = host
        self.port = port
        self.name = name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return url_for(self.host, self.port)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        if self._thread is not None:
            return self
        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        server = uvicorn_server(self.app)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=self.name, daemon=True
        )
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        return self

    @property
    def alive(self) -> bool:
        """Serving: started, and neither stopped nor killed."""
        return self._thread is not None and self._thread.is_alive()

    def kill(self) -> None:
        """Stop at once, as if the process died: every open connection is closed without an
        answer and the port stops listening. Call it on the server's own loop (from a
        request handler); stop() then start() serve again on the same port."""
        server = self._server
        if server is None:
            return
        server.should_exit = server.force_exit = True
        for listener in server.servers:
            listener.close()
        for connection in list(server.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.close()

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
