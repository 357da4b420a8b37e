"""Alerts through apprise to real local servers: a Slack webhook receiver (apprise's Slack
service pointed at it) and an SMTP server."""

from __future__ import annotations

import dataclasses
import logging
from datetime import date
from decimal import Decimal

from alerts import (
    Destination,
    check_failure_alert,
    reconciliation_alert,
    run_failure_alert,
    send_alert,
)
from alerts.config import email_destination_from_env, slack_destination_from_env
from tests.receivers import SMTP_PASSWORD, SMTP_USER, WEBHOOK_PATH, free_port, slack_to

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
SLACK = "slack(hooks.slack.com)"


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


def slack(url: str, *, retry: int = 2) -> Destination:
    """REVWH_ALERT_SLACK_WEBHOOK_URL's destination, without the second between attempts."""
    found = slack_destination_from_env({"REVWH_ALERT_SLACK_WEBHOOK_URL": url})
    return dataclasses.replace(
        found, url=found.url.replace("retry=2", f"retry={retry}").replace("wait=1", "wait=0")
    )


def email(server, **env) -> Destination:
    return email_destination_from_env(
        {
            "REVWH_ALERT_SMTP_HOST": server.host,
            "REVWH_ALERT_SMTP_PORT": str(server.port),
            "REVWH_ALERT_SMTP_FROM": "revwh@example.com",
            "REVWH_ALERT_SMTP_TO": "finance@example.com, data@example.com",
            "REVWH_ALERT_SMTP_STARTTLS": "false",
        }
        | env
    )


def test_one_slack_post_and_one_email_per_recipient(webhook, smtp_server, caplog):
    caplog.set_level(logging.INFO, logger="alerts")
    report = send_alert(alert(), [slack(webhook.url), email(smtp_server)])

    assert report.ok, report.summary()
    assert report.delivered == ["log", SLACK, f"email(127.0.0.1:{smtp_server.port})"]
    assert [o.attempts for o in report.outcomes] == [1, 1, 1]
    assert len(webhook.requests) == 1
    posted = webhook.requests[0]
    assert posted["path"] == WEBHOOK_PATH
    assert posted["headers"]["content-type"].startswith("application/json")
    # Slack Block Kit: a header with the subject, the alert's text in a section
    [attachment] = posted["json"]["attachments"]
    header, section = attachment["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": alert().subject, "emoji": True},
    }
    assert section["type"] == "section"
    for expected in EXPECTED:
        assert expected in section["text"]["text"], expected

    assert smtp_server.handler.envelopes == [
        ("revwh@example.com", ["finance@example.com"]),
        ("revwh@example.com", ["data@example.com"]),
    ]
    for message in smtp_server.messages:
        assert message["Subject"].startswith("[revwh ERROR] MRR differs from ChartMogul")
        assert message.get_content_type() == "text/plain"
        body = message.get_content()
        for expected in EXPECTED:
            assert expected in body, expected

    logged = [r for r in caplog.records if r.levelno == logging.ERROR and "ALERT" in r.message]
    assert len(logged) == 1
    for expected in EXPECTED:
        assert expected in logged[0].message


def test_slack_5xx_retried_then_reported_failed_while_email_delivered(webhook, smtp_server, caplog):
    caplog.set_level(logging.INFO)
    webhook.statuses = [503, 500, 502]
    report = send_alert(alert(), [slack(webhook.url, retry=2), email(smtp_server)])

    assert len(webhook.requests) == 3
    assert len(smtp_server.messages) == 2
    assert not report.ok
    assert report.delivered == ["log", f"email(127.0.0.1:{smtp_server.port})"]
    [(name, reason)] = report.failed
    assert name == SLACK
    assert "gave up after 3 attempts" in reason and "error=502" in reason
    assert report.outcomes[1].attempts == 3
    failures = [r.message for r in caplog.records if "not delivered" in r.message]
    assert len(failures) == 1 and "error=502" in failures[0]
    assert "failed: slack(" in report.summary()


def test_slack_429_is_retried_and_delivered_once(webhook):
    webhook.statuses = [429]
    report = send_alert(alert(), [slack(webhook.url)])
    assert report.ok
    assert len(webhook.requests) == 2
    assert report.outcomes[-1].attempts == 2


def test_slack_4xx_is_reported_with_its_status(webhook, smtp_server):
    webhook.statuses = [404]
    report = send_alert(alert(), [email(smtp_server), slack(webhook.url, retry=0)])
    assert len(webhook.requests) == 1
    assert report.delivered == ["log", f"email(127.0.0.1:{smtp_server.port})"]
    assert "error=404" in report.failed[0][1]


