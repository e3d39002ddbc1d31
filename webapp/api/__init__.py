"""The JSON API: the contract integrations and acceptance checks drive."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import customers, errors, kpis, openapi, views, webhooks  # noqa: E402,F401  (kpis: GET /api/kpis, issue 8; openapi, webhooks: issue 18)
