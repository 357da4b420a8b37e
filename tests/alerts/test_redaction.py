"""No secret (webhook URL or token, SMTP password, secret environment values) reaches a
log line, a failure reason or an alert's content, on every path."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import pytest

from alerts import Redactor, reconciliation_alert, run_failure_alert, send_alert
from tests.alerts.test_send import email, slack
from tests.receivers import SMTP_PASSWORD, SMTP_USER, WEBHOOK_PATH, free_port, slack_to

API_KEY = "cm_live_9f8e7d6c5b4a"


@pytest.fixture
def everything_logged(caplog, monkeypatch):
    monkeypatch.setenv("CHARTMOGUL_API_KEY", API_KEY)
    caplog.set_level(logging.DEBUG)  # every logger: apprise's and urllib3's request lines
    return caplog


def secrets(webhook_url: str, password: str = SMTP_PASSWORD) -> list[str]:
    return [webhook_url, WEBHOOK_PATH, "s3cr3tWebhookToken42", password, API_KEY]


def assert_clean(caplog, report, webhook_url: str, password: str = SMTP_PASSWORD) -> None:
    texts = [caplog.text, report.summary(), repr(report)]
    texts += [record.getMessage() for record in caplog.records]
    for secret in secrets(webhook_url, password):
        for text in texts:
            assert secret not in text


def leaky_alert(webhook_url: str, password: str = SMTP_PASSWORD):
    # an error message that happens to quote secrets: they are masked everywhere
    return run_failure_alert(
        "daily",
        "run-1",
        f"POST {webhook_url} failed; login {SMTP_USER}:{password}; key {API_KEY}",
    )


def destinations(webhook_url: str, smtp, *, password: str = SMTP_PASSWORD, retry: int = 1):
    login = {
        "REVWH_ALERT_SMTP_USER": SMTP_USER,
        "REVWH_ALERT_SMTP_PASSWORD": password,
        "REVWH_ALERT_SMTP_TO": "a@example.com",
        "REVWH_ALERT_SMTP_ALLOW_PLAIN_LOGIN": "true",  # the local test server speaks no TLS
    }
    return [slack(webhook_url, retry=retry), email(smtp, **login)]


def test_success_path(webhook, smtp_auth_server, everything_logged):
    report = send_alert(leaky_alert(webhook.url), destinations(webhook.url, smtp_auth_server))
    assert report.ok, report.summary()
    assert '"POST *** HTTP/1.1" 200' in everything_logged.text  # urllib3's line, masked
    assert "Slack POST URL: http://127.0.0.1:" in everything_logged.text  # apprise's, masked
    assert_clean(everything_logged, report, webhook.url)
    posted = str(webhook.requests[0]["json"])
    mailed = smtp_auth_server.messages[0].get_content()
    for secret in secrets(webhook.url):
        assert secret not in posted and secret not in mailed
    assert "***" in posted and "***" in mailed


def test_server_errors_echoing_the_url(webhook, smtp_auth_server, everything_logged):
    webhook.statuses = [500, 503, 404, 404]
    report = send_alert(leaky_alert(webhook.url), destinations(webhook.url, smtp_auth_server))
    assert [name for name, _ in report.failed] == ["slack(hooks.slack.com)"]
    report2 = send_alert(leaky_alert(webhook.url), destinations(webhook.url, smtp_auth_server))
    assert "error=404" in report2.failed[0][1]
    # the server's answer echoed the URL: apprise logged it (DEBUG), masked
    assert "error 404 for http://127.0.0.1:" in everything_logged.text
    assert_clean(everything_logged, report, webhook.url)
    assert_clean(everything_logged, report2, webhook.url)


def test_refused_connection_and_wrong_password(smtp_auth_server, everything_logged, monkeypatch):
    slack_to(monkeypatch, f"http://127.0.0.1:{free_port()}")
    url = "https://hooks.slack.com" + WEBHOOK_PATH
    wrong = "wr0ng-" + SMTP_PASSWORD
    report = send_alert(
        leaky_alert(url, wrong), destinations(url, smtp_auth_server, password=wrong)
    )
    assert report.delivered == ["log"] and len(report.failed) == 2
    assert "Authentication credentials invalid" in report.summary()
    assert "Max retries exceeded with url: ***" in report.summary()
    assert_clean(everything_logged, report, url, wrong)


def test_reconciliation_alert_through_a_run_logger(webhook, everything_logged):
    lines: list[str] = []

    class RunLog:
        def error(self, msg):
            lines.append(msg)

        warning = info = error

    webhook.statuses = [502, 502]
    alert = reconciliation_alert(
        date(2026, 11, 15),
        date(2026, 11, 14),
        Decimal("100"),
        Decimal("90"),
        currency="USD",
        threshold_percent=Decimal("1"),
        top_customers=[
            {"customer_id": "c1", "name": API_KEY, "our_mrr": "10", "chartmogul_mrr": "0"}
        ],
    )
    report = send_alert(alert, [slack(webhook.url, retry=1)], logger=RunLog())
    assert not report.ok and len(lines) == 3
    for secret in secrets(webhook.url):
        assert all(secret not in line for line in lines)
    assert_clean(everything_logged, report, webhook.url)


def test_secrets_of_apprise_urls_are_masked(webhook, monkeypatch, everything_logged):
    # a generic webhook whose path and user carry the secrets, from REVWH_ALERT_URLS
    from apprise.plugins.slack import NotifySlack

    base = NotifySlack.webhook_url.removeprefix("http://").removesuffix("/services")
    url = f"json://t0kenUser:t0kenPassw0rd@{base}/services/s3cr3tWebhookToken42"
    monkeypatch.setenv("REVWH_ALERT_URLS", url)
    webhook.statuses = [500]
    report = send_alert(run_failure_alert("daily", "r", f"see {url}"))
    assert not report.ok
    texts = [everything_logged.text, report.summary(), str(webhook.requests[0]["json"])]
    for secret in (url, "t0kenUser", "t0kenPassw0rd", "s3cr3tWebhookToken42"):
        assert all(secret not in text for text in texts), secret


def test_redactor_masks_longest_first_and_quoted_forms():
    redact = Redactor(["https://h.example/a/b?token=x y", "x y", None, ""])
    assert redact("at https://h.example/a/b?token=x y now") == "at *** now"
    assert redact("q=x%20y and x+y") == "q=*** and ***"
    assert not Redactor([None, ""])
