"""Issue 6, acceptance 3: every diagram in processes/ round-trips through the modeler.

Each process is opened in the modeler, saved by bpmn-js (its own XML, not the file as it was)
and deployed through the modeler's Deploy; the new version must execute exactly what the one
before did: SpiffWorkflow's spec diff of the two finds no task spec added, removed or changed
(top level and subprocesses), and what our parser collects (lanes -> roles, forms per task,
operators, start form, business-key prefix, boundaries) and the forms and decision tables are
the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.util.diff import SpecDiff

from webapp.accounts import create_user
from webapp.engine import clock, definitions, serialization
from webapp.extensions import db
from webapp.models import Definition
from workers import registry

pytestmark = pytest.mark.browser
PROCESSES = Path(__file__).resolve().parents[2] / "processes"
KEYS = sorted(p.stem for p in PROCESSES.glob("*.bpmn"))


@pytest.fixture(scope="module")
def deployed(live):
    def setup():
        create_user("owner3", "pw-owner3", ["process_owner"])
        definitions.deploy_directory(PROCESSES, actor="cli", now=clock.now(), known_operators=registry.names())
        db.session.commit()

    live.query(setup)


def _latest(live, key: str) -> int:
    return live.query(lambda: db.session.scalar(db.select(db.func.max(Definition.version)).where(Definition.key == key)))


def _executes(definition_id: int):
    info = definitions.info(definition_id)
    spec, subprocess_specs = definitions.spec_for(info)
    row = db.session.get(Definition, definition_id)
    dmn = {name: text for name, text in row.files.items() if name.endswith(".dmn")}
    return spec, subprocess_specs, info.meta, info.forms, dmn


def _same_execution(live, key: str, before: int, after: int) -> list[str]:
    def compare():
        ids = dict(db.session.execute(db.select(Definition.version, Definition.id).where(Definition.key == key)).all())
        spec_a, subs_a, meta_a, forms_a, dmn_a = _executes(ids[before])
        spec_b, subs_b, meta_b, forms_b, dmn_b = _executes(ids[after])
        reg = serialization._serializer.registry
        problems = []
        for name, (a, b) in {key: (spec_a, spec_b), **{n: (s, subs_b.get(n)) for n, s in subs_a.items()}}.items():
            if b is None:
                problems.append(f"{name}: subprocess missing")
                continue
            diff = SpecDiff(reg, a, b)
            if diff.added or diff.removed or diff.changed:
                problems.append(f"{name}: added {[s.name for s in diff.added]} removed {[s.name for s in diff.removed]} "
                                f"changed { {s.name: c for s, c in diff.changed.items()} }")
        if set(subs_a) != set(subs_b):
            problems.append(f"subprocesses {sorted(subs_a)} != {sorted(subs_b)}")
        if meta_a != meta_b:
            problems.append("meta differs")
        if forms_a != forms_b:
            problems.append("forms differ")
        if dmn_a != dmn_b:
            problems.append("decision tables differ")
        return problems

    return live.query(compare)


def test_every_diagram_round_trips_through_the_modeler(live, sign_in, deployed):
    page = sign_in("owner3")
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    results = {}
    for key in KEYS:
        before = _latest(live, key)
        page.goto(f"{live.url}/processes/{key}/modeler")
        page.wait_for_selector("body[data-modeler-ready=true]")
        # Deploy what bpmn-js writes (forced: an untouched diagram would be sent as it was opened).
        body = page.evaluate("() => window.aftersalesModeler.deploy(true)")
        assert body["_status"] == 201 and body["created"] is True, (key, body)
        assert body["version"] == before + 1
        results[key] = _same_execution(live, key, before, before + 1)
        changes = page.evaluate(f"() => fetch('/processes/api/{key}/diff?a={before}&b={before + 1}').then(r => r.json())")
        assert (changes["added"], changes["removed"], changes["changed"]) == ([], [], {}), (key, changes)
    assert results == {key: [] for key in KEYS}
    assert errors == []


def test_panel_shows_what_the_engine_reads_and_dmn_js_opens_decision_tables(live, sign_in, deployed):
    page = sign_in("owner3")
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{live.url}/processes/warranty_claim/modeler")
    page.wait_for_selector("body[data-modeler-ready=true]")
    select = ("(id) => { const m = window.aftersalesModeler.modeler; "
              "m.get('selection').select(m.get('elementRegistry').get(id)); }")
    first = "(type) => window.aftersalesModeler.modeler.get('elementRegistry').filter(e => e.type === type)[0].id"
    page.evaluate(select, page.evaluate(first, "bpmn:ServiceTask"))
    assert "/" in page.locator("#bio-properties-panel-aftersales-operator").input_value()
    assert " = " in page.locator("#bio-properties-panel-aftersales-parameters").input_value()
    page.evaluate(select, page.evaluate(first, "bpmn:BusinessRuleTask"))
    assert page.locator("#bio-properties-panel-aftersales-decision").input_value()
    lane = page.evaluate(first, "bpmn:Lane")
    page.evaluate(select, lane)
    assert page.locator("#bio-properties-panel-aftersales-lane-role").input_value() == lane
    page.get_by_role("tab", name="决策表").click()
    page.wait_for_selector("#dmn-canvas[data-ready]")
    assert page.locator("#dmn-canvas").get_attribute("data-ready") == "warranty_eligibility.dmn"
    assert page.locator("#dmn-canvas .tjs-table, #dmn-canvas .djs-container").count() >= 1
    page.screenshot(path=str(Path(__file__).resolve().parents[2] / "test-artifacts" / "modeler-5-dmn.png"), full_page=True)
    assert errors == []
