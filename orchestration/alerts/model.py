"""What an alert is: its kind, severity, title, summary, ordered fields and, for a
reconciliation, the customers that explain the gap; rendered as plain text (log, email)
and as Slack Block Kit blocks."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

# Slack Block Kit limits (https://api.slack.com/reference/block-kit/blocks)
HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FIELDS_PER_SECTION = 10
BLOCKS_MAX = 50


class AlertKind(enum.StrEnum):
    RECONCILIATION = "reconciliation"
    RUN_FAILURE = "run_failure"
    CHECK_FAILURE = "check_failure"


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


def to_decimal(value: Any) -> Decimal | None:
    """A Decimal for numbers and numeric strings (exactly: floats through their repr)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def format_amount(value: Any, currency: str | None = None, *, signed: bool = False) -> str:
    """An amount with at least two decimals and every digit it has (never rounded away):
    `12345.6` -> `12345.60 USD`. Non-numeric values are shown as they are."""
    number = to_decimal(value)
    if number is None or not number.is_finite():
        text = "" if value is None else str(value)
    else:
        if -number.as_tuple().exponent < 2:  # type: ignore[operator]
            number = number.quantize(Decimal("0.01"))
        text = f"{number:+f}" if signed else f"{number:f}"
    return f"{text} {currency}" if currency and text else text


@dataclass(frozen=True)
class CustomerVariance:
    """One customer's MRR on both sides and the variance (ours minus ChartMogul's)."""

    customer_id: str
    name: str | None
    our_mrr: Decimal | str | None
    chartmogul_mrr: Decimal | str | None
    variance: Decimal | str | None

    @classmethod
    def coerce(cls, item: Any) -> CustomerVariance:
        """From a CustomerVariance, a mapping or an object with the same attribute names
        (`name` or `customer_name`; the variance is computed when missing)."""
        if isinstance(item, CustomerVariance):
            return item

        def get(*names: str) -> Any:
            for name in names:
                if isinstance(item, Mapping):
                    if item.get(name) is not None:
                        return item[name]
                elif getattr(item, name, None) is not None:
                    return getattr(item, name)
            return None

        ours, theirs = get("our_mrr", "mrr"), get("chartmogul_mrr")
        variance = get("variance")
        if variance is None:
            a, b = to_decimal(ours), to_decimal(theirs)
            variance = a - b if a is not None and b is not None else None
        customer_id = get("customer_id", "id", "external_id")
        return cls(
            customer_id="" if customer_id is None else str(customer_id),
            name=get("name", "customer_name"),
            our_mrr=ours,
            chartmogul_mrr=theirs,
            variance=variance,
        )

    def line(self, currency: str | None = None) -> str:
        who = f"{self.customer_id} {self.name}" if self.name else self.customer_id
        return (
            f"{who}: ours {format_amount(self.our_mrr, currency)}, "
            f"ChartMogul {format_amount(self.chartmogul_mrr, currency)}, "
            f"variance {format_amount(self.variance, currency, signed=True)}"
        )


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    severity: Severity
    title: str
    summary: str
    fields: tuple[tuple[str, str], ...] = ()
    top_customers: tuple[CustomerVariance, ...] = ()
    as_of: date | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", AlertKind(self.kind))
        object.__setattr__(self, "severity", Severity(self.severity))
        object.__setattr__(
            self, "fields", tuple((str(label), str(value)) for label, value in self.fields)
        )
        object.__setattr__(
            self, "top_customers", tuple(CustomerVariance.coerce(c) for c in self.top_customers)
        )

    @property
    def subject(self) -> str:
        return f"[revwh {self.severity.value.upper()}] {self.title}"

    def text(self) -> str:
        """Plain text: subject line, summary, one `label: value` line per field, customers."""
        lines = [self.subject, "", self.summary]
        if self.fields:
            lines.append("")
            lines.extend(f"{label}: {value}" for label, value in self.fields)
        if self.top_customers:
            lines += ["", "Top customers by variance:"]
            lines.extend(f"- {c.line(self.currency)}" for c in self.top_customers)
        return "\n".join(lines)

    def slack_blocks(self) -> list[dict[str, Any]]:
        """Block Kit blocks: header, summary, fields (10 per section), customers, context."""
        icon = ":red_circle:" if self.severity is Severity.ERROR else ":large_yellow_circle:"
        blocks: list[dict[str, Any]] = [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": clip(self.title, HEADER_MAX)},
            },
            section(f"{icon} {mrkdwn_escape(self.summary)}"),
        ]
        slack_fields = [
            {
                "type": "mrkdwn",
                "text": clip(f"*{mrkdwn_escape(label)}*\n{mrkdwn_escape(value)}", FIELD_TEXT_MAX),
            }
            for label, value in self.fields
        ]
        for start in range(0, len(slack_fields), FIELDS_PER_SECTION):
            blocks.append(
                {"type": "section", "fields": slack_fields[start : start + FIELDS_PER_SECTION]}
            )
        if self.top_customers:
            rows = "\n".join(
                f"• {mrkdwn_escape(c.line(self.currency))}" for c in self.top_customers
            )
            blocks.append(section(f"*Top customers by variance*\n{rows}"))
        context = f"{self.kind.value} · {self.severity.value}"
        if self.as_of:
            context += f" · as of {self.as_of.isoformat()}"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
        if len(blocks) > BLOCKS_MAX:
            blocks = [*blocks[: BLOCKS_MAX - 1], blocks[-1]]
        return blocks


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT_MAX)}}


def mrkdwn_escape(text: str) -> str:
    """Slack's three control characters; everything else is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
