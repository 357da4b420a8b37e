"""destinations_from_env: what REVWH_ALERT_* configures (apprise URLs), and clear errors for
partial setups."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from alerts import AlertConfigError, destinations_from_env

HOOK = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"
SMTP = {
    "REVWH_ALERT_SMTP_HOST": "smtp.example.com",
    "REVWH_ALERT_SMTP_FROM": "revwh@example.com",
    "REVWH_ALERT_SMTP_TO": "finance@example.com, data@example.com ,",
}
# a login with STARTTLS off: refused unless allowed
PLAIN_LOGIN = {
    "REVWH_ALERT_SMTP_USER": "alerts@example.com",
    "REVWH_ALERT_SMTP_PASSWORD": "t0p-s3cret",
    "REVWH_ALERT_SMTP_STARTTLS": "false",
}


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_only_the_log_without_configuration():
    assert destinations_from_env({}) == []


def test_full_configuration():
    env = SMTP | {
        "REVWH_ALERT_SLACK_WEBHOOK_URL": HOOK,
        "REVWH_ALERT_SMTP_PORT": "2525",
        "REVWH_ALERT_SMTP_USER": "alerts@example.com",
        "REVWH_ALERT_SMTP_PASSWORD": "pa55word!/@",
        "REVWH_ALERT_SMTP_STARTTLS": "no",
        "REVWH_ALERT_SMTP_ALLOW_PLAIN_LOGIN": "yes",
    }
    slack, email = destinations_from_env(env)

    assert slack.name == "slack(hooks.slack.com)"
    assert slack.url.startswith("slack://T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX/?")
    assert query(slack.url) | {"wait": "1"} == {
        "blocks": "yes",
        "footer": "no",
        "image": "no",
        "retry": "2",
        "wait": "1",
        "mode": "hook",
    }
    assert {HOOK, "XXXXXXXXXXXXXXXXXXXXXXXX"} <= set(slack.secrets)

    assert email.name == "email(smtp.example.com:2525)"
    parts = urlsplit(email.url)
    assert (parts.scheme, parts.hostname, parts.port) == ("mailto", "smtp.example.com", 2525)
    assert (parts.username, parts.password) == ("alerts%40example.com", "pa55word%21%2F%40")
    assert query(email.url) == {
        "smtp": "smtp.example.com",
        "from": "revwh@example.com",
        "to": "finance@example.com,data@example.com",
        "mode": "insecure",
        "format": "text",
    }
    assert "pa55word!/@" in email.secrets
    for shown in (repr(slack), repr(email), str([slack, email])):
        assert "pa55word" not in shown and "XXXX" not in shown


def test_smtp_defaults_to_starttls_on_587():
    [email] = destinations_from_env(SMTP)
    parts = urlsplit(email.url)
    assert (parts.scheme, parts.port, parts.username) == ("mailtos", 587, None)
    assert query(email.url)["mode"] == "starttls"


def test_apprise_urls_whitespace_or_comma_separated():
    env = {
        "REVWH_ALERT_URLS": (
            "json://localhost:8080/hook?:message=text,"
            "  mailtos://user:s3cret-pass@smtp.example.com?to=a@example.com,b@example.com\n"
            "pagerduty://integr4tionKey@ap1KeyValue/ , json://localhost:8080/hook"
        )
    }
    found = destinations_from_env(env)
    assert [d.name for d in found] == [
        "json(localhost:8080)",
        "mailtos(smtp.example.com)",
        "pagerduty",
        "json(localhost:8080)#2",
    ]
    # the comma inside the mailto URL's recipients does not split it
    assert found[1].url.endswith("to=a@example.com,b@example.com")
    assert "s3cret-pass" in found[1].secrets
    assert {"integr4tionKey", "ap1KeyValue"} <= set(found[2].secrets)
    assert "Key" not in repr(found[2])


def test_everything_together():
    env = SMTP | {"REVWH_ALERT_SLACK_WEBHOOK_URL": HOOK, "REVWH_ALERT_URLS": "json://localhost"}
    assert [d.name for d in destinations_from_env(env)] == [
        "slack(hooks.slack.com)",
        "email(smtp.example.com:587)",
        "json(localhost)",
    ]


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"REVWH_ALERT_SMTP_HOST": "smtp.example.com"}, "REVWH_ALERT_SMTP_FROM"),
        (SMTP | {"REVWH_ALERT_SMTP_TO": ""}, "REVWH_ALERT_SMTP_TO"),
        (SMTP | {"REVWH_ALERT_SMTP_TO": " , "}, "REVWH_ALERT_SMTP_TO"),
        (SMTP | {"REVWH_ALERT_SMTP_USER": "alerts"}, "REVWH_ALERT_SMTP_PASSWORD"),
        (SMTP | {"REVWH_ALERT_SMTP_PASSWORD": "t0p-s3cret"}, "REVWH_ALERT_SMTP_USER"),
        ({"REVWH_ALERT_SMTP_TO": "a@example.com"}, "REVWH_ALERT_SMTP_HOST"),
        (SMTP | {"REVWH_ALERT_SMTP_PORT": "smtp"}, "REVWH_ALERT_SMTP_PORT"),
        (SMTP | {"REVWH_ALERT_SMTP_PORT": "70000"}, "REVWH_ALERT_SMTP_PORT"),
        (SMTP | {"REVWH_ALERT_SMTP_STARTTLS": "maybe"}, "REVWH_ALERT_SMTP_STARTTLS"),
        ({"REVWH_ALERT_SLACK_WEBHOOK_URL": "hooks.slack.com/x"}, "REVWH_ALERT_SLACK_WEBHOOK_URL"),
        (
            {"REVWH_ALERT_SLACK_WEBHOOK_URL": "https://chat.example.com/services/T0/B0/t0p-s3cret"},
            "REVWH_ALERT_SLACK_WEBHOOK_URL",
        ),
        (
            {"REVWH_ALERT_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/t0p-s3cret"},
            "REVWH_ALERT_SLACK_WEBHOOK_URL",
        ),
        ({"REVWH_ALERT_URLS": "bogus://t0p-s3cret@example.com"}, "REVWH_ALERT_URLS"),
        ({"REVWH_ALERT_URLS": "json://ok.example.com t0p-s3cret"}, "REVWH_ALERT_URLS"),
        (SMTP | PLAIN_LOGIN, "REVWH_ALERT_SMTP_ALLOW_PLAIN_LOGIN"),
        (
            {"REVWH_ALERT_URLS": "mailto://me:t0p-s3cret@smtp.example.com/?to=a@example.com"},
            "REVWH_ALERT_SMTP_ALLOW_PLAIN_LOGIN",
        ),
    ],
)
def test_partial_or_invalid_setup_names_the_variable_in_one_line(env, missing):
    with pytest.raises(AlertConfigError) as error:
        destinations_from_env(env)
    message = str(error.value)
    assert missing in message and "\n" not in message
    assert "t0p-s3cret" not in message
    assert "hooks.slack.com/x" not in message


def test_a_login_goes_only_over_tls_unless_allowed():
    with pytest.raises(AlertConfigError, match="REVWH_ALERT_SMTP_STARTTLS is false"):
        destinations_from_env(SMTP | PLAIN_LOGIN)
    [email] = destinations_from_env(
        SMTP | PLAIN_LOGIN | {"REVWH_ALERT_SMTP_ALLOW_PLAIN_LOGIN": "1"}
    )
    assert email.url.startswith("mailto://")
    # with STARTTLS (the default), or without a login, nothing needs allowing
    tls = {k: v for k, v in PLAIN_LOGIN.items() if k != "REVWH_ALERT_SMTP_STARTTLS"}
    assert destinations_from_env(SMTP | tls)[0].url.startswith("mailtos://")
    plain_relay = {"REVWH_ALERT_SMTP_STARTTLS": "false"}
    assert destinations_from_env(SMTP | plain_relay)[0].url.startswith("mailto://")
    secure = "mailtos://me:pw@smtp.example.com/?to=a@example.com"
    assert destinations_from_env({"REVWH_ALERT_URLS": secure})[0].url == secure
