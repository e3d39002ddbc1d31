"""Language and time zone: zh_CN unless the person chose otherwise; times in their zone.

Everything is stored in UTC; only what is shown is converted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, request, session
from flask_babel import format_datetime, format_timedelta, get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user

from ..engine import clock

LOCALES = {"zh_CN": "中文", "en": "English"}
LANG_COOKIE = "lang"
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"


def select_locale() -> str:
    chosen = session.get("locale") or request.cookies.get(LANG_COOKIE)
    if chosen in LOCALES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")


def select_timezone() -> str:
    if current_user and current_user.is_authenticated and current_user.timezone:
        try:
            ZoneInfo(current_user.timezone)
            return current_user.timezone
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")


def user_zone() -> ZoneInfo:
    return ZoneInfo(str(get_timezone()))


def is_english() -> bool:
    return str(get_locale()).startswith("en")


def when(moment: datetime | str | None) -> str:
    """A moment as the person reads it: their zone, minutes, no locale-dependent words."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = clock.from_iso(moment)
    return format_datetime(moment, "yyyy-MM-dd HH:mm")


def age(moment: datetime | None) -> str:
    if moment is None:
        return ""
    delta = clock.now() - moment
    if delta < timedelta(minutes=1):
        return _("just now")
    return format_timedelta(delta, granularity="minute", threshold=1.5)


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(LOCALES=LOCALES, is_english=is_english, get_locale=get_locale, clock_now=clock.now)
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["age"] = age


def compile_catalogs(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    """Compile .po files whose .mo is missing or older (what `make translations` does).

    For test runs and development servers started without make; returns what it wrote.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        written.append(mo_path)
    return written
