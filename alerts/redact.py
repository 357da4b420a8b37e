"""Keep secrets out of log lines and error messages: a destination URL (only its host is ever
shown), the SMTP password and any other configured secret value."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"
# Environment variables whose values are secrets whatever they hold.
SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|WEBHOOK|CREDENTIALS?)", re.IGNORECASE
)
# Values shorter than this in environment variables are not worth masking (flags, ports).
ENV_SECRET_MIN = 6


def url_host(url: str) -> str:
    """`https://hooks.slack.com/services/T/B/X` -> `hooks.slack.com` (port kept if any)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        host = ""
    return host or "unknown-host"


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that must never be shown: the whole URL, its path and query,
    each long path segment and any password in it."""
    values = [url]
    try:
        parts = urlsplit(url)
    except ValueError:
        return values
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    if tail.strip("/"):
        values.append(tail)
    values += [segment for segment in parts.path.split("/") if len(segment) >= 8]
    if parts.query:
        values.append(parts.query)
    if parts.password:
        values.append(parts.password)
    return values


def service_url_secrets(url: str) -> list[str]:
    """url_secrets, plus what a notification service URL may carry outside its path and
    password: its user (`pagerduty://KEY@…`) and a host that is not a host name
    (`discord://WEBHOOK_ID/…`, `tgram://BOT_TOKEN/…`)."""
    values = url_secrets(url)
    try:
        parts = urlsplit(url)
        user = parts.username
    except ValueError:
        return values
    # as written: hostname is lower-cased, a token in its place is not
    host = parts.netloc.rpartition("@")[2].split(":")[0]
    if user and len(user) >= 4:
        values += [user, unquote(user)]
    if host and "." not in host and ":" not in host and host != "localhost" and len(host) >= 4:
        values.append(host)
    return values


def secrets_from_env(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables named like secrets (…PASSWORD, …TOKEN, …API_KEY,
    …WEBHOOK_URL, …)."""
    env = os.environ if env is None else env
    values: list[str] = []
    for name, value in env.items():
        if value and len(value) >= ENV_SECRET_MIN and SECRET_NAME.search(name):
            values += url_secrets(value) if "://" in value else [value]
    return values


class Redactor:
    """Replaces every occurrence of the given secrets (and their URL-quoted forms)."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        found: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            found.update({secret, quote(secret, safe=""), quote_plus(secret)})
        # longest first, so a URL is masked whole before its parts
        self.secrets = sorted((s for s in found if s), key=len, reverse=True)

    def __call__(self, text: object) -> str:
        text = str(text)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self.secrets)


class RedactingFilter(logging.Filter):
    """A logging filter that renders the record's message and masks secrets in it."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        redacted = self.redactor(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


@contextlib.contextmanager
def redacting_loggers(redactor: Redactor, names: Iterable[str]) -> Iterator[None]:
    """Mask secrets in what third-party loggers (httpx logs every request URL at INFO)
    emit while the block runs."""
    if not redactor:
        yield
        return
    installed = [(logging.getLogger(name), RedactingFilter(redactor)) for name in names]
    for logger, log_filter in installed:
        logger.addFilter(log_filter)
    try:
        yield
    finally:
        for logger, log_filter in installed:
            logger.removeFilter(log_filter)
