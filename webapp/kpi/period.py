"""Reporting periods: whole days in China time (Asia/Shanghai), `from` and `to` inclusive.

Everything is stored in UTC; a period [from 00:00, to + 1 day 00:00) China time becomes the
UTC interval the queries use. Trends split a span into weeks (Monday to Sunday) or months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..params import FIRST_DAY, LAST_DAY

REPORT_ZONE = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 3700  # ten years and a bit


class PeriodError(ValueError):
    """Bad period parameters: `errors` maps each field to the reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), REPORT_ZONE).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    first: date  # inclusive, China date
    last: date  # inclusive, China date

    @property
    def start(self) -> datetime:
        return _midnight(self.first)

    @property
    def end(self) -> datetime:
        return _midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def params(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}

    def is_month(self) -> bool:
        return self.first.day == 1 and self.last == month_end(self.first)


def china_date(moment: datetime) -> date:
    return moment.astimezone(REPORT_ZONE).date()


def month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def month_period(year: int, month: int) -> Period:
    first = date(year, month, 1)
    return Period(first, month_end(first))


def this_month(now: datetime) -> Period:
    today = china_date(now)
    return Period(today.replace(day=1), month_end(today))


def previous_month(now: datetime) -> Period:
    first = china_date(now).replace(day=1)
    last = first - timedelta(days=1)
    return Period(last.replace(day=1), last)


def parse_day(text: str | None, field: str, errors: dict[str, str]) -> date | None:
    if text in (None, ""):
        return None
    value = str(text).strip()
    try:
        if len(value) != 10:
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        errors[field] = "not a date: use YYYY-MM-DD"
        return None
    if not FIRST_DAY <= day <= LAST_DAY:  # a day later or earlier must still be a date
        errors[field] = f"not a date between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"
        return None
    return day


def parse_period(from_text: str | None, to_text: str | None, *, now: datetime) -> Period:
    """`from`/`to` as given (either may be missing: the current month's bounds fill in)."""
    errors: dict[str, str] = {}
    first = parse_day(from_text, "from", errors)
    last = parse_day(to_text, "to", errors)
    if errors:
        raise PeriodError(errors)
    default = this_month(now)
    if first is None and last is None:
        return default
    if first is None:
        first = last.replace(day=1)
    if last is None:
        last = month_end(first)
    if last < first:
        raise PeriodError({"to": "is before from"})
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError({"to": f"the period is longer than {MAX_DAYS} days"})
    return Period(first, last)


def parse_month(text: str | None, *, now: datetime) -> Period:
    """'YYYY-MM' (default: the current month, so a new install does not open on an empty one;
    the report links to the previous month)."""
    if not text:
        return this_month(now)
    try:
        year, month = (int(part) for part in str(text).split("-"))
        if not FIRST_DAY.year <= year <= LAST_DAY.year:
            raise ValueError(text)
        return month_period(year, month)
    except ValueError:
        raise PeriodError({"month": "not a month: use YYYY-MM"}) from None


@dataclass(frozen=True)
class Bucket:
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return _midnight(self.first)

    @property
    def end(self) -> datetime:
        return _midnight(self.last + timedelta(days=1))


def buckets(grain: str, period: Period, count: int = 12) -> list[Bucket]:
    """The `count` weeks or months that end with the one holding the period's last day."""
    out: list[Bucket] = []
    if grain == "week":
        monday = period.last - timedelta(days=period.last.weekday())
        for i in range(count - 1, -1, -1):
            first = monday - timedelta(weeks=i)
            out.append(Bucket(first, first + timedelta(days=6)))
        return out
    first = period.last.replace(day=1)
    months = []
    for _ in range(count):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return [Bucket(m, month_end(m)) for m in reversed(months)]
