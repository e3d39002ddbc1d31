"""Scripts, conditions and expressions of diagrams: checked at deploy, run in the sandbox.

Every piece of diagram code (script tasks, pre/post scripts, gateway conditions, timer
expressions, service parameters, DMN cells, correlation expressions, multi-instance
expressions) reaches SpiffWorkflow's script engine, so installing this environment on the
engine covers all of them. Code runs in a sandbox process (engine/sandbox_pool.py) under
RestrictedPython's guards and the operating system's limits; only expressions proven cheap
by their syntax alone (a comparison of names and literals) are evaluated in this process,
under the same guards, and so are scripts of a few assignments whose syntax and numeric
inputs prove them cheap (engine/cheap_scripts.py).
"""

from __future__ import annotations

import ast
import contextvars
import re
from dataclasses import dataclass
from functools import lru_cache

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from . import cheap_scripts, restricted, sandbox_pool
from .restricted import GUARD_GLOBALS, SandboxViolation, compile_expression, compile_script
from .sandbox_pool import SandboxError

__all__ = [
    "GUARD_GLOBALS", "SandboxViolation", "SandboxError", "compile_expression", "compile_script",
    "check_expression", "check_script", "check_dmn_cell", "RestrictedScriptEngine",
]


def _unknown_calls(tree: ast.AST) -> list[str]:
    """Functions called by name that neither the sandbox offers nor the code defines.

    Task data is JSON, so a call like open(...) or eval(...) can never be legitimate:
    refusing it at deploy time beats a NameError in the middle of a case.
    """
    defined = {
        node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    defined |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    allowed = set(GUARD_GLOBALS["__builtins__"]) | defined | {"print"}  # print goes to the instance's log
    return sorted(
        {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in allowed
        }
    )


def _unknown_reason(unknown: list[str]) -> str | None:
    if not unknown:
        return None
    reason = f"calls functions the sandbox does not offer: {', '.join(unknown)}"
    if restricted.NON_DETERMINISTIC & set(unknown):
        reason += " (id() and hash() answer differently in every process, so the case could not be replayed)"
    return reason


def check_expression(source: str) -> str | None:
    """The reason an expression cannot run here, or None."""
    try:
        compile_expression(source)
        unknown = _unknown_calls(ast.parse(source.strip(), mode="eval"))
    except SandboxViolation as err:
        return str(err)
    return _unknown_reason(unknown)


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
    return _unknown_reason(unknown)



# ---------------------------------------------------------------- cheap expressions

_CHEAP_NODES = (
    ast.Expression, ast.Name, ast.Load, ast.Constant, ast.Compare, ast.BoolOp, ast.And, ast.Or,
    ast.UnaryOp, ast.Not, ast.USub, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.Is, ast.IsNot, ast.In, ast.NotIn, ast.Tuple, ast.List,
)


@lru_cache(maxsize=4096)
def is_cheap(expression: str) -> bool:
    """True when the expression cannot run long or allocate much whatever the data: names,
    literals, comparisons, and/or/not, tuples and lists of those. No calls, no arithmetic,
    no subscripts, no attributes. Such an expression (`amount < 100`, `kind == "gold"`, a
    quoted timer `"PT1H"`, a service parameter `serial`) costs less here than a round trip
    to a sandbox process; the decision depends on the text alone, so a case and its replay
    always take the same path."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if not isinstance(node, _CHEAP_NODES):
            return False
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and len(node.value) > 10_000:
            return False
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            return False
    return True


# ---------------------------------------------------------------- print() -> the instance's log


@dataclass
class PrintedLine:
    bpmn_id: str
    task_id: str
    text: str


_printed: contextvars.ContextVar[list[PrintedLine] | None] = contextvars.ContextVar("printed", default=None)


class collect_printed:
    """Within the block, what scripts print is collected (the runtime writes it to the
    instance's log); outside (replay, verify), it is dropped."""

    def __enter__(self) -> list[PrintedLine]:
        self.lines: list[PrintedLine] = []
        self._token = _printed.set(self.lines)
        return self.lines

    def __exit__(self, *exc) -> None:
        _printed.reset(self._token)


# ---------------------------------------------------------------- the script engine


class SandboxFailure(Exception):
    """Diagram code failed inside a sandbox process; carries the original type and line."""

    def __init__(self, type_name: str, message: str, line: int = 0) -> None:
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name, self.detail, self.line = type_name, message, line


# Built-in errors come back as themselves, so SpiffWorkflow words them as it would have
# (a NameError gets its "did you mean"); anything else as a SandboxFailure.
_REBUILT = {
    cls.__name__: cls
    for cls in (
        NameError, TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, AttributeError,
        ArithmeticError, OverflowError, AssertionError, LookupError, RuntimeError, RecursionError,
        UnboundLocalError, SyntaxError, StopIteration, NotImplementedError,
    )
}


def _raise_failure(answer: dict) -> None:
    type_name, message, line = answer.get("type") or "Error", answer.get("message") or "", int(answer.get("line") or 0)
    if type_name == "SandboxViolation":
        err: Exception = SandboxViolation(message)
    elif type_name in ("OutputTooLarge", "MemoryError", "BudgetExceeded"):
        label = {"MemoryError": "ran out of memory (the sandbox's limit)", "OutputTooLarge": "", "BudgetExceeded": ""}[type_name]
        err = SandboxError(" ".join(p for p in (label, message) if p))
    elif type_name in _REBUILT:
        err = _REBUILT[type_name](message)
    else:
        err = SandboxFailure(type_name, message, line)
    err.sandbox_line = line  # type: ignore[attr-defined]
    raise err


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """A SpiffWorkflow script environment where task data are the variables."""

    def __init__(self) -> None:
        super().__init__({})

    def evaluate(self, expression, context, external_context=None):
        if is_cheap(expression):
            return restricted.evaluate(expression, context, external_context)
        compile_expression(expression)  # a refusal is raised here, as before, without a round trip
        answer = sandbox_pool.pool().call("eval", expression, context, external_context)
        if not answer["ok"]:
            _raise_failure(answer)
        return answer["value"]

    def execute(self, script, context, external_context=None, *, task=None):
        compile_script(script)
        variables = cheap_scripts.run_here(script, context, external_context or None, sandbox_pool.limits().max_output_bytes)
        if variables is not None:  # what the sandbox process would have answered (nothing printed)
            context.clear()
            context.update(variables)
            return True
        answer = sandbox_pool.pool().call("exec", script, context, external_context or None)
        if not answer["ok"]:
            _raise_failure(answer)
        # The task data becomes exactly what the script left, in the same order.
        context.clear()
        context.update(answer["context"])
        printed, lines = answer.get("printed"), _printed.get()
        if printed and lines is not None and task is not None:
            lines.append(PrintedLine(task.task_spec.bpmn_id or task.task_spec.name, str(task.id), printed))
        return True

    def call_service(self, context, **kwargs):
        raise SandboxViolation("service tasks are run by workers, not inline")


class RestrictedScriptEngine(PythonScriptEngine):
    def __init__(self) -> None:
        super().__init__(environment=RestrictedEnvironment())

    def evaluate(self, task, expression, external_context=None):
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            message = f"Error evaluating expression '{expression.strip()[:200]}': {type(err).__name__}: {err}"
            raise WorkflowTaskException(message, task=task, exception=err) from None

    def execute(self, task, script, external_context=None):
        try:
            return self.environment.execute(script, task.data, external_context or {}, task=task)
        except Exception as err:
            raise self.create_task_exec_exception(task, script, err) from None

    def create_task_exec_exception(self, task, script, err):
        line = getattr(err, "sandbox_line", 0)
        if not line:
            return super().create_task_exec_exception(task, script, err)
        lines = script.splitlines()
        error_line = lines[line - 1] if 0 < line <= len(lines) else ""
        detail = f"{err.__class__.__name__}:{err}" if not isinstance(err, SandboxFailure) else str(err)
        return WorkflowTaskException(detail, task=task, exception=err, line_number=line, error_line=error_line)

    def validate(self, expression):
        # A plain SyntaxError first: SpiffWorkflow's DMN engine relies on it to tell a
        # value ("'gold'") from a test ("<= 100"); the sandbox's refusal comes after.
        ast.parse(expression.strip(), mode="eval")
        compile_expression(expression)
