"""Every API error is JSON: {"error": message, "errors": {field: message}, "code": machine code}.

`error` is for people and may change wording; `code` is for programs and never changes
(the list is CODES below, documented in the OpenAPI `Error` schema and the README). One
after-request hook adds the code to any JSON error under /api that was answered without one
(the parameter checks, the rate limiter and Flask's own 404/405 answer outside this module).
"""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from ..engine import errors as engine_errors
from ..engine.errors import EngineError
from . import bp
from .error_codes import BY_STATUS, CODES  # noqa: F401  (CODES: re-exported for tests)

# The runtime's message for a stale version (a concurrent writer won).
_STALE_MESSAGE_START = "the case was changed by someone else"


def code_for_status(status: int) -> str:
    return BY_STATUS.get(status, "invalid_request" if status < 500 else "internal_error")


def error_response(status: int, message: str, errors: dict | None = None, *, code: str | None = None):
    return jsonify({"error": message, "errors": errors or {}, "code": code or code_for_status(status)}), status


def engine_error_code(err: EngineError) -> str:
    """The stable code of an engine error (classes first, then the few conflicts worth telling apart)."""
    if isinstance(err, engine_errors.LanesUnmapped):
        return "lanes_unmapped"
    if isinstance(err, engine_errors.DefinitionInvalid):
        return "definition_invalid"
    if isinstance(err, engine_errors.Conflict):
        if err.message.startswith(_STALE_MESSAGE_START):
            return "version_conflict"
        if "task" in err.errors:
            return "task_not_open"
    return code_for_status(err.status)


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
    return error_response(err.status, err.message, err.errors, code=engine_error_code(err))


@bp.errorhandler(ValidationError)
def _validation_error(err: ValidationError):
    return error_response(400, "invalid request", _flatten(err.messages), code="invalid_request")


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    return error_response(err.code or 500, err.description or err.name)


@bp.after_app_request
def _add_code(response: Response) -> Response:
    """Errors answered outside this module (the rate limiter, a CSRF refusal, routes that
    do not exist) get their code here, so every /api error has one."""
    if response.status_code < 400 or not request.path.startswith("/api/"):
        return response
    if response.status_code == 405 and _no_such_path():
        return _with_status(error_response(404, "no such route"))
    if response.mimetype != "application/json":
        if response.status_code in (404, 405) and not response.direct_passthrough:
            description = "no such route" if response.status_code == 404 else "method not allowed"
            body, status = error_response(response.status_code, description)
            if "Allow" in response.headers:
                body.headers["Allow"] = response.headers["Allow"]
            body.status_code = status
            return body
        return response
    payload = response.get_json(silent=True)
    if isinstance(payload, dict) and "error" in payload and "code" not in payload:
        payload["code"] = code_for_status(response.status_code)
        payload.setdefault("errors", {})
        response.set_data(jsonify(payload).get_data())
    return response


def _no_such_path() -> bool:
    """Werkzeug answers 405 when another method's rule matches the path's shape even though
    its converter refuses the value (an id beyond the database's range): that is a 404."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in ("GET", "POST", "DELETE", "PUT", "PATCH"):
        try:
            adapter.match(method=method)
            return False
        except (NotFound, MethodNotAllowed):
            continue
        except HTTPException:  # a redirect: the path exists
            return False
    return True


def _with_status(answer: tuple) -> Response:
    body, status = answer
    body.status_code = status
    return body
