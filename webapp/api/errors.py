"""Every API error is JSON: {"error": message, "errors": {field: message}}."""

from __future__ import annotations

from flask import jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ..engine.errors import EngineError
from . import bp


def error_response(status: int, message: str, errors: dict | None = None):
    return jsonify({"error": message, "errors": errors or {}}), status


def _flatten(messages, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            flat.update(_flatten(value, f"{prefix}{key}" if not prefix else f"{prefix}.{key}"))
    elif isinstance(messages, list):
        flat[prefix or "data"] = "; ".join(str(m) for m in messages)
    else:
        flat[prefix or "data"] = str(messages)
    return flat


@bp.errorhandler(EngineError)
def _engine_error(err: EngineError):
    return error_response(err.status, err.message, err.errors)


@bp.errorhandler(ValidationError)
def _validation_error(err: ValidationError):
    return error_response(400, "invalid request", _flatten(err.messages))


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    return error_response(err.code or 500, err.description or err.name)
