"""The monthly report as PDF (reportlab, with an embedded CJK TrueType font) and its
underlying rows as Excel (openpyxl). Both in the reader's language.

Every text in the PDF is escaped before reportlab's Paragraph reads it as its mini-markup (a
process named "R&D <unclosed" is text, not a broken tag); every XLSX cell that a spreadsheet
would run as a formula is written as text."""

from __future__ import annotations

import io
import logging
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from flask import current_app
from flask_babel import gettext as _

from ..kpi import CODES, FIGURES, cases
from ..kpi.period import REPORT_ZONE
from ..spreadsheet_safety import xlsx_as_text
from .labels import OUTCOMES, label

log = logging.getLogger("aftersales.exports")

# reportlab embeds TrueType outlines only (not the CFF outlines of Noto CJK's .otf/.ttc), so the
# Makefile installs Debian's fonts-wqy-microhei. Tried in order; PDF_CJK_FONT (config) first.
CJK_TTF_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
EMBEDDED_FONT = "AftersalesCJK"
# Without a font file: reportlab's built-in CID font, which PDF readers must supply (not embedded).
FALLBACK_FONT = "STSong-Light"


def cjk_font() -> str:
    """Register (once per process) and name the font the PDF uses."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    registered = pdfmetrics.getRegisteredFontNames()
    if EMBEDDED_FONT in registered:
        return EMBEDDED_FONT
    configured = current_app.config.get("PDF_CJK_FONT")
    for path in ([configured] if configured else []) + list(CJK_TTF_CANDIDATES):
        if not Path(path).is_file():
            continue
        try:
            pdfmetrics.registerFont(TTFont(EMBEDDED_FONT, path, subfontIndex=0))
            return EMBEDDED_FONT
        except Exception as err:  # a CFF font or a broken file: say so and try the next one
            log.warning("PDF font %s cannot be embedded: %s", path, err)
    log.warning("no CJK TrueType font found (install fonts-wqy-microhei or set PDF_CJK_FONT); "
                "the PDF uses the non-embedded %s", FALLBACK_FONT)
    if FALLBACK_FONT not in registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT


def _local(moment: datetime | None) -> datetime | None:
    """A moment as China wall-clock time without zone (Excel has no time zones)."""
    return moment.astimezone(REPORT_ZONE).replace(tzinfo=None) if moment is not None else None


def _text(moment: datetime | None) -> str:
    return f"{_local(moment):%Y-%m-%d %H:%M}" if moment is not None else ""


def _title(period) -> str:
    return _("Monthly service report %(month)s", month=f"{period.first:%Y-%m}")


# ---------------------------------------------------------------- PDF


def report_pdf(context: dict) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph as MarkupParagraph
    from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

    def Paragraph(text, style):  # noqa: N802 - stands in for reportlab's, with the text escaped
        return MarkupParagraph(escape(str(text)), style)

    CJK_FONT = cjk_font()  # noqa: N806
    data, period, percent = context["data"], context["period"], context["percent"]
    title_style = ParagraphStyle("title", fontName=CJK_FONT, fontSize=18, leading=24, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=CJK_FONT, fontSize=13, leading=18, spaceBefore=10, spaceAfter=4)
    body = ParagraphStyle("body", fontName=CJK_FONT, fontSize=9, leading=13)
    cell = ParagraphStyle("cell", fontName=CJK_FONT, fontSize=8.5, leading=11)

    def table(rows: list[list], widths: list[float]) -> Table:
        wrapped = [[Paragraph(str(v), cell) for v in row] for row in rows]
        t = Table(wrapped, colWidths=[w * mm for w in widths], repeatRows=1)
        t.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf2")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        return t

    story = [
        Paragraph(_title(period), title_style),
        Paragraph(_("Period %(first)s to %(last)s (China time), as of %(as_of)s", first=period.first.isoformat(),
                    last=period.last.isoformat(), as_of=_text(data["as_of"])), body),
        Paragraph(_("Service targets"), h2),
    ]
    rows = [[_("Figure"), _("Value"), _("Target"), _("Numerator / denominator"), _("Pending"), _("Target met")]]
    for figure, result in context["figures"]:
        met = result["met_target"]
        rows.append([str(figure.label), percent(result["value"]), ("≥ " if figure.higher_is_better else "< ") + percent(
            result["target"]), f'{result["numerator"]} / {result["denominator"]}', result["pending"],
            "—" if met is None else (_("yes") if met else _("no"))])
    story.append(table(rows, [52, 20, 22, 36, 18, 22]))
    story.append(Paragraph(_("Volumes by procedure"), h2))
    rows = [[_("Procedure"), _("Started"), _("Completed"), _("Cancelled"), _("Open at the end")]]
    rows += [[v["name"], v["started"], v["completed"], v["cancelled"], v["open_at_end"]] for v in data["volumes"]]
    story.append(table(rows, [70, 25, 25, 25, 25]))
    story.append(Paragraph(_("Top fault categories"), h2))
    rows = [[_("Fault category"), _("Repair orders")]]
    rows += [[context["fault_label"](f["fault_category"]), f["orders"]] for f in data["faults"]] or [[_("none"), 0]]
    story.append(table(rows, [70, 30]))
    capa = data["capa"]
    story.append(Paragraph(_("Corrective and preventive actions"), h2))
    story.append(Paragraph(_("Opened %(opened)d, closed %(closed)d, open at the end of the month %(open)d "
                             "(overdue %(overdue)d).", opened=capa["opened"], closed=capa["closed"],
                             open=capa["open_at_end"], overdue=capa["overdue_at_end"]), body))
    if capa["rows"]:
        rows = [[_("Number"), _("Department"), _("Status"), _("Opened"), _("Due"), _("Closed")]]
        rows += [[r["number"], r["responsible_department"], context["capa_status"](r["status"]), _text(r["opened_at"]),
                  _text(r["due_at"]), _text(r["closed_at"])] for r in capa["rows"]]
        story.append(table(rows, [38, 26, 22, 28, 28, 28]))
    story.append(Paragraph(_("Missed deadlines and escalations"), h2))
    rows = [[_("Reason"), _("Count")]]
    rows += [[context["reason_label"](e["reason"]), e["count"]] for e in data["escalations"]] or [[_("none"), 0]]
    story.append(table(rows, [100, 30]))
    story.append(Spacer(1, 8 * mm))
    story.append(Paragraph(_("Definitions of the figures: docs/kpis.md."), body))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=_title(period), author=_("After-sales service"))
    doc.build(story)
    return buffer.getvalue()


# ---------------------------------------------------------------- Excel


def report_xlsx(context: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    data, period = context["data"], context["period"]
    book = Workbook()
    sheet = book.active
    sheet.title = "figures"
    sheet.append([_title(period)])
    sheet.append([_("Figure"), _("Code"), _("Value"), _("Numerator"), _("Denominator"), _("Pending"), _("Target"),
                  _("Comparison"), _("Target met")])
    for figure, result in context["figures"]:
        sheet.append([str(figure.label), figure.code, result["value"], result["numerator"], result["denominator"],
                      result["pending"], result["target"], result["comparison"], result["met_target"]])
    header = [_("Number"), _("Process"), _("Instance"), _("Counted from"), _("Due"), _("Done"), _("Outcome"), _("Team"),
              _("Escalated"), _("Reopened")]
    for code in CODES:
        rows, _total = cases(code, period, limit=None, now=data["as_of"])
        ws = book.create_sheet(code[:31])
        ws.append([str(FIGURES[code].label)])
        ws.append(header)
        for r in rows:
            ws.append([r["case_no"], r["process_key"], r["instance_id"], _local(r["cohort_at"]), _local(r["due_at"]),
                       _local(r["done_at"]), label(OUTCOMES, r["outcome"]), r["team"] or "", r["escalated"], r["reopened"]])
    ws = book.create_sheet("volumes")
    ws.append([_("Procedure"), _("Code"), _("Started"), _("Completed"), _("Cancelled"), _("Open at the end")])
    for v in data["volumes"]:
        ws.append([v["name"], v["process_key"], v["started"], v["completed"], v["cancelled"], v["open_at_end"]])
    ws = book.create_sheet("faults")
    ws.append([_("Fault category"), _("Code"), _("Repair orders")])
    for f in data["faults"]:
        ws.append([context["fault_label"](f["fault_category"]), f["fault_category"], f["orders"]])
    ws = book.create_sheet("corrective_actions")
    ws.append([_("Number"), _("Trigger"), _("Department"), _("Status"), _("Opened"), _("Due"), _("Closed")])
    for r in data["capa"]["rows"]:
        ws.append([r["number"], r["trigger"], r["responsible_department"], r["status"], _local(r["opened_at"]),
                   _local(r["due_at"]), _local(r["closed_at"])])
    ws = book.create_sheet("escalations")
    ws.append([_("Reason"), _("Code"), _("Count")])
    for e in data["escalations"]:
        ws.append([context["reason_label"](e["reason"]), e["reason"], e["count"]])
    for ws in book.worksheets:
        for cell in ws[1]:
            cell.font = Font(bold=True)
    xlsx_as_text(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
