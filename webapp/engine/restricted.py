"""RestrictedPython's compiler and guards: what diagram code may touch, and how a script's
variables become task data. Used by the sandbox processes (engine/sandbox_child.py) and,
for expressions proven cheap, by the engine itself.

This module imports nothing of the web application: a sandbox process loads it by path,
so that it starts in a fraction of the time and memory a Flask import would take.
"""

from __future__ import annotations

import json
import operator
import re
from functools import lru_cache
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)


class SandboxViolation(Exception):
    """Diagram code that the sandbox refuses (not a SyntaxError: spiff's formatter needs a line)."""


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "|=": operator.ior, "&=": operator.iand,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    if op not in _INPLACE:
        raise SandboxViolation(f"operator {op} is not allowed")
    return _INPLACE[op](target, value)


_EXTRA_BUILTINS = {
    "min": min, "max": max, "sum": sum, "any": any, "all": all, "dict": dict, "list": list,
    "set": set, "enumerate": enumerate, "sorted": sorted, "reversed": reversed,
}

# id() and hash() answer differently in every process (addresses, hash seeds): a case that
# used them could not be replayed, so the sandbox does not offer them and deploy refuses
# code that calls them. There is no random or time module to import either.
NON_DETERMINISTIC = frozenset({"id", "hash"})

BUILTINS = {name: obj for name, obj in {**safe_builtins, **_EXTRA_BUILTINS}.items() if name not in NON_DETERMINISTIC}


class PrintLog:
    """What print() wrote, for the instance's log. RestrictedPython turns every print into
    `_print_(_getattr_)._call_print(...)` per function scope; one shared buffer collects all."""

    MAX_CHARS = 16_000

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def collector(self, _getattr_=None) -> _PrintTarget:
        return _PrintTarget(self, _getattr_)

    def text(self) -> str:
        text = "".join(self.parts)
        return text if len(text) <= self.MAX_CHARS else text[: self.MAX_CHARS] + "…"

    def write(self, text: str) -> None:
        if self.size <= self.MAX_CHARS:
            self.parts.append(text)
            self.size += len(text)


class _PrintTarget:
    def __init__(self, log: PrintLog, getattr_) -> None:
        self._log, self._getattr_ = log, getattr_

    def write(self, text: str) -> None:
        self._log.write(str(text))

    def __call__(self) -> str:
        return self._log.text()

    def _call_print(self, *objects, **kwargs) -> None:
        kwargs["file"] = self  # never another file: scripts write only to the instance's log
        print(*objects, **kwargs)


GUARD_GLOBALS: dict[str, Any] = {
    "__builtins__": BUILTINS,
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
}


def _refusal(kind: str, source: str, errors: tuple[str, ...]) -> SandboxViolation:
    return SandboxViolation(f"{kind} refused by the sandbox: {'; '.join(errors)} [{source.strip()[:200]}]")


@lru_cache(maxsize=4096)
def compile_expression(source: str):
    result = compile_restricted_eval(source.strip())
    if result.errors or result.code is None:
        raise _refusal("expression", source, result.errors or ("does not compile",))
    return result.code


@lru_cache(maxsize=1024)
def compile_script(source: str):
    result = compile_restricted_exec(source)
    if result.errors or result.code is None:
        raise _refusal("script", source, result.errors or ("does not compile",))
    return result.code


# repr() of a function, class or object names its memory address, which differs in every
# process: data holding one could not be replayed (the sandbox process refuses such output).
MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{6,}>")


def scope_for(context: dict, external_context: dict | None, log: PrintLog | None = None) -> dict:
    scope = dict(GUARD_GLOBALS)
    if log is not None:
        scope["_print_"] = log.collector
    scope.update(external_context or {})
    scope.update(context)
    return scope


def json_clean(name: str, value: Any) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError, RecursionError) as err:
        raise SandboxViolation(f"variable {name!r} is not JSON data: {err}") from None


def evaluate(expression: str, context: dict, external_context: dict | None = None) -> Any:
    return eval(compile_expression(expression), scope_for(context, external_context))


def execute(script: str, context: dict, external_context: dict | None = None, log: PrintLog | None = None) -> None:
    """Run a script with the task data as its variables; afterwards the task data holds
    exactly the variables the script left (new ones added, deleted ones gone), as
    SpiffWorkflow's own environment does, minus functions and anything that is not JSON."""
    scope = scope_for(context, external_context, log)
    exec(compile_script(script), scope)
    for name in list(context):
        if name not in scope:
            del context[name]
    for name, value in scope.items():
        if name in GUARD_GLOBALS or name.startswith("_") or callable(value):
            continue
        if external_context and name in external_context:
            continue
        json_clean(name, value)
        context[name] = value
