"""The working-day calendar for deadlines counted in working days (the dealer's follow-up
"3 个工作日内"): Monday to Friday, minus the public holidays, plus the make-up working days
(调休) of the State Council's yearly notice (国务院办公厅关于部分节假日安排的通知). The
defaults below follow the usual pattern of those notices for 2026 and are NOT copied from the
notice: a site checks them against the year's notice and adds its days with the file named by
WORKING_DAYS_FILE (JSON: {"holidays": [...], "workdays": [...]}, ISO dates), read once per
process."""

from __future__ import annotations

import json
import os
from datetime import date
from functools import cache

HOLIDAYS_2026 = (
    # 元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆 (the usual pattern; check against the year's notice)
    "2026-01-01", "2026-01-02", "2026-01-03",
    "2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-21", "2026-02-22",
    "2026-02-23",
    "2026-04-04", "2026-04-05", "2026-04-06",
    "2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05",
    "2026-06-19", "2026-06-20", "2026-06-21",
    "2026-09-25", "2026-09-26", "2026-09-27",
    "2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07",
)
WORKDAYS_2026 = ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10")


@cache
def _calendar() -> tuple[frozenset[date], frozenset[date]]:
    holidays = {date.fromisoformat(d) for d in HOLIDAYS_2026}
    workdays = {date.fromisoformat(d) for d in WORKDAYS_2026}
    path = os.environ.get("WORKING_DAYS_FILE")
    if path:
        with open(path, encoding="utf-8") as handle:
            extra = json.load(handle)
        holidays |= {date.fromisoformat(d) for d in extra.get("holidays", [])}
        workdays |= {date.fromisoformat(d) for d in extra.get("workdays", [])}
    return frozenset(holidays), frozenset(workdays)


def is_working_day(day: date) -> bool:
    holidays, workdays = _calendar()
    if day in workdays:
        return True
    return day.weekday() < 5 and day not in holidays
