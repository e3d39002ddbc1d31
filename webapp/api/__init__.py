"""The JSON API: the contract integrations and acceptance checks drive."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import errors, views  # noqa: E402,F401
from . import kpis  # noqa: E402,F401  # GET /api/kpis (issue 8)
