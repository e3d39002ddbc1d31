"""Text that a spreadsheet program would run: cells beginning with = + - @ (or a tab or a
carriage return, which some programs strip before looking) are formula injection when the
text came from a user (a business key "=HYPERLINK(...)", a typed user name). Every CSV and
XLSX export writes such cells as plain text."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: object) -> bool:
    return isinstance(value, str) and value[:1] in FORMULA_STARTS


def csv_cell(value):
    """CSV has no cell types: a leading apostrophe is what spreadsheet programs read as
    "this is text" (and hide). The JSON exports keep every value as stored."""
    return "'" + value if looks_like_formula(value) else value


def xlsx_as_text(book) -> None:
    """Every string cell of an openpyxl workbook that would be a formula becomes a text cell
    with Excel's quote prefix (so editing the cell later does not turn it into one either).
    openpyxl makes any string starting with "=" a formula cell; we never write formulas."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if looks_like_formula(cell.value):
                    cell.data_type = "s"
                    cell.quotePrefix = True
