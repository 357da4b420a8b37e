"""Sinks from the environment: REVWH_ALERT_SLACK_WEBHOOK_URL and REVWH_ALERT_SMTP_* (the log
sink is always included)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from orchestration.alerts.sinks import EmailSink, LogSink, Sink, SlackWebhookSink

PREFIX = "REVWH_ALERT_"
SLACK_URL = f"{PREFIX}SLACK_WEBHOOK_URL"
SMTP_HOST = f"{PREFIX}SMTP_HOST"
SMTP_PORT = f"{PREFIX}SMTP_PORT"
SMTP_FROM = f"{PREFIX}SMTP_FROM"
SMTP_TO = f"{PREFIX}SMTP_TO"
SMTP_USER = f"{PREFIX}SMTP_USER"
SMTP_PASSWORD = f"{PREFIX}SMTP_PASSWORD"
SMTP_STARTTLS = f"{PREFIX}SMTP_STARTTLS"
SMTP_VARIABLES = (SMTP_HOST, SMTP_PORT, SMTP_FROM, SMTP_TO, SMTP_USER, SMTP_PASSWORD, SMTP_STARTTLS)
DEFAULT_SMTP_PORT = 587
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


class AlertConfigError(ValueError):
    """The alert sinks are configured partly or wrongly; the message names the variable
    (never its value when it is a secret)."""


def _get(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = _get(env, name).lower()
    if not value:
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise AlertConfigError(f"{name} must be true or false, not {value!r}")


def slack_sink_from_env(env: Mapping[str, str]) -> SlackWebhookSink | None:
    url = _get(env, SLACK_URL)
    if not url:
        return None
    if not url.lower().startswith(("https://", "http://")):
        raise AlertConfigError(f"{SLACK_URL} must be an http(s) URL")
    return SlackWebhookSink(url)


def email_sink_from_env(env: Mapping[str, str]) -> EmailSink | None:
    host = _get(env, SMTP_HOST)
    set_names = [name for name in SMTP_VARIABLES if _get(env, name)]
    if not host:
        if set_names:
            raise AlertConfigError(
                f"{SMTP_HOST} is not set but {', '.join(set_names)} is: set {SMTP_HOST} "
                "to send alerts by email, or unset the others"
            )
        return None
    for name in (SMTP_FROM, SMTP_TO):
        if not _get(env, name):
            raise AlertConfigError(f"{SMTP_HOST} is set but {name} is missing")
    recipients = [a.strip() for a in _get(env, SMTP_TO).split(",") if a.strip()]
    if not recipients:
        raise AlertConfigError(f"{SMTP_TO} names no recipient")
    user, password = _get(env, SMTP_USER), env.get(SMTP_PASSWORD) or ""
    if user and not password:
        raise AlertConfigError(f"{SMTP_USER} is set but {SMTP_PASSWORD} is missing")
    if password and not user:
        raise AlertConfigError(f"{SMTP_PASSWORD} is set but {SMTP_USER} is missing")
    port_text = _get(env, SMTP_PORT)
    try:
        port = int(port_text) if port_text else DEFAULT_SMTP_PORT
    except ValueError:
        raise AlertConfigError(f"{SMTP_PORT} must be a port number, not {port_text!r}") from None
    if not 0 < port < 65536:
        raise AlertConfigError(f"{SMTP_PORT} must be a port number, not {port}")
    return EmailSink(
        host,
        port,
        sender=_get(env, SMTP_FROM),
        recipients=recipients,
        user=user or None,
        password=password or None,
        starttls=_flag(env, SMTP_STARTTLS, True),
    )


def sinks_from_env(env: Mapping[str, str] = os.environ) -> list[Sink]:
    """The log sink, then Slack and email when configured. Raises AlertConfigError for a
    partial or invalid setup, naming the variable."""
    sinks: list[Sink] = [LogSink()]
    for sink in (slack_sink_from_env(env), email_sink_from_env(env)):
        if sink is not None:
            sinks.append(sink)
    return sinks
