"""Regular expressions of form schemas run on RE2 (google-re2), in time linear in the input.

Patterns (`pattern`, `patternProperties`, `format: regex`) come from a deployed diagram
and the strings they run on from anyone who fills a form: `^(a+)+$` against a long input
answers at once here. A pattern RE2 cannot run (backreferences, lookaround) is refused at
deploy. jsonschema itself still runs `patternProperties` keys with Python's backtracking
engine when it looks for additional properties, so those keys must also be free of nested
repetition.
"""

from __future__ import annotations

import re
import re._parser as sre_parse
from functools import lru_cache

import re2
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported to the deployer, not to stderr


@lru_cache(maxsize=1024)
def linear_pattern(pattern: str):
    """The pattern compiled by RE2; raises ValueError naming why RE2 cannot run it."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as err:
        reason = err.args[0].decode() if err.args and isinstance(err.args[0], bytes) else str(err)
        raise ValueError(f"pattern {pattern!r} cannot run on a linear-time engine: {reason}") from None


def _nested_repetition(parsed, inside_repeat: bool = False) -> bool:
    """True when a repeated part contains another repeat or an alternation: the shapes
    (`(a+)+`, `(a|a)*`) that make a backtracking engine take exponential time."""
    for op, av in parsed:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = av
            repeats = high is sre_parse.MAXREPEAT or high > 1
            if repeats and inside_repeat:
                return True
            if _nested_repetition(sub, inside_repeat or repeats):
                return True
        elif name == "SUBPATTERN":
            if _nested_repetition(av[-1], inside_repeat):
                return True
        elif name == "BRANCH":
            if inside_repeat:
                return True
            if any(_nested_repetition(branch, inside_repeat) for branch in av[1]):
                return True
        elif name in ("ASSERT", "ASSERT_NOT"):
            if _nested_repetition(av[1], inside_repeat):
                return True
    return False


def pattern_problems(schema: object, path: str = "") -> list[str]:
    """Every pattern of the schema that RE2 cannot run, or that could backtrack where
    jsonschema runs it on Python's engine; as "where: why"."""
    problems: list[str] = []
    if isinstance(schema, dict):
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            try:
                linear_pattern(pattern)
            except ValueError as err:
                problems.append(f"{path or 'schema'}: {err}")
        for key in (schema.get("patternProperties") or {}) if isinstance(schema.get("patternProperties"), dict) else ():
            try:
                linear_pattern(key)
                if _nested_repetition(sre_parse.parse(key)):
                    reason = "repeats a repetition and could backtrack catastrophically"
                    problems.append(f"{path or 'schema'}: patternProperties {key!r} {reason}")
            except (ValueError, re.error) as err:
                problems.append(f"{path or 'schema'}: {err}")
        for key, value in schema.items():
            if key not in ("pattern", "const", "enum", "default", "examples"):
                problems.extend(pattern_problems(value, f"{path}.{key}" if path else key))
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            problems.extend(pattern_problems(item, f"{path}[{i}]"))
    return problems


def _pattern(validator, pattern, instance, schema):
    if not validator.is_type(instance, "string"):
        return
    try:
        compiled = linear_pattern(pattern)
    except ValueError as err:  # a form deployed before patterns were checked
        yield ValidationError(str(err))
        return
    if not compiled.search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        try:
            compiled = linear_pattern(pattern)
        except ValueError as err:
            yield ValidationError(str(err))
            continue
        for key, value in instance.items():
            if compiled.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


KEYWORDS = {"pattern": _pattern, "patternProperties": _pattern_properties}
LinearValidator = validators.extend(Draft202012Validator, KEYWORDS)
FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("regex", raises=ValueError)
def _is_regex(instance: object) -> bool:
    if isinstance(instance, str):
        linear_pattern(instance)
    return True