def test_unreachable_destinations_fail_independently_and_the_log_still_gets_the_alert(
    monkeypatch, caplog
):
    caplog.set_level(logging.INFO, logger="alerts")
    closed = free_port()
    slack_to(monkeypatch, f"http://127.0.0.1:{closed}")
    closed_smtp = type("Server", (), {"host": "127.0.0.1", "port": closed})
    destinations = [slack("https://hooks.slack.com" + WEBHOOK_PATH, retry=1), email(closed_smtp)]
    report = send_alert(run_failure_alert("daily", "run-1", "boom"), destinations)
    assert report.delivered == ["log"]
    reasons = dict(report.failed)
    assert "Connection error" in reasons[SLACK]
    assert "Connection refused" in reasons[f"email(127.0.0.1:{closed})"]
    assert report.outcomes[1].attempts == 2
    assert any("Run failed: daily" in r.message for r in caplog.records)


def test_smtp_login_and_wrong_password(smtp_auth_server):
    login = {
        "REVWH_ALERT_SMTP_USER": SMTP_USER,
        "REVWH_ALERT_SMTP_TO": "finance@example.com",
        # the local test server speaks no TLS
        "REVWH_ALERT_SMTP_ALLOW_PLAIN_LOGIN": "true",
    }
    good = email(smtp_auth_server, **login, REVWH_ALERT_SMTP_PASSWORD=SMTP_PASSWORD)
    assert send_alert(alert(), [good]).ok
    assert smtp_auth_server.logins == [SMTP_USER]
    assert len(smtp_auth_server.messages) == 1

    bad = email(smtp_auth_server, **login, REVWH_ALERT_SMTP_PASSWORD="wrong-password-1")
    report = send_alert(alert(), [bad])
    assert not report.ok
    assert "Authentication" in report.failed[0][1]
    assert len(smtp_auth_server.messages) == 1


def test_starttls_refused_by_a_plain_server_is_a_failure(smtp_server):
    # STARTTLS is on by default; this server does not offer it
    report = send_alert(alert(), [email(smtp_server, REVWH_ALERT_SMTP_STARTTLS="")])
    assert not report.ok
    assert "STARTTLS" in report.failed[0][1]
    assert smtp_server.messages == []


def test_any_apprise_url_from_the_environment(webhook, monkeypatch):
    # a generic JSON webhook: apprise posts its own {title, message, type} document
    base = webhook_base(webhook)
    monkeypatch.setenv("REVWH_ALERT_URLS", f"json://{base}/services/generic")
    report = send_alert(run_failure_alert("daily", "run-7", "dbt failed"))
    assert report.ok and report.delivered == ["log", f"json({base})"]
    [posted] = webhook.requests
    assert posted["path"] == "/services/generic"
    assert posted["json"]["title"] == "[revwh ERROR] Run failed: daily"
    assert "run-7" in posted["json"]["message"] and posted["json"]["type"] == "failure"


def webhook_base(webhook) -> str:
    from apprise.plugins.slack import NotifySlack

    return NotifySlack.webhook_url.removeprefix("http://").removesuffix("/services")


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
    report = send_alert(check, [slack(webhook.url, retry=0)], logger=log)
    assert [level for level, _ in log.lines] == ["warning", "error", "warning"]
    assert "Check failed: fct_revenue row_count" in log.lines[0][1]
    assert "not delivered" in log.lines[1][1]
    assert "delivered: log; failed: slack(" in log.lines[2][1]
    assert report.delivered == ["log"]


def test_warning_is_sent_as_an_apprise_warning(webhook):
    check = check_failure_alert("row_count", "fct_revenue", "0 rows", severity="warning")
    assert send_alert(check, [slack(webhook.url)]).ok
    [attachment] = webhook.requests[0]["json"]["attachments"]
    assert attachment["blocks"][0]["text"]["text"].startswith("[revwh WARNING]")
    assert attachment["color"] != alert_color(webhook)


def alert_color(webhook) -> str:
    send_alert(alert(), [slack(webhook.url)])
    return webhook.requests[-1]["json"]["attachments"][0]["color"]


def test_long_alerts_fit_slack_block_limits(webhook):
    check = check_failure_alert(
        "not_null_dim_customers_customer_id",
        "dim_customers" + "_x" * 100,
        "3 rows with a null customer_id",
        metadata={f"key_{i}": "v" * 3000 for i in range(12)},
    )
    assert send_alert(check, [slack(webhook.url)]).ok
    header, section = webhook.requests[0]["json"]["attachments"][0]["blocks"]
    assert len(header["text"]["text"]) <= 150 and len(section["text"]["text"]) <= 3000


def test_empty_destination_list_still_logs():
    log = RunLog()
    report = send_alert(run_failure_alert("daily", "r", "x"), [], logger=log)
    assert report.ok and report.delivered == ["log"]
    assert log.lines[0][0] == "error"


def test_default_destinations_come_from_the_environment(alert_sinks):
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
    assert any("alert configuration error" in line for _, line in log.lines)


def test_an_unknown_url_given_directly_is_a_configuration_failure():
    log = RunLog()
    report = send_alert(run_failure_alert("daily", "r", "x"), ["bogus://s3cr3t-value"], logger=log)
    assert report.delivered == ["log"]
    [(name, reason)] = report.failed
    assert name == "config" and "bogus://" in reason and "s3cr3t-value" not in reason
