"""Unix-second helpers; the whole world runs in UTC."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

DAY = 86_400


def ts_of(day: date) -> int:
    return calendar.timegm(day.timetuple())


_EPOCH = date(1970, 1, 1)


@lru_cache(maxsize=8192)
def _day(day_number: int) -> date:
    return _EPOCH + timedelta(days=day_number)


@lru_cache(maxsize=8192)
def day_text(day_number: int) -> str:
    return _day(day_number).isoformat()


def day_of(ts: int) -> date:
    return _day(ts // DAY)


def iso(ts: int | None) -> str | None:
    """Timestamp text that both SQLite and PostgreSQL read as a UTC TIMESTAMP."""
    if ts is None:
        return None
    seconds = ts % DAY
    return (
        f"{day_text(ts // DAY)} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    )


def add_months(ts: int, months: int) -> int:
    """Same day of month and time, clamped to the month's last day (Stripe's billing)."""
    dt = datetime.fromtimestamp(ts, UTC)
    years, month0 = divmod(dt.month - 1 + months, 12)
    year = dt.year + years
    day = min(dt.day, calendar.monthrange(year, month0 + 1)[1])
    return calendar.timegm(dt.replace(year=year, month=month0 + 1, day=day).timetuple())
