"""The stable machine codes of API errors (the `code` of every error answer)."""

from __future__ import annotations

# HTTP status -> the code an error of that status has unless a more precise one is given.
BY_STATUS: dict[int, str] = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
}
# Every code an answer may carry (the OpenAPI Error schema's enum).
CODES: tuple[str, ...] = tuple(sorted({*BY_STATUS.values(), "invalid_parameter", "version_conflict",
                                       "task_not_open", "definition_invalid", "lanes_unmapped"}))
