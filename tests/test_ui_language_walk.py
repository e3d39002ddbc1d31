"""Acceptance 3 of issue 15: every page in English has no Chinese but data, and the reverse.

All nine processes are deployed as the repository ships them (diagrams, forms and their
translation tables). Each role signs in and walks what it can reach: inbox, new-case list and
every start form, a task page, case pages, the auditor's replay, verify and report, the
dashboards and monthly report, the admin pages and the modeler's process list. Then every
task form of every process is rendered as the task page renders it. What comes from data
(names people typed, case numbers, user names) is marked translate="no" in the templates and
skipped; everything else must be in the page's language.

Besides the pages, the translation tables themselves: every text a form or diagram shows
has an English entry (scripts/i18n_tables.py lists what is missing).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import render_template_string
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tests.conftest import deploy_files, process_files
from tests.test_ui_i18n import untranslated
from tests.test_ui_support import WebClient, compiled_translations, open_task, signed_in, start_complaint  # noqa: F401
from webapp.engine.translations import localised_form
from webapp.extensions import db
from webapp.forms_render import build_fields
from webapp.models import Definition, User

ROOT = Path(__file__).resolve().parent.parent
PROCESS_KEYS = sorted(p.stem for p in (ROOT / "processes").glob("*.bpmn"))
ROLES = ["agent", "handler", "manager", "owner", "auditor", "tech", "admin"]


@pytest.fixture
def walk(app, users, run_worker):
    """(who, url) for every page each role reaches, with a complaint in progress."""
    for key in ["satisfaction_survey", *[k for k in PROCESS_KEYS if k != "satisfaction_survey"]]:
        response = deploy_files(users["owner"], process_files(key))
        assert response.status_code == 201, (key, response.get_json())
    instance = start_complaint(run_worker)
    task = open_task(instance.id, "verify_complaint")
    tech_id = db.session.scalar(db.select(User.id).where(User.username == "tech"))
    definition_id = instance.definition_id
    pages = []
    for who in ROLES:
        pages += [(who, "/"), (who, "/cases"), (who, "/new"), (who, "/me")]
    pages += [("admin", f"/new/{key}") for key in PROCESS_KEYS]
    pages += [
        ("handler", f"/tasks/{task.id}"),
        ("handler", f"/cases/{instance.id}"),
        ("manager", f"/cases/{instance.id}"),
        ("manager", "/?scope=team"),
        ("manager", "/incidents"),
        ("manager", "/cases?scope=all"),
        ("auditor", "/audit/"),
        ("auditor", f"/audit/cases/{instance.id}"),
        ("auditor", f"/audit/cases/{instance.id}?step=1"),
        ("auditor", f"/audit/cases/{instance.id}/verify"),
        ("auditor", f"/audit/cases/{instance.id}/report"),
        ("auditor", "/audit/deadlines"),
        ("auditor", "/audit/system-log"),
        ("manager", "/dashboard/"),
        ("manager", "/dashboard/processes"),
        ("manager", f"/dashboard/processes/{definition_id}"),
        ("manager", "/dashboard/report"),
        ("owner", "/processes/"),
        ("admin", "/admin/users"),
        ("admin", "/admin/users/new"),
        ("admin", f"/admin/users/{tech_id}"),
    ]
    return pages


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_each_role_walks_every_page_in_one_language(app, walk, locale):
    clients: dict[str, WebClient] = {}
    problems = {}
    for who, url in walk:
        if who not in clients:
            clients[who] = signed_in(app, who)
            clients[who].get(f"/lang/{locale}")
        response = clients[who].get(url)
        assert response.status_code == 200, (who, url, response.status_code)
        html = response.get_data(as_text=True)
        if found := untranslated(html, locale):
            problems[f"{who} {url}"] = sorted(set(found))
    assert problems == {}


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("zh_CN", "投诉单号 {key}：请核实客户 张伟 的投诉并在 24 小时内答复。"),
     ("en", "Complaint {key}: please verify the complaint of customer 张伟 and answer within 24 hours.")],
)
def test_a_task_page_shows_its_instructions_in_the_page_language_with_the_case_data_as_typed(
    app, users, run_worker, locale, expected
):
    assert deploy_files(users["owner"], process_files("complaint_handling")).status_code == 201
    instance = start_complaint(run_worker)
    client = signed_in(app, "handler")
    client.get(f"/lang/{locale}")
    html = client.get(f"/tasks/{open_task(instance.id, 'verify_complaint').id}").get_data(as_text=True)
    instructions = html.split('<div class="instructions">')[1].split("</div>")[0]  # the block is not marked as data
    assert re.sub(r"<[^>]+>", "", instructions).strip() == expected.format(key=instance.business_key)
    # what the instruction quotes from the case is data, shown as typed in both languages
    assert '<span translate="no">张伟</span>' in instructions
    assert f'<span translate="no">{instance.business_key}</span>' in instructions
    assert untranslated(instructions, locale) == []


TASK_FORM = """{% from "forms/fields.html" import field %}<h2>{{ schema.get('title', '') }}</h2>
<p>{{ schema.get('description', '') }}</p>{% for f in fields %}{{ field(f) }}{% endfor %}"""


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_task_form_of_every_process_reads_in_one_language(app, users, locale):
    """The task forms as the task page renders them (labels, help, options, placeholders,
    table columns), for every user task of the nine processes."""
    for key in PROCESS_KEYS:
        assert deploy_files(users["owner"], process_files(key)).status_code == 201, key
    problems = {}
    rendered = 0
    for definition in db.session.scalars(db.select(Definition)):
        for task_id, task in (definition.meta.get("tasks") or {}).items():
            form = task.get("form") or {}
            if not form.get("schema"):
                continue
            schema = localised_form(definition, form["schema"], locale)
            ui = localised_form(definition, form.get("ui_schema"), locale) or {}
            with app.test_request_context(f"/lang/{locale}"):
                from flask import session

                session["locale"] = locale
                fields = build_fields(schema, ui, None, {}, yes="是" if locale == "zh_CN" else "Yes",
                                      no="否" if locale == "zh_CN" else "No")
                html = render_template_string(TASK_FORM, schema=schema, fields=fields)
            rendered += 1
            if found := untranslated(html, locale):
                problems[f"{definition.key}/{task_id}"] = sorted(set(found))
    assert rendered > 60
    assert problems == {}


def test_every_form_and_diagram_text_has_an_english_entry():
    """The shipped tables are complete: the helper that lists missing entries finds none
    (names, form texts and every task's instructions)."""
    result = subprocess.run([sys.executable, "scripts/i18n_tables.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    tables = list((ROOT / "processes").glob("**/*-i18n.json"))
    assert len(tables) >= 9 + 80
    for path in tables:
        entries = json.loads(path.read_text(encoding="utf-8"))["en"]
        assert not [v for v in entries.values() if re.search(r"[\u3400-\u9fff]", v)], path.name


def test_every_task_instruction_has_an_english_template_with_the_same_template_code():
    """Each instruction of the ten processes is a table entry, and its English keeps the
    template's variables and control flow (only prose, quoted literals included, changes)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from i18n_tables import instruction_texts

    code = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
    names = re.compile(r"'[^']*'")
    checked = 0
    for diagram in sorted((ROOT / "processes").glob("*.bpmn")):
        entries = json.loads((ROOT / "processes" / f"{diagram.stem}-i18n.json").read_text(encoding="utf-8"))["en"]
        for text in instruction_texts(diagram):
            english = entries.get(text)
            assert english, (diagram.name, text)
            assert sorted(names.sub("''", c) for c in code.findall(english)) == sorted(
                names.sub("''", c) for c in code.findall(text)
            ), (diagram.name, text, english)
            ImmutableSandboxedEnvironment().parse(english)  # a syntax error would show it as written
            checked += 1
    assert checked >= 100
