"""Acceptance 4: a case's exported JSON history (and the system log's) is verified by the short
standalone script in docs/, run with the Python standard library only (no site-packages), and
any edit of the file makes it fail naming the first bad row."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import test_audit_support as support
from tests.test_ui_support import compiled_translations  # noqa: F401

audit_template, world = support.audit_template, support.world  # the fixtures
SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "verify_history.py"


def _check(path: Path) -> subprocess.CompletedProcess:
    # -I: isolated (no user site, no PYTHON* variables), -S: no site-packages; only the standard library.
    return subprocess.run([sys.executable, "-I", "-S", str(SCRIPT), str(path)], capture_output=True, text=True, timeout=60)


@pytest.fixture
def exported(world, tmp_path):
    auditor = world.web("auditor")
    case = tmp_path / "case.json"
    case.write_bytes(auditor.get(f"/audit/cases/{world.template.finished}/export.json").get_data())
    log = tmp_path / "log.json"
    log.write_bytes(auditor.get("/audit/system-log/export.json").get_data())
    return case, log


def _edit(path: Path, change) -> Path:
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    target = path.with_name("edited-" + path.name)
    target.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return target


def test_untouched_exports_verify(exported):
    case, log = exported
    result = _check(case)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK case TS-") and " events, chain head " in result.stdout
    result = _check(log)
    assert result.returncode == 0 and result.stdout.startswith("OK system log"), result.stdout + result.stderr


def _other_version(document: dict) -> None:
    """Another diagram with a correct hash of its own: the history still names the version it ran on."""
    definition = document["definition"]
    definition["files"] = {"complaint_handling.bpmn": "<other/>"}
    text = json.dumps({"files": definition["files"], "forms": definition["forms"]}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    definition["content_hash"] = hashlib.sha256(text.encode()).hexdigest()


def _swap(events: list, i: int, j: int) -> None:
    events[i], events[j] = events[j], events[i]


CASE_EDITS = {
    "value": (lambda d: d["events"][6]["payload"]["data"].update(cause="无"), "first bad event 7", "hash"),
    "actor": (lambda d: d["events"][4].update(actor="mallory"), "first bad event 5", "hash"),
    "deleted": (lambda d: d["events"].pop(3), "first bad event 4", "missing"),
    "deleted last": (lambda d: d["events"].pop(), "first bad event {before_last}", "chain head"),
    "reordered": (lambda d: _swap(d["events"], 7, 8), "first bad event 8", "missing"),
    "definition": (lambda d: d["definition"]["files"].update({"complaint_handling.bpmn": "<x/>"}), "the process definition",
                   "content hash"),
    "other version": (lambda d: _other_version(d), "the process definition", "another version"),
}


@pytest.mark.parametrize("name", CASE_EDITS)
def test_edited_case_export_fails(exported, name):
    change, where, reason = CASE_EDITS[name]
    events = len(json.loads(exported[0].read_text(encoding="utf-8"))["events"])
    where = where.format(before_last=events - 1)
    result = _check(_edit(exported[0], change))
    assert result.returncode == 1, result.stdout
    assert f"{where}:" in result.stdout and reason in result.stdout, result.stdout


def test_edited_system_log_export_fails(exported, world):
    log = exported[1]
    result = _check(_edit(log, lambda d: d["events"][0].update(actor="mallory")))
    assert result.returncode == 1 and "first bad entry 1:" in result.stdout, result.stdout
    result = _check(_edit(log, lambda d: d["events"].pop()))
    assert result.returncode == 1 and "missing" in result.stdout, result.stdout


def test_the_snippet_in_the_docs_works(exported, tmp_path):
    """docs/audit.md's short standard-library snippet, run as printed (on our export's path)."""
    doc = (SCRIPT.parent / "audit.md").read_text(encoding="utf-8")
    section = doc.split("## Verify an export yourself", 1)[1]
    snippet = section.split("```python", 1)[1].split("```", 1)[0]
    assert "TS-20260302-0001-history.json" in snippet
    script = tmp_path / "snippet.py"
    script.write_text(snippet.replace("TS-20260302-0001-history.json", str(exported[0])), encoding="utf-8")
    result = subprocess.run([sys.executable, "-I", "-S", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("OK "), result.stdout + result.stderr
    edited = _edit(exported[0], lambda d: d["events"][2].update(actor="mallory"))
    script.write_text(snippet.replace("TS-20260302-0001-history.json", str(edited)), encoding="utf-8")
    result = subprocess.run([sys.executable, "-I", "-S", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "AssertionError: event 3" in result.stderr, result.stderr
