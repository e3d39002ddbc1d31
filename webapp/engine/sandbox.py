"""Scripts, conditions and expressions of diagrams run here, under RestrictedPython.

Every piece of diagram code (script tasks, gateway conditions, timer expressions, service
parameters, DMN cells, correlation expressions) reaches SpiffWorkflow's script engine, so
installing this environment on the engine covers all of them.
"""

from __future__ import annotations

import ast
import json
import operator
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment


class SandboxViolation(Exception):
    """Diagram code that the sandbox refuses (not a SyntaxError: spiff's formatter needs a line)."""


class ScriptTimeout(Exception):
    pass


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "|=": operator.ior, "&=": operator.iand,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    if op not in _INPLACE:
        raise SandboxViolation(f"operator {op} is not allowed")
    return _INPLACE[op](target, value)


_EXTRA_BUILTINS = {
    name: obj
    for name, obj in {
        "min": min, "max": max, "sum": sum, "any": any, "all": all, "dict": dict, "list": list,
        "set": set, "enumerate": enumerate, "sorted": sorted, "reversed": reversed,
    }.items()
}

GUARD_GLOBALS: dict[str, Any] = {
    "__builtins__": {**safe_builtins, **_EXTRA_BUILTINS},
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


def _unknown_calls(tree: ast.AST) -> list[str]:
    """Functions called by name that neither the sandbox offers nor the code defines.

    Task data is JSON, so a call like open(...) or eval(...) can never be legitimate:
    refusing it at deploy time beats a NameError in the middle of a case.
    """
    defined = {
        node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    defined |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    allowed = set(GUARD_GLOBALS["__builtins__"]) | defined
    return sorted(
        {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in allowed
        }
    )


def check_expression(source: str) -> str | None:
    """The reason an expression cannot run here, or None."""
    try:
        compile_expression(source)
        unknown = _unknown_calls(ast.parse(source.strip(), mode="eval"))
    except SandboxViolation as err:
        return str(err)
    if unknown:
        return f"calls functions the sandbox does not offer: {', '.join(unknown)}"
    return None


_DMN_INPUT = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def check_dmn_cell(source: str) -> str | None:
    """A decision-table cell is either an expression or a test like "<= 100" that the
    engine completes with the input on its left."""
    source = _DMN_INPUT.sub("dmninputexpr", source)  # "4 < ? < 6": the engine's own substitution
    try:
        ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return check_expression(f"v {source}")
    return check_expression(source)


def check_script(source: str) -> str | None:
    try:
        compile_script(source)
        unknown = _unknown_calls(ast.parse(source))
    except SandboxViolation as err:
        return str(err)
    if unknown:
        return f"calls functions the sandbox does not offer: {', '.join(unknown)}"
    return None


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """SIGALRM-based limit; only the main thread can take signals, others run unlimited."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expired(signum, frame):
        raise ScriptTimeout(f"script ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _json_clean(name: str, value: Any) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as err:
        raise SandboxViolation(f"variable {name!r} is not JSON data: {err}") from None


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """A SpiffWorkflow script environment where task data are the variables."""

    def __init__(self, time_limit_seconds: float = 2.0) -> None:
        super().__init__({})
        self.time_limit_seconds = time_limit_seconds

    def _globals(self, context: dict, external_context: dict | None) -> dict:
        scope = dict(GUARD_GLOBALS)
        scope.update(external_context or {})
        scope.update(context)
        return scope

    def evaluate(self, expression, context, external_context=None):
        code = compile_expression(expression)
        with time_limit(self.time_limit_seconds):
            return eval(code, self._globals(context, external_context))

    def execute(self, script, context, external_context=None):
        code = compile_script(script)
        scope = self._globals(context, external_context)
        with time_limit(self.time_limit_seconds):
            exec(code, scope)
        for name in list(context):
            if name not in scope:
                del context[name]
        for name, value in scope.items():
            if name in GUARD_GLOBALS or name.startswith("_") or callable(value):
                continue
            if external_context and name in external_context:
                continue
            _json_clean(name, value)
            context[name] = value
        return True

    def call_service(self, context, **kwargs):
        raise SandboxViolation("service tasks are run by workers, not inline")


class RestrictedScriptEngine(PythonScriptEngine):
    def __init__(self, time_limit_seconds: float = 2.0) -> None:
        super().__init__(environment=RestrictedEnvironment(time_limit_seconds))

    def validate(self, expression):
        # A plain SyntaxError first: SpiffWorkflow's DMN engine relies on it to tell a
        # value ("'gold'") from a test ("<= 100"); the sandbox's refusal comes after.
        ast.parse(expression.strip(), mode="eval")
        compile_expression(expression)
