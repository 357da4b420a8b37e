"""Where alerts go, read from the environment when an alert is sent. Every alert always
reaches the log; these variables add destinations, all delivered by apprise
(https://github.com/caronc/apprise):

REVWH_ALERT_URLS
    apprise URLs, separated by whitespace or commas: any service apprise supports
    (https://appriseit.com/services/), e.g. `slack://T…/B…/…`, `mailtos://user:pass@host`,
    `msteams://…`, `pagerduty://…`, `json://host/path`. `?retry=2&wait=5` retries a
    destination.
REVWH_ALERT_SLACK_WEBHOOK_URL
    a Slack incoming webhook, `https://hooks.slack.com/services/T…/B…/…`, posted as Block Kit
    (a header and the alert's text), retried twice.
REVWH_ALERT_SMTP_HOST, _PORT (587), _FROM, _TO (comma-separated)
    one email to each recipient of _TO over SMTP;
REVWH_ALERT_SMTP_USER, _PASSWORD
    its login (both or neither);
REVWH_ALERT_SMTP_STARTTLS (true)
    STARTTLS before the login (false: a plain connection, for a local relay).
REVWH_ALERT_SMTP_ALLOW_PLAIN_LOGIN (false)
    a login (user and password) is sent only over TLS: with STARTTLS off, or an email URL
    of REVWH_ALERT_URLS in apprise's insecure mode, a login is refused unless this is true
    (a relay you trust, e.g. on localhost).

A partial or invalid setup raises AlertConfigError, one line naming the variable and never a
secret value; send_alert reports it and still logs the alert."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode, urlsplit

from alerts.redact import Redactor, redacting_loggers, service_url_secrets, url_secrets

if TYPE_CHECKING:  # apprise is imported when an alert is sent: it takes a second to load
    import apprise

PREFIX = "REVWH_ALERT_"
URLS = f"{PREFIX}URLS"
SLACK_URL = f"{PREFIX}SLACK_WEBHOOK_URL"
SMTP_HOST = f"{PREFIX}SMTP_HOST"
SMTP_PORT = f"{PREFIX}SMTP_PORT"
SMTP_FROM = f"{PREFIX}SMTP_FROM"
SMTP_TO = f"{PREFIX}SMTP_TO"
SMTP_USER = f"{PREFIX}SMTP_USER"
SMTP_PASSWORD = f"{PREFIX}SMTP_PASSWORD"
SMTP_STARTTLS = f"{PREFIX}SMTP_STARTTLS"
SMTP_ALLOW_PLAIN_LOGIN = f"{PREFIX}SMTP_ALLOW_PLAIN_LOGIN"
SMTP_VARIABLES = (SMTP_HOST, SMTP_PORT, SMTP_FROM, SMTP_TO, SMTP_USER, SMTP_PASSWORD, SMTP_STARTTLS)
DEFAULT_SMTP_PORT = 587
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}

SLACK_HOSTS = {"hooks.slack.com": "hook", "hooks.slack-gov.com": "gov-hook"}
SLACK_WEBHOOK = re.compile(
    r"https://(?P<host>hooks\.slack(?:-gov)?\.com)/services/(?P<tokens>[\w-]+/[\w-]+/[\w-]+)/?",
    re.IGNORECASE,
)
# Block Kit (a header block, the text in a section), no apprise footer or icon; 3 attempts
SLACK_OPTIONS = {"blocks": "yes", "footer": "no", "image": "no", "retry": "2", "wait": "1"}
# a comma starts a new URL only before a scheme: `mailto://…?to=a@x.com,b@x.com` stays whole
URL_SEPARATOR = re.compile(r"\s+|,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")


@functools.cache
def apprise_asset() -> apprise.AppriseAsset:
    import apprise

    return apprise.AppriseAsset(
        app_id="revwh",
        app_desc="revwh alerts",
        # no cache files on disk: alerts are sent from short-lived runs
        storage_mode="memory",
    )


def instantiate(url: str) -> apprise.NotifyBase | None:
    """apprise's service for `url`, None when apprise does not accept it."""
    import apprise

    return apprise.Apprise.instantiate(url, asset=apprise_asset())


class AlertConfigError(ValueError):
    """The destinations are configured partly or wrongly; the message names the variable
    (never its value when it may hold a secret)."""


