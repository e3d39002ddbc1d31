"""Language and time zone: zh_CN unless the person chose otherwise; times in their zone.

Everything is stored in UTC; only what is shown is converted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, g, request, session
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


def form_for(definition, form_file: str | None) -> dict | None:
    """A deployed form in the reader's language (its own translation table, see
    engine/translations.py)."""
    from ..engine.translations import localised_form

    return localised_form(definition, form_file, get_locale())


def name_in_language(name: str | None, definition=None) -> str:
    """A diagram name (process, lane, task, flow) in the reader's language. `definition` is
    the deployed version the name comes from, or a process key (then its newest version)."""
    from ..engine.translations import element_name

    if isinstance(definition, str):
        definition = _latest_definition(definition)
    return element_name(definition, name, get_locale()) if definition is not None else (name or "")


def _latest_definition(key: str):
    from ..extensions import db
    from ..models import Definition

    cache = g.setdefault("_latest_definitions", {})
    if key not in cache:
        cache[key] = db.session.scalar(
            db.select(Definition).where(Definition.key == key).order_by(Definition.version.desc()).limit(1)
        )
    return cache[key]


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(LOCALES=LOCALES, is_english=is_english, get_locale=get_locale, clock_now=clock.now)
    app.jinja_env.globals["form_for"] = form_for
    app.jinja_env.filters["named"] = name_in_language
    from .system_fields import system_label

    app.jinja_env.globals["system_label"] = system_label
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
