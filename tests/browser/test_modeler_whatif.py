"""Issue 16, try before deploy, in a real browser: a process owner changes complaint handling
(a task 复核分析结论 after 分析原因确定责任) and presses 试运行 before deploying it.

Of three recent cases, the one that got past the analysis is reported stuck at the new task
and the two still at 分类核实 follow the same path: the summary table says so, the case rows
name the element, and the diagram carries the counts per element. Nothing is deployed and the
cases keep their history. Screenshots for docs/modeler.md go to docs/img/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import ROOT
from tests.browser.test_modeler_acceptance import VERIFY, _complete, _start
from tests.whatif_drafts import NEW_TASK, with_review_after_analysis
from webapp.accounts import create_user
from webapp.extensions import db
from webapp.models import Definition, HistoryEvent

pytestmark = pytest.mark.browser
DOCS_IMG = ROOT / "docs" / "img"
ANALYSE = {"cause": "维修工未更换损坏的电容。", "responsible_department": "service", "resolvable": True}


@pytest.fixture(scope="module")
def whatif_owner(live):
    def make():
        create_user("wi_owner", "pw-wi_owner", ["process_owner"])
        db.session.commit()

    live.query(make)
    return "wi_owner"


def _record(live):
    return live.query(lambda: (
        sorted(db.session.execute(db.select(HistoryEvent.instance_id, HistoryEvent.seq, HistoryEvent.hash)).all()),
        db.session.scalar(db.select(db.func.count()).select_from(Definition)),
    ))


def test_what_if_shows_stuck_and_same_path_cases(live, sign_in, whatif_owner):
    waiting = [_start(live), _start(live)]
    past = _start(live)
    _complete(live, past, "verify_complaint", VERIFY)
    _complete(live, past, "analyse_complaint", ANALYSE)
    before = _record(live)
    draft = with_review_after_analysis((Path(ROOT) / "processes" / "complaint_handling.bpmn").read_bytes(), form=False)

    page = sign_in(whatif_owner, {"width": 1280, "height": 800})
    page.goto(f"{live.url}/processes/complaint_handling/modeler")
    page.wait_for_selector("body[data-modeler-ready=true]")
    # the owner's change, as the modeler would hold it after drawing the task
    page.evaluate("xml => window.AftersalesModeler.modeler.importXML(xml)", draft.decode("utf-8"))
    page.click("#whatif")
    page.wait_for_selector("#whatif-box[data-done]")
    assert page.get_attribute("#whatif-box", "data-done") == "true", page.inner_text("#whatif-status")

    summary = {row.get_attribute("data-outcome"): row.locator("td").nth(1).inner_text()
               for row in page.locator("#whatif-summary tbody tr[data-outcome]").all()}
    assert summary == {"same_path": "2", "other_path": "0", "stuck": "1", "failed": "0"}
    assert page.locator("#whatif-summary").inner_text().count("卡住") == 1
    stuck_row = page.locator(f"#whatif-cases tr[data-instance='{past}']")
    assert stuck_row.get_attribute("data-outcome") == "stuck"
    assert "复核分析结论" in stuck_row.inner_text() and "卡住" in stuck_row.inner_text()
    for instance_id in waiting:
        assert page.locator(f"#whatif-cases tr[data-instance='{instance_id}']").get_attribute("data-outcome") == "same_path"
    badge = page.locator(f".whatif-badge[data-whatif='{NEW_TASK}']")
    assert badge.inner_text() == "到达 1 · 卡住 1"
    assert page.locator(".whatif-badge[data-whatif='verify_complaint']").inner_text() == "到达 3"

    DOCS_IMG.mkdir(exist_ok=True)
    page.evaluate("""id => {
        const canvas = window.AftersalesModeler.modeler.get('canvas');
        const element = window.AftersalesModeler.modeler.get('elementRegistry').get(id);
        canvas.zoom(1);
        const box = canvas.viewbox();
        canvas.viewbox({x: element.x - box.width / 2 + 150, y: element.y - box.height / 2,
                        width: box.width, height: box.height});
    }""", NEW_TASK)
    page.locator("#canvas").screenshot(path=str(DOCS_IMG / "modeler-whatif-diagram.png"))
    page.locator("#whatif-box").screenshot(path=str(DOCS_IMG / "modeler-whatif-summary.png"))
    # nothing was deployed and no case changed
    assert _record(live) == before
