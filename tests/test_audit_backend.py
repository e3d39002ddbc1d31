"""The auditors' pages on the suite's own database fixture, so that with TEST_DATABASE_URL they
run on PostgreSQL too (the other audit tests copy a SQLite template for speed)."""

from __future__ import annotations

import re

from tests.complaint_driver import ComplaintDriver
from tests.test_ui_support import compiled_translations, signed_in, text_of  # noqa: F401


def test_audit_pages_on_this_database(app, users, deployed_complaints, run_worker, manual_clock):
    complaint = ComplaintDriver(users, run_worker)
    complaint.start()
    manual_clock.advance(hours=2)
    complaint.verify()
    complaint.analyse(resolvable=True)
    complaint.propose()
    complaint.confirm(agrees=True)
    complaint.carry_out_and_close()
    auditor = signed_in(app, "auditor")
    i = complaint.instance_id
    for url in ("/audit/", f"/audit/?q={complaint.business_key}", f"/audit/cases/{i}", f"/audit/cases/{i}/steps/3",
                f"/audit/cases/{i}/steps.json", f"/audit/cases/{i}/diagram.json", f"/audit/cases/{i}/export.json",
                f"/audit/cases/{i}/export.csv", f"/audit/cases/{i}/report", "/audit/system-log?type=login&from=2026-03-01",
                "/audit/system-log/export.json", "/audit/system-log/export.csv", "/audit/deadlines.csv?from=2026-03-01"):
        assert auditor.get(url).status_code == 200, url
    assert 'data-verified="true"' in text_of(auditor.get(f"/audit/cases/{i}/verify"))
    assert 'data-verified="true"' in text_of(auditor.get("/audit/system-log/verify"))
    deadlines = text_of(auditor.get("/audit/deadlines?from=2026-03-01&to=2026-03-31"))
    assert re.search(r'data-deadline="reply_24h" data-status="met"', deadlines)
    assert re.search(r'data-deadline="resolve_48h" data-status="met"', deadlines)
    log = text_of(auditor.get("/audit/system-log"))
    assert 'data-type="definition_deployed"' in log and 'data-type="login"' in log
    assert auditor.post(f"/audit/cases/{i}/sign-off", {"comment": "ok"}).status_code == 302
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "0 failed" in result.output, result.output
