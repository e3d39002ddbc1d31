"""The validator's problems in the person's language.

The engine words its problems in English (they are also the API's `problems`, a contract);
the modeler shows them through this table: each known wording, by pattern, becomes a
Flask-Babel message with the same facts (element names, expressions, Python's own error text
stay as they are). A wording the table does not know is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _

_PREFIXES: list[tuple[re.Pattern, Callable[[dict], str]]] = [
    (re.compile(r"^condition: "), lambda m: _("Condition: ")),
    (re.compile(r"^timer: "), lambda m: _("Timer: ")),
    (re.compile(r"^script: "), lambda m: _("Script: ")),
    (re.compile(r"^preScript: "), lambda m: _("Script before the task: ")),
    (re.compile(r"^postScript: "), lambda m: _("Script after the task: ")),
    (re.compile(r"^parameter (?P<name>\S+): "), lambda m: _("Parameter %(name)s: ", **m)),
    (re.compile(r"^task metadata (?P<name>\S+): "), lambda m: _("Task metadata %(name)s: ", **m)),
    (re.compile(r"^form (?P<name>\S+\.json): "), lambda m: _("Form %(name)s: ", **m)),
]

_SANDBOX = re.compile(r"^(?P<kind>expression|script) refused by the sandbox: (?P<errors>.*?)(?: \[(?P<source>.*)\])?$", re.S)

_ITEMS: list[tuple[re.Pattern, Callable[[dict], str]]] = [
    (re.compile(r"^Line (?P<line>\d+): SyntaxError: (?P<error>.*?)(?: at statement: (?P<statement>.*))?$", re.S),
     lambda m: _("line %(line)s: syntax error (%(error)s)", line=m["line"], error=_syntax(m["error"]))
     + (_(" in %(statement)s", statement=m["statement"]) if m.get("statement") else "")),
    (re.compile(r'^Line (?P<line>\d+): "(?P<name>[^"]+)" is an invalid variable name because it starts with "_"\.?$'),
     lambda m: _('line %(line)s: the name "%(name)s" starts with "_", which the sandbox does not allow', **m)),
    (re.compile(r'^Line (?P<line>\d+): "(?P<name>[^"]+)" is an invalid attribute name because it starts with "_"\.?$'),
     lambda m: _('line %(line)s: the attribute "%(name)s" starts with "_", which the sandbox does not allow', **m)),
    (re.compile(r"^Line (?P<line>\d+): (?P<name>\w+) calls are not allowed\.?$"),
     lambda m: _("line %(line)s: %(name)s() may not be called", **m)),
    (re.compile(r"^does not compile$"), lambda m: _("does not compile")),
]

_WHOLE: list[tuple[re.Pattern, Callable[[dict], str]]] = [
    (re.compile(r"^calls functions the sandbox does not offer: (?P<names>[^(]+?)(?P<ids> \(id\(\).*)?$"),
     lambda m: _("calls functions the sandbox does not offer: %(names)s", names=m["names"])
     + (_(" (id() and hash() differ in every process, so the case could not be replayed)") if m.get("ids") else "")),
    (re.compile(r"^diverging gateway has no default flow and (?P<flows>.+) (?:has|have) no condition$"),
     lambda m: _("the gateway splits the flow but has no default flow, and %(flows)s has no condition", **m)),
    (re.compile(r"^(?P<text>.+) is read as Python \((?P<names>.+) as variable names\): write it in quotes, .*$", re.S),
     lambda m: _('%(text)s is read as Python (%(names)s as variable names): write it in quotes, "%(text)s"', **m)),
    (re.compile(r"^(?P<text>.+) cannot be evaluated: (?P<error>.+)$", re.S),
     lambda m: _("%(text)s cannot be evaluated: %(error)s", **m)),
    (re.compile(r"^(?P<text>.+) gives (?P<type>\w+) (?P<value>.+), not an ISO 8601 text$", re.S),
     lambda m: _("%(text)s gives %(value)s, not an ISO 8601 text", text=m["text"], value=m["value"])),
    (re.compile(r"^(?P<value>.+) is not an ISO 8601 value this timer accepts$", re.S),
     lambda m: _("%(value)s is not an ISO 8601 value this timer accepts", **m)),
    (re.compile(r"^no lane has the id or name (?P<name>.+)$"), lambda m: _("no lane has the id or name %(name)s", **m)),
    (re.compile(r"^(?P<role>.+) \(for lane (?P<lane>.+)\) is not a role; known roles: (?P<roles>.+)$"),
     lambda m: _("%(role)s (for lane %(lane)s) is not a role; the roles are: %(roles)s", **m)),
    (re.compile(r"^lane (?P<name>.+) matches no role, so nobody could work on its tasks: .* one of (?P<roles>.+)$"),
     lambda m: _("lane %(name)s matches no role, so nobody could work on its tasks: choose its role when deploying "
                 "(one of %(roles)s)", **m)),
    (re.compile(r"^user task is in no lane, so no role may work on it$"),
     lambda m: _("the user task is in no lane, so no role may work on it")),
    (re.compile(r"^service task has no operator$"), lambda m: _("the service task has no operator (worker)")),
    (re.compile(r"^unknown operator (?P<name>.+)$"), lambda m: _("no worker is registered as operator %(name)s", **m)),
    (re.compile(r"^form file (?P<name>.+) was not uploaded$"), lambda m: _("the form file %(name)s is missing", **m)),
    (re.compile(r"^no executable process$"), lambda m: _("the file holds no executable process")),
]

_SYNTAX = {
    "invalid syntax": lambda: _("invalid syntax"),
    "unexpected EOF while parsing": lambda: _("the expression ends too early"),
    "unterminated string literal": lambda: _("a quote is not closed"),
    "invalid character": lambda: _("an invalid character"),
}


def _syntax(error: str) -> str:
    for start, text in _SYNTAX.items():
        if error.startswith(start):
            return text() + error[len(start):]
    return error


def _match(table, text: str) -> str | None:
    for pattern, make in table:
        if found := pattern.match(text):
            return make({k: v for k, v in found.groupdict().items() if v is not None})
    return None


def localize(reason: str) -> str:
    """One problem's text in the request's language."""
    for pattern, make in _PREFIXES:
        if found := pattern.match(reason):
            return make(found.groupdict()) + localize(reason[found.end():])
    if found := _SANDBOX.match(reason):
        items = [_match(_ITEMS, item.strip()) or item.strip() for item in found["errors"].split("; ")]
        text = _("the sandbox refuses it: %(errors)s", errors="; ".join(items))
        shown = found["source"] and found["source"].strip() not in text  # a syntax error quotes it already
        return text + (_(" [%(source)s]", source=found["source"]) if shown else "")
    return _match(_WHOLE, reason) or reason


def localized(problems: dict[str, str]) -> dict[str, str]:
    return {element: localize(str(reason)) for element, reason in problems.items()}
