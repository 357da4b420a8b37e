"""What an alert is: its kind, severity, title, summary, ordered fields and, for a
reconciliation, the customers that explain the gap; rendered as plain text (a subject and a
body), which apprise lays out for each destination."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any


class AlertKind(enum.StrEnum):
    RECONCILIATION = "reconciliation"
    RUN_FAILURE = "run_failure"
    CHECK_FAILURE = "check_failure"
    FRESHNESS = "freshness"
    SENSOR_FAILURE = "sensor_failure"
    CHARTMOGUL_SYNC = "chartmogul_sync"


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

    def body(self) -> str:
        """Plain text without the subject: summary, one `label: value` line per field, then
        the customers (what every destination shows under the title)."""
        lines = [self.summary]
        if self.fields:
            lines.append("")
            lines.extend(f"{label}: {value}" for label, value in self.fields)
        if self.top_customers:
            lines += ["", "Top customers by variance:"]
            lines.extend(f"- {c.line(self.currency)}" for c in self.top_customers)
        return "\n".join(lines)

    def text(self) -> str:
        """The subject line, a blank line, the body (the log's and a test's view)."""
        return f"{self.subject}\n\n{self.body()}"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
