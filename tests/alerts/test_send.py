"""Alerts through real local servers: a Slack-like webhook receiver and an SMTP server."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import pytest

from orchestration.alerts import (
    EmailSink,
    LogSink,
    SlackWebhookSink,
    check_failure_alert,
    reconciliation_alert,
    run_failure_alert,
    send_alert,
)
from tests.receivers import SMTP_PASSWORD, SMTP_USER, WEBHOOK_PATH, free_port

TOP = [
    {
        "customer_id": "cus_1",
        "name": "Acme",
        "our_mrr": "900.00",
        "chartmogul_mrr": "850.00",
        "variance": "50.00",
    },
    {
        "customer_id": "cus_2",
        "name": "Globex",
        "our_mrr": "120.00",
        "chartmogul_mrr": "100.00",
        "variance": "20.00",
    },
]
EXPECTED = [
    "2026-11-14",
    "12345.67 USD",
    "12275.67 USD",
    "+70.00 USD",
    "+0.57%",
    "cus_1 Acme",
    "cus_2 Globex",
    "+50.00 USD",
]


def alert():
    return reconciliation_alert(
        date(2026, 11, 15),
        date(2026, 11, 14),
        Decimal("12345.67"),
        Decimal("12275.67"),
        currency="USD",
        threshold_percent=Decimal("0.5"),
        top_customers=TOP,
    )


def slack(url: str, **kwargs) -> SlackWebhookSink:
    return SlackWebhookSink(url, timeout=5, backoff=0.01, **kwargs)


def email_sink(server, **kwargs) -> EmailSink:
    return EmailSink(
        server.host,
        server.port,
        sender="revwh@example.com",
        recipients=["finance@example.com", "data@example.com"],
        starttls=False,
        timeout=5,
        **kwargs,
    )


def test_one_webhook_post_and_one_email_per_alert(webhook, smtp_server, caplog):
    caplog.set_level(logging.INFO, logger="orchestration.alerts")
    report = send_alert(alert(), [slack(webhook.url), email_sink(smtp_server)])

    assert report.ok, report.summary()
    assert report.delivered == [
        "log",
        f"slack(127.0.0.1:{webhook.url.split(':')[2].split('/')[0]})",
        f"email(127.0.0.1:{smtp_server.port})",
    ]
    assert len(webhook.requests) == 1
    posted = webhook.requests[0]
    assert posted["path"] == WEBHOOK_PATH
    assert posted["headers"]["content-type"] == "application/json"
    payload = posted["json"]
    assert set(payload) == {"text", "blocks"}
    blocks_text = str(payload["blocks"])
    for expected in EXPECTED:
        assert expected in payload["text"], expected
        assert expected in blocks_text, expected

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert smtp_server.handler.envelopes == [
        ("revwh@example.com", ["finance@example.com", "data@example.com"])
    ]
    assert message["Subject"].startswith("[revwh ERROR] MRR differs from ChartMogul")
    body = message.get_content()
    for expected in EXPECTED:
        assert expected in body, expected

    logged = [r for r in caplog.records if r.levelno == logging.ERROR and "ALERT" in r.message]
    assert len(logged) == 1
    for expected in EXPECTED:
        assert expected in logged[0].message


def test_webhook_5xx_retried_then_reported_failed_while_email_delivered(
    webhook, smtp_server, caplog
):
    caplog.set_level(logging.INFO)
    webhook.statuses = [503, 500, 502]
    report = send_alert(alert(), [slack(webhook.url, attempts=3), email_sink(smtp_server)])

    assert len(webhook.requests) == 3
    assert len(smtp_server.messages) == 1
    assert not report.ok
    assert report.delivered == ["log", f"email(127.0.0.1:{smtp_server.port})"]
    [(sink, reason)] = report.failed
    assert sink.startswith("slack(127.0.0.1:")
    assert "gave up after 3 attempt(s)" in reason and "HTTP 502" in reason
    assert report.outcomes[1].attempts == 3
    failures = [r.message for r in caplog.records if "not delivered" in r.message]
    assert len(failures) == 1 and "HTTP 502" in failures[0]
    assert "failed: slack(" in report.summary()


def test_webhook_429_is_retried_and_delivered_once(webhook):
    webhook.statuses = [429]
    report = send_alert(alert(), [slack(webhook.url)])
    assert report.ok
    assert len(webhook.requests) == 2
    assert report.outcomes[-1].attempts == 2


def test_webhook_4xx_is_not_retried(webhook, smtp_server):
    webhook.statuses = [400]
    report = send_alert(alert(), [email_sink(smtp_server), slack(webhook.url)])
    assert len(webhook.requests) == 1
    assert report.delivered == ["log", f"email(127.0.0.1:{smtp_server.port})"]
    assert "HTTP 400" in report.failed[0][1]


def test_unreachable_sinks_fail_independently_and_the_log_still_gets_the_alert(caplog):
    caplog.set_level(logging.INFO, logger="orchestration.alerts")
    closed = free_port()
    sinks = [
        slack(f"http://127.0.0.1:{closed}{WEBHOOK_PATH}", attempts=2),
        EmailSink(
            "127.0.0.1",
            closed,
            sender="a@example.com",
            recipients=["b@example.com"],
            starttls=False,
            timeout=2,
        ),
    ]
    report = send_alert(run_failure_alert("daily", "run-1", "boom"), sinks)
    assert report.delivered == ["log"]
    reasons = dict(report.failed)
    assert "ConnectError" in reasons[f"slack(127.0.0.1:{closed})"]
    assert "ConnectionRefusedError" in reasons[f"email(127.0.0.1:{closed})"]
    assert any("Run failed: daily" in r.message for r in caplog.records)


def test_smtp_login_and_wrong_password(smtp_auth_server):
    good = email_sink(smtp_auth_server, user=SMTP_USER, password=SMTP_PASSWORD)
    assert send_alert(alert(), [good]).ok
    assert smtp_auth_server.logins == [SMTP_USER]
    assert len(smtp_auth_server.messages) == 1

    bad = email_sink(smtp_auth_server, user=SMTP_USER, password="wrong-password-1")
    report = send_alert(alert(), [bad])
    assert not report.ok
    assert "SMTPAuthenticationError" in report.failed[0][1]
    assert len(smtp_auth_server.messages) == 1


def test_starttls_refused_by_a_plain_server_is_a_failure(smtp_server):
    # STARTTLS is on by default; this server does not offer it
    sink = EmailSink(
        smtp_server.host,
        smtp_server.port,
        sender="a@example.com",
        recipients=["b@example.com"],
        timeout=5,
    )
    report = send_alert(alert(), [sink])
    assert not report.ok
    assert "STARTTLS" in report.failed[0][1]
    assert smtp_server.messages == []


class RunLog:
    """The slice of Dagster's log manager (context.log) the alerts use."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, msg):
        self.lines.append(("info", msg))

    def warning(self, msg):
        self.lines.append(("warning", msg))

    def error(self, msg):
        self.lines.append(("error", msg))


