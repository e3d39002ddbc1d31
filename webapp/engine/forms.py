"""Form data checked against the task's JSON Schema before any command runs (patterns on
RE2: engine/patterns.py)."""

from __future__ import annotations

import copy
import re

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from .form_rules import dependency_field, validator_for
from .patterns import pattern_problems

_REQUIRED = re.compile(r"'(.+)' is a required property")


def schema_problem(schema: object) -> str | None:
    if not isinstance(schema, dict):
        return "a form schema must be a JSON object"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        return f"not a valid JSON Schema: {err.message}"
    if problems := pattern_problems(schema):
        return "; ".join(problems)
    return None


def _field_of(error) -> str:
    if (missing := dependency_field(error)) is not None:
        return ".".join([*map(str, error.absolute_path), missing])
    if error.validator == "required":
        match = _REQUIRED.match(error.message)
        name = match.group(1) if match else ""
        return ".".join([*map(str, error.absolute_path), name]) if name else "data"
    path = [str(p) for p in error.absolute_path]
    return ".".join(path) if path else "data"


def _message_of(error) -> str:
    if error.validator in ("required", "dependentRequired"):
        return "required / 必填"
    if error.validator == "x-time":
        rule = error.validator_value
        return f"must be {rule['rule']} {rule['target']} / 时间不符合要求"
    if error.validator in ("oneOf", "enum"):
        return "not one of the allowed values / 不是允许的选项"
    return error.message


# schema id -> (schema, its validator): a form's schema is a long-lived object of the cached
# definition (definitions.info), checked at every completion; building jsonschema's validator
# for it (~30 us) is more than checking a small form. The schema is held, so its id stays its
# own; a validator reads the schema it was made for at each check (no copy: the same rules).
_validators: dict[int, tuple[dict, object]] = {}


def _validator_of(schema: dict):
    kept = _validators.get(id(schema))
    if kept is not None and kept[0] is schema:
        return kept[1]
    validator = validator_for(schema)
    if len(_validators) >= 256:
        _validators.clear()
    _validators[id(schema)] = (schema, validator)
    return validator


def validate(schema: dict | None, data: object) -> dict[str, str]:
    """field -> message for every problem (one per field); empty when the data is valid."""
    if not isinstance(data, dict):
        return {"data": "must be a JSON object"}
    if not schema:
        return {}
    validator = _validator_of(schema)
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        errors.setdefault(_field_of(error), _message_of(error))
    return errors


def with_defaults(schema: dict | None, data: dict) -> dict:
    """The data with top-level schema defaults filled in where a field is absent."""
    result = dict(data)
    for name, prop in ((schema or {}).get("properties") or {}).items():
        if name not in result and isinstance(prop, dict) and "default" in prop:
            result[name] = copy.deepcopy(prop["default"])
    return result


def known_fields(schema: dict | None, data: dict) -> dict:
    """Only the fields the form declares, so a client cannot overwrite other case data."""
    props = (schema or {}).get("properties")
    if not props:
        return dict(data)
    return {k: v for k, v in data.items() if k in props}
