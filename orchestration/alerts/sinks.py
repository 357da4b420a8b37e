"""Where alerts go: the log (always), a Slack incoming webhook and email over SMTP.

A sink's `name` is safe to show: it never holds a secret (the webhook is named by its host
only). `deliver` raises DeliveryError with a reason; the caller masks secrets in it."""

from __future__ import annotations

import logging
import smtplib
import ssl
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from orchestration.alerts.model import Alert, Severity
from orchestration.alerts.redact import url_host, url_secrets

ALERT_LOGGER = "orchestration.alerts"
RETRY_AFTER_MAX = 30.0
Redact = Callable[[object], str]


class DeliveryError(Exception):
    """A sink could not deliver an alert; `attempts` is how many tries it made."""

    def __init__(self, reason: str, attempts: int = 1):
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


class Sink(ABC):
    name: str

    def secrets(self) -> Sequence[str]:
        """Values that must never appear in a log line or error message."""
        return ()

    @abstractmethod
    def deliver(self, alert: Alert, *, logger: Any = None, redact: Redact = str) -> int:
        """Send the alert; return the number of attempts made, raise DeliveryError.
        `logger` is the caller's logger; whatever the sink logs goes through `redact`."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def default_logger() -> logging.Logger:
    return logging.getLogger(ALERT_LOGGER)


class LogSink(Sink):
    """Writes the alert's text to python logging or a Dagster log manager (`context.log`):
    error or warning by severity. With no logger of its own it uses the one given to
    send_alert, else the `orchestration.alerts` logger."""

    name = "log"

    def __init__(self, logger: Any = None):
        self.logger = logger

    def deliver(self, alert: Alert, *, logger: Any = None, redact: Redact = str) -> int:
        target = self.logger or logger or default_logger()
        method = target.error if alert.severity is Severity.ERROR else target.warning
        method(redact(f"ALERT {alert.text()}"))
        return 1


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers.get("retry-after", "")), RETRY_AFTER_MAX)
    except ValueError:
        return None


class SlackWebhookSink(Sink):
    """POSTs `{"text", "blocks"}` to a Slack incoming webhook. 429, 5xx, timeouts and
    connection errors are retried (`attempts` in all, exponential backoff from `backoff`
    seconds, Retry-After honoured up to 30 s); any other non-2xx fails at once."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 1.0,
        backoff_max: float = 10.0,
    ):
        if not url.lower().startswith(("https://", "http://")):
            raise ValueError("the Slack webhook URL must start with https:// or http://")
        self.url = url
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.name = f"slack({url_host(url)})"

    def secrets(self) -> Sequence[str]:
        return url_secrets(self.url)

    def payload(self, alert: Alert) -> dict[str, Any]:
        return {"text": alert.text(), "blocks": alert.slack_blocks()}

    def _wait(self, retry_state) -> float:
        exponential = wait_exponential(multiplier=self.backoff, max=self.backoff_max)
        delay = exponential(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        return delay

    def deliver(self, alert: Alert, *, logger: Any = None, redact: Redact = str) -> int:
        payload = self.payload(alert)
        attempts = 0
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:

            def post() -> None:
                nonlocal attempts
                attempts += 1
                try:
                    response = client.post(self.url, json=payload)
                except httpx.TransportError as exc:
                    raise _Retryable(f"{type(exc).__name__}: {exc}") from None
                if response.status_code == 429 or response.status_code >= 500:
                    raise _Retryable(
                        f"HTTP {response.status_code}: {response.text[:200].strip()}",
                        _retry_after(response),
                    )
                if not response.is_success:
                    raise DeliveryError(
                        f"HTTP {response.status_code}: {response.text[:200].strip()}", attempts
                    )

            retrying = Retrying(
                stop=stop_after_attempt(self.attempts),
                wait=self._wait,
                retry=retry_if_exception(lambda exc: isinstance(exc, _Retryable)),
                reraise=False,
            )
            try:
                retrying(post)
            except RetryError as exc:
                last = exc.last_attempt.exception()
                reason = last.reason if isinstance(last, _Retryable) else str(last)
                raise DeliveryError(
                    f"gave up after {attempts} attempt(s): {reason}", attempts
                ) from None
        return attempts


class EmailSink(Sink):
    """Sends the alert's text as a plain-text email over SMTP (STARTTLS and login when
    configured)."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str,
        recipients: Sequence[str],
        user: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 10.0,
    ):
        if not recipients:
            raise ValueError("an email sink needs at least one recipient")
        if bool(user) != bool(password):
            raise ValueError("SMTP login needs both a user and a password")
        self.host = host
        self.port = int(port)
        self.sender = sender
        self.recipients = list(recipients)
        self.user = user
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        self.name = f"email({host}:{self.port})"

    def secrets(self) -> Sequence[str]:
        return [self.password] if self.password else []

    def message(self, alert: Alert) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = alert.subject
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain="revwh.alerts")
        message["X-Revwh-Alert-Kind"] = alert.kind.value
        message.set_content(alert.text())
        return message

    def deliver(self, alert: Alert, *, logger: Any = None, redact: Redact = str) -> int:
        message = self.message(alert)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user and self.password:
                    smtp.login(self.user, self.password)
                refused = smtp.send_message(message, self.sender, self.recipients)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        if refused:
            raise DeliveryError(f"recipients refused: {', '.join(sorted(refused))}")
        return 1
