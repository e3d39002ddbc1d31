"""The auditors' side: replay any case step by step, verify it, export it, the system log and
the deadline audit. Read-only: nothing here changes a case.

`system_log` is imported by the staff UI, the API and the CLI to record what people do; it
does not load the views, so importing it never pulls in the pages.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

_HERE = Path(__file__).resolve().parent
bp = Blueprint("audit", __name__, url_prefix="/audit", template_folder="templates", static_folder="static",
               static_url_path="/static")


def blueprint() -> Blueprint:
    """The blueprint with its views attached (for create_app)."""
    from . import views  # noqa: F401

    return bp