@dataclass(frozen=True)
class Destination:
    """An apprise URL and what is safe to show of it. `url` and `secrets` never reach a log
    line, a report or an exception (send_alert masks them)."""

    name: str
    url: str = field(repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def plugin(self) -> apprise.NotifyBase:
        """A fresh apprise service for one send; AlertConfigError if apprise rejects the URL."""
        plugin = instantiate(self.url)
        if plugin is None:
            raise AlertConfigError(f"{self.name}: apprise does not accept this URL")
        return plugin


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


def _private_tokens(plugin: apprise.NotifyBase) -> list[str]:
    """The values apprise itself marks private (tokens, keys, passwords) on a service."""
    values = [getattr(plugin, "password", None)]
    specs = {**type(plugin).template_tokens, **type(plugin).template_args}
    for name, spec in specs.items():
        if isinstance(spec, dict) and spec.get("private"):
            values += [getattr(plugin, name, None), getattr(plugin, spec.get("map_to", name), None)]
    return [v for v in values if isinstance(v, str) and len(v) >= 4]


def destination(
    url: str, name: str | None = None, *, source: str = URLS, allow_plain_login: bool = False
) -> Destination:
    """A destination for an apprise URL, named `scheme(host)` (the scheme alone when the
    host is a token). AlertConfigError, naming `source` and the scheme only, when apprise
    does not accept it, or when it would send a password without TLS (unless
    `allow_plain_login`)."""
    url = url.strip()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme):
        raise AlertConfigError(f"{source} holds an entry that is not a URL (scheme://…)")
    with redacting_loggers(Redactor(service_url_secrets(url)), ["apprise"]):
        # apprise logs what it loaded (DEBUG), a user name included
        plugin = instantiate(url)
    if plugin is None:
        raise AlertConfigError(
            f"{source}: apprise does not accept the {scheme}:// URL "
            "(see https://appriseit.com/services/ for its format)"
        )
    if _plain_login(plugin) and not allow_plain_login:
        raise AlertConfigError(
            f"{source}: the {scheme}:// destination would send its login unencrypted "
            "(no TLS): use mailtos:// or mode=starttls, or set "
            f"{SMTP_ALLOW_PLAIN_LOGIN}=true for a relay you trust"
        )
    secrets = tuple(dict.fromkeys(service_url_secrets(url) + _private_tokens(plugin)))
    if name is None:
        try:
            host = urlsplit(url).netloc.rpartition("@")[2]
        except ValueError:
            host = ""
        name = f"{scheme}({host})" if host and not any(s in host for s in secrets) else scheme
    return Destination(name, url, secrets)


def _plain_login(plugin: apprise.NotifyBase) -> bool:
    """A password that would cross the network in clear: apprise's insecure mode."""
    return bool(getattr(plugin, "password", None)) and (
        getattr(plugin, "secure_mode", None) == "insecure"
    )


def urls_from_env(env: Mapping[str, str]) -> list[str]:
    return [u for u in URL_SEPARATOR.split(_get(env, URLS)) if u and u.strip(",")]


def slack_destination_from_env(env: Mapping[str, str]) -> Destination | None:
    """The Slack webhook as apprise's Slack service (`slack://T/B/X?blocks=yes…`)."""
    url = _get(env, SLACK_URL)
    if not url:
        return None
    match = SLACK_WEBHOOK.fullmatch(url)
    if match is None:
        raise AlertConfigError(
            f"{SLACK_URL} must be a Slack incoming webhook, "
            "https://hooks.slack.com/services/T…/B…/…; put other services in "
            f"{URLS} (apprise URLs)"
        )
    host, tokens = match["host"].lower(), match["tokens"]
    options = SLACK_OPTIONS | {"mode": SLACK_HOSTS[host]}
    apprise_url = f"slack://{tokens}/?{urlencode(options)}"
    found = destination(apprise_url, f"slack({host})", source=SLACK_URL)
    return Destination(found.name, found.url, (*url_secrets(url), *found.secrets))


def email_destination_from_env(env: Mapping[str, str]) -> Destination | None:
    """REVWH_ALERT_SMTP_* as apprise's email service: `mailtos://` with STARTTLS, `mailto://`
    without; plain text, one message per recipient."""
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
    starttls = _flag(env, SMTP_STARTTLS, True)
    allow_plain_login = _flag(env, SMTP_ALLOW_PLAIN_LOGIN, False)
    if user and not starttls and not allow_plain_login:
        raise AlertConfigError(
            f"{SMTP_STARTTLS} is false and {SMTP_USER} is set: the password would cross the "
            f"network unencrypted. Turn STARTTLS on, or set {SMTP_ALLOW_PLAIN_LOGIN}=true "
            "for a relay you trust (e.g. on localhost)"
        )
    login = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
    query = urlencode(
        {
            "smtp": host,
            "from": _get(env, SMTP_FROM),
            "to": ",".join(recipients),
            "mode": "starttls" if starttls else "insecure",
            "format": "text",
        }
    )
    scheme = "mailtos" if starttls else "mailto"
    url = f"{scheme}://{login}{host}:{port}/?{query}"
    found = destination(
        url, f"email({host}:{port})", source=SMTP_HOST, allow_plain_login=allow_plain_login
    )
    secrets = (password, quote(password, safe="")) if password else ()
    return Destination(found.name, found.url, (*found.secrets, *secrets))


def destinations_from_env(env: Mapping[str, str] = os.environ) -> list[Destination]:
    """Slack, email, then every URL of REVWH_ALERT_URLS (the log is not a destination: it
    always gets the alert). Raises AlertConfigError for a partial or invalid setup."""
    found = [slack_destination_from_env(env), email_destination_from_env(env)]
    allow_plain_login = _flag(env, SMTP_ALLOW_PLAIN_LOGIN, False)
    found += [destination(url, allow_plain_login=allow_plain_login) for url in urls_from_env(env)]
    destinations = [d for d in found if d is not None]
    names: dict[str, int] = {}
    unique = []
    for d in destinations:
        names[d.name] = names.get(d.name, 0) + 1
        name = d.name if names[d.name] == 1 else f"{d.name}#{names[d.name]}"
        unique.append(Destination(name, d.url, d.secrets))
    return unique


def secrets_of_env(env: Mapping[str, str]) -> list[str]:
    """What REVWH_ALERT_URLS and the Slack webhook hold, even when the setup is broken."""
    values = [s for url in urls_from_env(env) for s in service_url_secrets(url)]
    if _get(env, SLACK_URL):
        values += url_secrets(_get(env, SLACK_URL))
    return values
