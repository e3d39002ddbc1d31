"""Errors the engine raises; the API maps each to an HTTP status."""

from __future__ import annotations


class EngineError(Exception):
    status = 400

    def __init__(self, message: str, errors: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotFound(EngineError):
    status = 404


class Conflict(EngineError):
    """A stale version, a task already completed: the caller must reload."""

    status = 409


class Forbidden(EngineError):
    status = 403


class FormInvalid(EngineError):
    """Submitted data fails the form's JSON Schema; errors map field -> message."""

    status = 422


class DefinitionInvalid(EngineError):
    """A diagram that cannot be deployed; errors map element id -> reason."""

    status = 400


class LanesUnmapped(DefinitionInvalid):
    """Lanes holding user tasks that stand for no role: the process owner maps them
    (`lane_roles`); `lanes` lists them as {"id", "name"}."""

    def __init__(self, message: str, errors: dict | None = None, lanes: list[dict] | None = None) -> None:
        super().__init__(message, errors)
        self.lanes = lanes or []
