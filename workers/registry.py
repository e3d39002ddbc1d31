"""Operator name -> handler. A handler is a plain function of (session, parameters) that
writes the company's records and returns the task's result (JSON data)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

Handler = Callable[[Any, dict], object]

_HANDLERS: dict[str, Handler] = {}
# Every module of this package registers its handlers on import, except these.
_NOT_HANDLERS = {"registry", "loop"}


def operator(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if name in _HANDLERS and _HANDLERS[name] is not fn:
            raise ValueError(f"operator {name} registered twice")
        _HANDLERS[name] = fn
        fn.operator_name = name  # type: ignore[attr-defined]
        return fn

    return register


_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name not in _NOT_HANDLERS:
            importlib.import_module(f"workers.{module.name}")


def get(name: str) -> Handler:
    _load()
    if name not in _HANDLERS:
        raise KeyError(f"no handler registered for operator {name}")
    return _HANDLERS[name]


def names() -> set[str]:
    _load()
    return set(_HANDLERS)


def override(name: str, fn: Handler) -> Handler | None:
    """Swap a handler (tests inject failures); returns the previous one."""
    _load()
    previous = _HANDLERS.get(name)
    _HANDLERS[name] = fn
    return previous