def test_run_logger_gets_the_alert_and_the_failures(webhook):
    webhook.statuses = [500]
    log = RunLog()
    check = check_failure_alert(
        "row_count", "fct_revenue", "0 rows", metadata={"rows": 0}, severity="warning"
    )
    report = send_alert(check, [slack(webhook.url, attempts=1)], logger=log)
    assert [level for level, _ in log.lines] == ["warning", "error", "warning"]
    assert "Check failed: fct_revenue row_count" in log.lines[0][1]
    assert "not delivered" in log.lines[1][1]
    assert "delivered: log; failed: slack(" in log.lines[2][1]
    assert report.delivered == ["log"]


def test_empty_sink_list_still_logs():
    log = RunLog()
    report = send_alert(run_failure_alert("daily", "r", "x"), [], logger=log)
    assert report.ok and report.delivered == ["log"]
    assert log.lines[0][0] == "error"


def test_default_sinks_come_from_the_environment(alert_sinks):
    webhook, smtp_server = alert_sinks
    report = send_alert(run_failure_alert("daily", "run-9", "dbt failed", failed_steps=["dbt"]))
    assert report.ok and len(report.delivered) == 3
    assert len(webhook.requests) == 1 and len(smtp_server.messages) == 1
    assert "run-9" in smtp_server.messages[0].get_content()


def test_broken_environment_is_reported_and_the_alert_still_logged(monkeypatch):
    monkeypatch.setenv("REVWH_ALERT_SMTP_HOST", "smtp.example.com")
    monkeypatch.delenv("REVWH_ALERT_SMTP_FROM", raising=False)
    log = RunLog()
    report = send_alert(run_failure_alert("daily", "r", "x"), logger=log)
    assert report.delivered == ["log"]
    assert report.failed[0][0] == "config"
    assert "REVWH_ALERT_SMTP_FROM" in report.failed[0][1]
    assert any("Run failed: daily" in line for _, line in log.lines)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "hooks.slack.com/services/x"])
def test_webhook_url_must_be_http(url):
    with pytest.raises(ValueError, match="https://"):
        SlackWebhookSink(url)


def test_explicit_log_sink_is_not_duplicated():
    log = RunLog()
    report = send_alert(run_failure_alert("daily", "r", "x"), [LogSink(log)])
    assert report.delivered == ["log"] and len(log.lines) == 1
