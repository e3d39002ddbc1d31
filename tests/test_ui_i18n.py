"""Acceptance 3: both languages render every page without a missing translation.

Two checks. The catalogs: every message the UI code and templates use (extracted the way
`pybabel extract -F babel.cfg` does) has a translation in zh_CN and in en. The pages: every page is rendered
in both languages and its visible text (and placeholder/aria-label/title attributes) is read;
what comes from data (case data, names, diagram and form labels) is marked translate="no" and
skipped. A Chinese page must show no English words, an English page no Chinese characters.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.test_ui_support import WebClient, compiled_translations, open_task, signed_in, start_complaint  # noqa: F401
from webapp.extensions import db
from webapp.models import User

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "webapp" / "translations"
CATALOGS = {"zh_CN": TRANSLATIONS / "zh_Hans_CN", "en": TRANSLATIONS / "en"}
# ASCII that is fine on a Chinese page (codes, standards and brand names, kept short on purpose):
# the example case number in a placeholder, UTC, vehicle and device identifiers (VIN, IMEI),
# the example product model XR-200, ISO (time format), file formats and the hash name.
ASCII_OK = {"TS", "UTC", "ISO", "VIN", "IMEI", "XR", "PDF", "CSV", "JSON", "SHA", "API"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
CHECKED_ATTRIBUTES = ("placeholder", "aria-label", "title", "alt", "data-error")


def _used_messages() -> set[str]:
    """What `pybabel extract -F babel.cfg` finds: every string of the web UI."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_is_translated_in_both_catalogs():
    used = _used_messages()
    assert len(used) > 150
    pot = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po((TRANSLATIONS / "messages.pot").open("rb")) if m.id}
    assert used <= pot, f"run pybabel extract (see babel.cfg): {sorted(used - pot)}"
    for locale, folder in CATALOGS.items():
        catalog = read_po((folder / "LC_MESSAGES" / "messages.po").open("rb"))
        problems = []
        for message in catalog:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy or not all(strings):
                problems.append(key)
        have = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        assert problems == [], (locale, problems)
        assert used <= have, (locale, sorted(used - have))


def test_placeholders_survive_translation():
    catalog = read_po((CATALOGS["zh_CN"] / "LC_MESSAGES" / "messages.po").open("rb"))
    for message in catalog:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        target = message.string if isinstance(message.string, str) else message.string[0]
        assert sorted(re.findall(r"%\(\w+\)[sd]", source)) == sorted(re.findall(r"%\(\w+\)[sd]", target)), source


class _VisibleText(HTMLParser):
    """Text and translatable attributes outside translate="no", <script>, <style> and <head>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skip = attrs.get("translate") == "no" or tag in ("script", "style", "head", "template")
        if not skip and not self._skipping():
            self.parts.extend(attrs[name] for name in CHECKED_ATTRIBUTES if attrs.get(name))
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self._skipping() and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


def untranslated(html: str, locale: str) -> list[str]:
    text = visible_text(html)
    if locale == "en":
        return [line for line in text.splitlines() if re.search(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]", line)]
    return [word for word in re.findall(r"[A-Za-z]{2,}", EMAIL.sub("", text)) if word not in ASCII_OK]


@pytest.fixture
def pages(app, users, deployed_complaints, run_worker):
    """(who, url, method, data) for every page a person can see, with a case in progress."""
    instance = start_complaint(run_worker)
    task = open_task(instance.id, "verify_complaint")
    tech_id = db.session.scalar(db.select(User.id).where(User.username == "tech"))
    return [
        ("anonymous", "/login", "GET", None),
        ("anonymous", "/login", "POST", {"username": "agent", "password": "wrong"}),
        ("handler", "/", "GET", None),
        ("handler", "/?q=nobody", "GET", None),
        ("manager", "/?scope=team", "GET", None),
        ("agent", "/new", "GET", None),
        ("handler", "/new", "GET", None),
        ("agent", "/new/complaint_handling", "GET", None),
        ("agent", "/new/complaint_handling", "POST", {"customer_phone": "x", "channel": "fax?"}),
        ("handler", f"/tasks/{task.id}", "GET", None),
        ("handler", f"/tasks/{task.id}", "POST", {"category": "parts", "reply_to_customer": "x"}),
        ("manager", f"/cases/{instance.id}", "GET", None),
        ("agent", "/cases", "GET", None),
        ("agent", "/cases?scope=all", "GET", None),
        ("agent", "/cases?scope=all&q=nobody", "GET", None),
        ("agent", "/me", "GET", None),
        ("manager", "/admin/users", "GET", None),
        ("manager", "/admin/users/new", "GET", None),
        ("manager", "/admin/users/new", "POST", {"username": "x y", "password": "1"}),
        ("manager", f"/admin/users/{tech_id}", "GET", None),
        ("agent", "/admin/users", "GET", None),  # 403 page
        ("agent", "/cases/999999", "GET", None),  # 404 page
        ("agent", "/logout", "POST", {"csrf_token": "stale"}),  # CSRF page
    ]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_page_renders_without_untranslated_text(app, pages, locale):
    clients: dict[str, WebClient] = {}
    problems = {}
    for who, url, method, data in pages:
        if who not in clients:
            clients[who] = WebClient(app) if who == "anonymous" else signed_in(app, who)
            clients[who].get(f"/lang/{locale}")
        client = clients[who]
        if method == "GET":
            response = client.get(url)
        else:
            csrf = not (data or {}).get("csrf_token")
            response = client.post(url, data, csrf=csrf)
        assert response.status_code in (200, 400, 401, 403, 404, 422), (url, response.status_code)
        html = response.get_data(as_text=True)
        assert f'<html lang="{"en" if locale == "en" else "zh-CN"}">' in html
        if found := untranslated(html, locale):
            problems[f"{who} {method} {url}"] = found
    assert problems == {}
