"""Scripts run in this process instead of a sandbox process when their syntax proves them
cheap and their inputs are plain numbers; everything else still goes to a sandbox process.

A script task like `total = amount * 2` costs ~10 us under RestrictedPython here and
~150-200 us through a sandbox process, nearly all of it the round trip and the other
process's wake-up (docs/benchmarks.md, issue 17's fifth stop). What makes running it here
safe is the same as for the cheap expressions (`sandbox.is_cheap`): whatever the data, it
cannot run long or allocate much, so it cannot stall this process.

The syntax rule (`plan_of`): at most 20 statements, each one `name = expression` (no loops,
calls, attributes, subscripts, definitions, imports, augmented assignments, no names that
start with "_"); the expression made of names, literals, comparisons, and/or/not, tuples
and lists, and `+ - *` (at most 16 in the script) whose operands are only names, numbers and
other `+ - *`, never strings or collections. The names that arithmetic reads must not be
assigned by the script, so they come from the task data: before running here, each of them
must hold an int or a float (`bool` too) there; ints, there and in the text, under 2**63. The arithmetic then stays
on numbers of bounded size, and the rest of the syntax is linear in the data.

The answer is the one the sandbox process would give, made the same way: the script runs on
a JSON copy of the data (what the sandbox process receives), under the same RestrictedPython
guards (`restricted.execute`), and the variables come back through the same JSON text with
the same checks (an object's memory address, the output limit). Anything unusual, an error
included, is not answered here: the script then runs in a sandbox process exactly as before,
so its errors, messages and line numbers are the sandbox's own. The choice never changes an
answer, so a case and its replay agree whichever path each took.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from functools import lru_cache

from . import restricted

MAX_STATEMENTS = 20
MAX_ARITHMETIC = 16
_INT_BOUND = 2**63

_EXPRESSION_NODES = (
    ast.Name, ast.Load, ast.Constant, ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp,
    ast.Not, ast.USub, ast.UAdd, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is,
    ast.IsNot, ast.In, ast.NotIn, ast.Tuple, ast.List, ast.BinOp, ast.Add, ast.Sub, ast.Mult,
)
_ARITHMETIC_OPERAND_NODES = (
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.UnaryOp, ast.USub, ast.UAdd, ast.Name, ast.Load, ast.Constant,
)


@dataclass(frozen=True)
class Plan:
    """A cheap script's numeric inputs: the names its arithmetic reads."""

    numeric_inputs: frozenset[str]


def _plain_number(value: object) -> bool:
    kind = type(value)
    return kind is float or kind is bool or (kind is int and -_INT_BOUND < value < _INT_BOUND)  # type: ignore[operator]


def _is_number_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and _plain_number(node.value)


def _arithmetic_names(operand: ast.AST) -> set[str] | None:
    """The names an arithmetic operand reads, or None when it holds anything but names,
    number literals, signs and further `+ - *`."""
    names: set[str] = set()
    for node in ast.walk(operand):
        if not isinstance(node, _ARITHMETIC_OPERAND_NODES):
            return None
        if isinstance(node, ast.Constant) and not _is_number_literal(node):
            return None
        if isinstance(node, ast.Name):
            names.add(node.id)
    return names


@lru_cache(maxsize=4096)
def plan_of(script: str) -> Plan | None:
    """The script's plan when its syntax alone proves it cheap, else None (run it in a
    sandbox process). Depends on the text only."""
    try:
        tree = ast.parse(script)
    except SyntaxError:
        return None
    if not 0 < len(tree.body) <= MAX_STATEMENTS:
        return None
    assigned: set[str] = set()
    numeric: set[str] = set()
    arithmetic = 0
    for statement in tree.body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            return None
        target = statement.targets[0].id
        if target.startswith("_") or target in restricted.GUARD_GLOBALS:
            return None
        assigned.add(target)
        for node in ast.walk(statement.value):
            if not isinstance(node, _EXPRESSION_NODES):
                return None
            if isinstance(node, ast.Name) and node.id.startswith("_"):
                return None
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and len(node.value) > 10_000:
                return None
            if isinstance(node, ast.BinOp):
                arithmetic += 1
                for operand in (node.left, node.right):
                    names = _arithmetic_names(operand)
                    if names is None:
                        return None
                    numeric |= names
    if arithmetic > MAX_ARITHMETIC or numeric & assigned:
        return None
    return Plan(frozenset(numeric))


def run_here(script: str, context: dict, external_context: dict | None, max_output: int) -> dict | None:
    """The variables after the script, as the sandbox process would hand them back, or None
    when this process should not answer (not cheap, an input is not a plain number, an
    error, an output the sandbox would refuse): then the caller runs it in a sandbox process."""
    plan = plan_of(script)
    if plan is None:
        return None
    for name in plan.numeric_inputs:
        if name in context:
            value = context[name]
        elif external_context and name in external_context:
            value = external_context[name]
        else:
            return None
        if not _plain_number(value):
            return None
    try:
        # what the sandbox process receives: the data through JSON
        work = json.loads(json.dumps(context, ensure_ascii=False))
        external = json.loads(json.dumps(external_context, ensure_ascii=False)) if external_context else None
        restricted.execute(script, work, external)
        text = json.dumps({"ok": True, "context": work, "printed": ""}, ensure_ascii=False, allow_nan=True)
    except Exception:
        return None
    if restricted.MEMORY_ADDRESS.search(text) or len(text.encode()) > max_output:
        return None
    return json.loads(text)["context"]
