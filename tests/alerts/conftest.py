"""The local webhook receiver and SMTP servers (tests/receivers.py)."""

from tests.receivers import alert_sinks, smtp_auth_server, smtp_server, webhook  # noqa: F401
