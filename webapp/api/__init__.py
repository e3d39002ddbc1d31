"""The JSON API: the contract integrations and acceptance checks drive."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import customers, errors, kpis, openapi, views, webhooks, whatif  # noqa: E402,F401  (kpis: issue 8; openapi, webhooks: issue 18; whatif: issue 16)
