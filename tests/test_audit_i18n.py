"""Both languages render the auditors' pages without a missing translation: every message of
webapp/audit is in both catalogs, and every page (including a failed verification) shows no
English on the Chinese page and no Chinese on the English one, data aside (translate="no")."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import text

from tests import test_audit_support as support
from tests.test_ui_i18n import CATALOGS, TRANSLATIONS, untranslated
from tests.test_ui_support import compiled_translations  # noqa: F401
from webapp.extensions import db

audit_template, world = support.audit_template, support.world  # the fixtures
ROOT = Path(__file__).resolve().parent.parent
FORMAT_NAMES = {"JSON", "CSV", "SHA"}  # file formats and the hash's name stay as they are on Chinese pages too


def _audit_messages() -> set[str]:
    method_map = [("webapp/audit/**.py", "python"), ("webapp/audit/templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords={"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_audit_message_is_translated_in_both_catalogs():
    used = _audit_messages()
    assert len(used) > 80
    pot = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po((TRANSLATIONS / "messages.pot").open("rb")) if m.id}
    assert used <= pot, sorted(used - pot)
    for locale, folder in CATALOGS.items():
        catalog = read_po((folder / "LC_MESSAGES" / "messages.po").open("rb"))
        translated = {}
        for message in catalog:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            translated[key] = not message.fuzzy and all(strings)
        missing = sorted(m for m in used if not translated.get(m))
        assert missing == [], (locale, missing)


@pytest.mark.tampers
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_audit_page_renders_in_both_languages(world, locale):
    t = world.template
    auditor = world.web("auditor")
    auditor.get(f"/lang/{locale}")
    assert auditor.post(f"/audit/cases/{t.finished}/sign-off", {"comment": "ok"}).status_code == 302
    urls = [
        "/audit/", "/audit/?q=nobody", f"/audit/cases/{t.finished}", f"/audit/cases/{t.finished}?step=5",
        f"/audit/cases/{t.finished}/steps/3", f"/audit/cases/{t.running}", f"/audit/cases/{t.finished}/verify",
        f"/audit/cases/{t.finished}/report", "/audit/system-log", "/audit/system-log?type=nothing", "/audit/system-log/verify",
        "/audit/deadlines?from=2026-03-01&to=2026-03-31", "/audit/deadlines?from=2026-03-01&to=2026-03-31&status=missed",
        "/audit/deadlines?from=2025-01-01&to=2025-01-02",
    ]
    problems = {}

    def check(url):
        response = auditor.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        if found := [word for word in untranslated(html, locale) if word not in FORMAT_NAMES]:
            problems[url] = found

    for url in urls:
        check(url)
    # failed verifications: a case and the system log
    db.session.execute(text("UPDATE history_events SET actor = 'mallory' WHERE instance_id = :i AND seq = 3"), {"i": t.finished})
    db.session.execute(text("UPDATE system_log_events SET actor = 'mallory' WHERE seq = 1"))
    db.session.commit()
    for url in (f"/audit/cases/{t.finished}/verify", f"/audit/cases/{t.finished}/report", "/audit/system-log/verify"):
        check(url)
    assert problems == {}
