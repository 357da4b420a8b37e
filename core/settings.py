"""The settings of one run: the as-of date, parsed once and kept a `date` until it becomes a
dbt variable, and the one definition of "today" that dbt, the reconciliation and the
reports share (the calendar day in UTC, the marts' day boundary)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime


class SettingsError(ValueError):
    """A setting given in the wrong form; the message says which and how to write it."""


def today() -> date:
    """The day in UTC: the day boundary of every mart (Stripe's timestamps are UTC)."""
    return datetime.now(UTC).date()


def parse_as_of(value: str | date | None) -> date | None:
    """A YYYY-MM-DD string (or a date) as a date; None or "" stays None (= today)."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SettingsError(f"the as-of date must be YYYY-MM-DD, got {value!r}") from None


def check_not_in_the_future(as_of: date) -> date:
    """Numbers as of a day that has not happened yet would count subscriptions as active
    through days nobody has billed: refused. "Today" is the UTC day, the marts' boundary."""
    if as_of > today():
        raise SettingsError(
            f"the as-of date {as_of} is in the future (today is {today()} in UTC, the day "
            "boundary of the marts): give today or an earlier date"
        )
    return as_of


@dataclass(frozen=True)
class RunSettings:
    """`as_of`: the day the numbers are as of (None: today, fixed when the run starts so every
    step of one run agrees). `dbt_vars`: the other dbt variables (MRR rules' settings)."""

    as_of: date = field(default_factory=today)
    dbt_vars: dict = field(default_factory=dict)

    @classmethod
    def of(cls, as_of: str | date | None = None, dbt_vars: dict | None = None) -> RunSettings:
        day = check_not_in_the_future(parse_as_of(as_of) or today())
        return cls(as_of=day, dbt_vars=dict(dbt_vars or {}))

    def dbt_env(self) -> dict[str, str]:
        """The as-of date for dbt, as REVWH_AS_OF (macros/settings.sql reads it when SQL is
        rendered to run). Not a var: dbt re-parses the whole project whenever its vars
        change, which a date that moves every day would make every daily run do."""
        return {AS_OF_VARIABLE: self.as_of.isoformat()}


AS_OF_VARIABLE = "REVWH_AS_OF"
