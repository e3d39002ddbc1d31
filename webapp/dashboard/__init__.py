"""The managers' side (issue 8): the dashboard of the service targets with trends and the
cases behind each number, process monitoring with a heat map, and the monthly report
月度服务报告 (printable, PDF, Excel). Read-only: after-sales managers, the general manager
and administrators; auditors may look too. The figures themselves are in webapp/kpi."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates", static_folder="static",
               static_url_path="/static")

from . import views  # noqa: E402,F401
