"""The JSON API: the contract integrations and acceptance checks drive."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import customers, errors, kpis, openapi, views  # noqa: E402,F401  (kpis: GET /api/kpis, issue 8; openapi: issue 18)
