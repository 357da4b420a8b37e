"""Local receivers for alert tests: a Slack-like webhook (Starlette, served by the repo's
BackgroundServer) and an SMTP server (aiosmtpd), both recording what they get. apprise's Slack
service posts to hooks.slack.com: the `webhook` fixture points it at the local receiver, so
the tests configure a real Slack webhook URL (`webhook.url`)."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.serving import BackgroundServer

WEBHOOK_PATH = "/services/T0ALERTS/B0REVWH/s3cr3tWebhookToken42"
SLACK_HOOKS = "https://hooks.slack.com"
SMTP_USER = "alerts@example.com"
SMTP_PASSWORD = "hunter2-Sup3rS3cret"


@dataclass
class WebhookReceiver:
    """Records every POST; answers with the queued status codes, then 200 `ok`."""

    url: str = ""
    requests: list[dict] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def hook(request: Request):
            body = await request.json()
            with self.lock:
                self.requests.append(
                    {"path": request.url.path, "json": body, "headers": dict(request.headers)}
                )
                status = self.statuses.pop(0) if self.statuses else 200
            if status == 429:
                return PlainTextResponse("rate_limited", 429, headers={"Retry-After": "0"})
            if status >= 400:
                # echo the URL, as some servers do, to check that reasons are masked
                return PlainTextResponse(f"error {status} for {request.url}", status)
            return PlainTextResponse("ok")

        return Starlette(routes=[Route("/services/{rest:path}", hook, methods=["POST"])])


def slack_to(monkeypatch, base_url: str) -> None:
    """apprise's Slack service posts to `base_url`/services/… instead of hooks.slack.com,
    without its 1.2 s pause between two requests."""
    from apprise.plugins.slack import NotifySlack

    monkeypatch.setattr(NotifySlack, "webhook_url", base_url + "/services")
    monkeypatch.setattr(NotifySlack, "request_rate_per_sec", 0)


@pytest.fixture
def webhook(monkeypatch):
    receiver = WebhookReceiver()
    with BackgroundServer(receiver.app(), name="webhook-receiver") as server:
        slack_to(monkeypatch, server.url)
        receiver.url = SLACK_HOOKS + WEBHOOK_PATH
        yield receiver


class RecordingHandler:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(
            email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler
    logins: list[str]

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages


def start_smtp(*, with_auth: bool) -> tuple[Controller, SmtpServer]:
    handler = RecordingHandler()
    logins: list[str] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == SMTP_PASSWORD
        )
        if ok:
            logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)

    kwargs = {"authenticator": authenticator, "auth_require_tls": False} if with_auth else {}
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller, SmtpServer("127.0.0.1", controller.port, handler, logins)


@contextmanager
def running_smtp(*, with_auth: bool) -> Iterator[SmtpServer]:
    controller, server = start_smtp(with_auth=with_auth)
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    with running_smtp(with_auth=False) as server:
        yield server


@pytest.fixture
def smtp_auth_server():
    with running_smtp(with_auth=True) as server:
        yield server


@pytest.fixture
def alert_sinks(monkeypatch, webhook, smtp_server):
    """The alert sinks of the environment (REVWH_ALERT_*) pointed at the local receivers:
    (webhook receiver, SMTP server)."""
    monkeypatch.setenv("REVWH_ALERT_SLACK_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("REVWH_ALERT_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("REVWH_ALERT_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("REVWH_ALERT_SMTP_FROM", "revwh@example.com")
    monkeypatch.setenv("REVWH_ALERT_SMTP_TO", "finance@example.com")
    monkeypatch.setenv("REVWH_ALERT_SMTP_STARTTLS", "false")
    return webhook, smtp_server
