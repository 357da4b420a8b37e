"""sinks_from_env: what REVWH_ALERT_* configures, and clear errors for partial setups."""

from __future__ import annotations

import pytest

from orchestration.alerts import (
    AlertConfigError,
    EmailSink,
    LogSink,
    SlackWebhookSink,
    sinks_from_env,
)

HOOK = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"
SMTP = {
    "REVWH_ALERT_SMTP_HOST": "smtp.example.com",
    "REVWH_ALERT_SMTP_FROM": "revwh@example.com",
    "REVWH_ALERT_SMTP_TO": "finance@example.com, data@example.com ,",
}


def test_only_the_log_without_configuration():
    sinks = sinks_from_env({})
    assert len(sinks) == 1 and isinstance(sinks[0], LogSink)


def test_full_configuration():
    env = SMTP | {
        "REVWH_ALERT_SLACK_WEBHOOK_URL": HOOK,
        "REVWH_ALERT_SMTP_PORT": "2525",
        "REVWH_ALERT_SMTP_USER": "alerts",
        "REVWH_ALERT_SMTP_PASSWORD": "pa55word!",
        "REVWH_ALERT_SMTP_STARTTLS": "no",
    }
    log, slack, email = sinks_from_env(env)
    assert isinstance(log, LogSink)
    assert isinstance(slack, SlackWebhookSink) and slack.url == HOOK
    assert slack.name == "slack(hooks.slack.com)"
    assert isinstance(email, EmailSink)
    assert (email.host, email.port, email.starttls) == ("smtp.example.com", 2525, False)
    assert email.recipients == ["finance@example.com", "data@example.com"]
    assert (email.user, email.password) == ("alerts", "pa55word!")
    assert "pa55word" not in repr(email) and "XXXX" not in repr(slack)


def test_smtp_defaults():
    [_, email] = sinks_from_env(SMTP)
    assert email.port == 587 and email.starttls is True and email.user is None


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
    ],
)
def test_partial_or_invalid_setup_names_the_variable(env, missing):
    with pytest.raises(AlertConfigError) as error:
        sinks_from_env(env)
    assert missing in str(error.value)
    assert "t0p-s3cret" not in str(error.value)
    assert "hooks.slack.com/x" not in str(error.value)
