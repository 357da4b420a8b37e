"""Cost sheets the way a finance team keeps them, derived from what the business did.

Finance keeps one CSV per month (everything but marketing); marketing keeps one XLSX
workbook per year. Both use the columns of the cost-sheet contract:
`cost_date, cost_type, amount, currency, channel, description`, amounts as decimal text.
"""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from openpyxl import Workbook

from .catalog import CHANNELS, PAID_CHANNELS

COLUMNS = ("cost_date", "cost_type", "amount", "currency", "channel", "description")
CENT = Decimal("0.01")

# Cost per sign-up of the paid channels (USD), before noise.
COST_PER_SIGNUP = {"paid_search": 38, "paid_social": 52}
# Rates of the payment providers: (percent, fixed minor units per charge).
PROCESSING_FEES = {
    "stripe": (Decimal("0.029"), 30),
    "paypal": (Decimal("0.0349"), 49),
    "egypay": (Decimal("0.0275"), 200),
}


def _money(value) -> str:
    return str(Decimal(value).quantize(CENT, ROUND_HALF_UP))


def _months(start: date, end: date):
    month = start.replace(day=1)
    while month <= end:
        yield month
        month = (month + timedelta(days=32)).replace(day=1)


def _month_end(month: date, as_of: date) -> date:
    last = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return min(last, as_of)


def cost_rows(
    seed: int, start: date, as_of: date, stats: Counter, new_paying: Counter, scale_factor: float
):
    """(month, row) for every cost line from the start month to the as-of month."""
    for month in _months(start, as_of):
        key = month.strftime("%Y-%m")
        end = _month_end(month, as_of)
        # share of the month that has happened (fixed costs are booked on the 1st anyway)
        elapsed = Decimal(end.day) / Decimal(_month_end(month, date.max).day)

        def noise(*parts, spread=0.15, _key=key):
            return Decimal(
                repr(random.Random(f"costs:{seed}:{_key}:{parts}").uniform(1 - spread, 1 + spread))
            )

        def row(day, cost_type, amount, currency, channel, description, _month=month):
            return _month, (
                day.isoformat(),
                cost_type,
                _money(amount),
                currency.upper(),
                channel or "",
                description,
            )

        fixed = Decimal(repr(scale_factor))
        for channel in PAID_CHANNELS:
            signups = stats[("signup", key, channel)]
            if signups:
                yield row(
                    end,
                    "advertising",
                    COST_PER_SIGNUP[channel] * signups * noise("ads", channel),
                    "usd",
                    channel,
                    f"{channel.replace('_', ' ').title()} campaigns",
                )
        yield row(
            month,
            "marketing",
            4_000 * fixed * noise("content"),
            "usd",
            "content",
            "Content writers and design",
        )
        yield row(month, "marketing", 800 * fixed * noise("seo"), "usd", "organic", "SEO tooling")
        if new_paying[(key, "partner")]:
            yield row(
                end,
                "marketing",
                150 * new_paying[(key, "partner")],
                "usd",
                "partner",
                "Partner commissions",
            )
        if new_paying[(key, "referral")]:
            yield row(
                end,
                "marketing",
                50 * new_paying[(key, "referral")],
                "usd",
                "referral",
                "Referral bonuses",
            )
        yield row(
            month,
            "marketing",
            1_500 * fixed * noise("brand") * elapsed,
            "eur",
            None,
            "Events and sponsorships (EU)",
        )
        yield row(
            month,
            "sales",
            18_000 * fixed * noise("sales", spread=0.03),
            "usd",
            None,
            "Sales team salaries",
        )
        new_total = sum(new_paying[(key, c)] for c in CHANNELS)
        if new_total:
            yield row(end, "sales", 120 * new_total, "usd", None, "Sales commissions")
        revenue_usd = Decimal(stats[("stripe_collected", key, "usd")]) / 100
        yield row(
            end,
            "infrastructure",
            1_500 * fixed * noise("infra", spread=0.05) + revenue_usd * Decimal("0.05"),
            "usd",
            None,
            "Cloud hosting",
        )
        for gateway, (percent, fixed_fee) in PROCESSING_FEES.items():
            for currency in ("usd", "eur", "egp"):
                collected_key = (
                    "stripe_collected" if gateway == "stripe" else f"{gateway}_collected"
                )
                collected = stats[(collected_key, key, currency)]
                if not collected:
                    continue
                charges = (
                    stats[("stripe_charges", key, currency)]
                    if gateway == "stripe"
                    else max(1, collected // 5_000)
                )
                fee = (Decimal(collected) * percent + fixed_fee * charges) / 100
                yield row(
                    end, "payment_fees", fee, currency, None, f"{gateway.title()} processing fees"
                )
        tickets = stats[("tickets", key, "all")]
        yield row(
            month,
            "support",
            3_000 * fixed * noise("support"),
            "usd",
            None,
            "Support tooling and contractors",
        )
        yield row(
            month,
            "support",
            180_000 * fixed * noise("cairo", spread=0.02),
            "egp",
            None,
            "Cairo support team salaries",
        )
        if tickets:
            yield row(end, "support", 9 * tickets, "usd", None, "Per-ticket outsourcing")
        yield row(
            month,
            "personnel",
            60_000 * fixed * noise("eng", spread=0.02),
            "usd",
            None,
            "Engineering salaries",
        )
        yield row(
            month,
            "personnel",
            20_000 * fixed * noise("eu", spread=0.02),
            "eur",
            None,
            "EU office salaries",
        )
        yield row(
            end,
            "cogs",
            revenue_usd * Decimal("0.02") + 200 * fixed,
            "usd",
            None,
            "Data provider fees",
        )
        yield row(
            month,
            "other",
            2_500 * fixed * noise("rent", spread=0.0),
            "usd",
            None,
            "Office rent and software",
        )


def write_cost_sheets(folder: Path, rows, as_of: date) -> dict[str, int]:
    finance: dict[str, list] = {}
    marketing: dict[int, list] = {}
    for month, row in rows:
        if row[1] in ("marketing", "advertising"):
            marketing.setdefault(month.year, []).append(row)
        else:
            finance.setdefault(month.strftime("%Y-%m"), []).append(row)
    (folder / "finance").mkdir(parents=True, exist_ok=True)
    (folder / "marketing").mkdir(parents=True, exist_ok=True)
    for key, month_rows in finance.items():
        with (folder / "finance" / f"costs_{key}.csv").open("w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(month_rows)
    for year, year_rows in marketing.items():
        path = folder / "marketing" / f"marketing_spend_{year}.xlsx"
        wb = Workbook()
        ws = wb.active
        ws.title = "spend"
        ws.append(COLUMNS)
        for cost_date, cost_type, amount, currency, channel, description in year_rows:
            ws.append(
                [
                    date.fromisoformat(cost_date),
                    cost_type,
                    Decimal(amount),
                    currency,
                    channel or None,
                    description,
                ]
            )
            ws.cell(ws.max_row, 1).number_format = "yyyy-mm-dd"
            ws.cell(ws.max_row, 3).number_format = "#,##0.00"
        wb.properties.creator = "Marketing team"
        _save_reproducibly(wb, path, datetime(as_of.year, as_of.month, as_of.day))
    return {
        "finance_files": len(finance),
        "marketing_files": len(marketing),
        "rows": sum(map(len, finance.values())) + sum(map(len, marketing.values())),
    }


def _save_reproducibly(wb: Workbook, path: Path, when: datetime) -> None:
    """openpyxl stamps the save time into the file; pin it so output is byte-identical."""
    buffer = io.BytesIO()
    wb.properties.created = when
    wb.save(buffer)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            fixed = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, data)
