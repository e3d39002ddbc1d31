"""The auditors' pages over HTTP: the replay of a finished complaint step by step, verify,
exports, the report and its sign-off, the deadline audit; auditors read everything and
change nothing."""

from __future__ import annotations

import pytest

from tests.test_audit_support import audit_template, world  # noqa: F401
from tests.test_ui_support import compiled_translations, text_of  # noqa: F401


def test_smoke(world):
    auditor = world.web("auditor")
    t = world.template
    for url in ["/audit/", f"/audit/cases/{t.finished}", f"/audit/cases/{t.finished}/steps/3", f"/audit/cases/{t.finished}/verify",
                f"/audit/cases/{t.finished}/report", f"/audit/cases/{t.finished}/export.json", f"/audit/cases/{t.finished}/export.csv",
                "/audit/system-log", "/audit/system-log/verify", "/audit/deadlines", "/audit/deadlines.csv",
                f"/audit/cases/{t.finished}/steps.json", f"/audit/cases/{t.running}"]:
        r = auditor.get(url)
        assert r.status_code == 200, (url, text_of(r)[:3000])
    print(text_of(auditor.get("/audit/deadlines"))[-3000:])
