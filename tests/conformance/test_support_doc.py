"""docs/bpmn-support.md is checked against the conformance suite: every construct a row
names has a diagram in the suite, every refused row a diagram refused at deploy, every test
a row points to exists."""

from __future__ import annotations

from tests.conformance import test_data, test_events, test_loops, test_messages, test_more_events, test_refused
from tests.conftest import ROOT

MODULES = (test_data, test_events, test_loops, test_messages, test_more_events)


def _rows() -> list[list[str]]:
    rows = []
    for line in (ROOT / "docs" / "bpmn-support.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and cells[1] in ("supported", "limits", "refused"):
            rows.append(cells)
    return rows


def test_every_row_is_backed_by_the_suite():
    constructs = {case.construct for module in MODULES for case in module.CASES}
    rows = _rows()
    assert len(rows) >= 50
    for element, status, _why, evidence in rows:
        for item in filter(None, (e.strip() for e in evidence.split(";"))):
            if item.startswith("refused:"):
                assert status == "refused", element
                assert item.removeprefix("refused:").strip() in test_refused.REFUSED, element
            elif item.startswith("test:"):
                assert (ROOT / item.removeprefix("test:").strip()).is_file(), element
            else:
                assert status != "refused", element
                assert item in constructs, f"{element}: no conformance diagram for {item!r}"
        assert evidence, f"{element}: names no evidence"


def test_the_suite_has_at_least_sixty_diagrams_and_every_construct_is_in_the_table():
    cases = [case for module in MODULES for case in module.CASES]
    assert len(cases) >= 60
    named = {item.strip() for row in _rows() for item in row[3].split(";")}
    missing = {case.construct for case in cases} - named
    assert not missing, f"constructs the table does not list: {missing}"
