"""Our additions to JSON Schema for forms: time rules, and which fields a condition requires.

Time rules are declared on a property with the keyword `x-time`:

    "promised_visit_at": {"type": "string", "format": "date-time",
                          "x-time": {"notBefore": "now"}}
    "service_ended_at":  {..., "x-time": {"after": "service_started_at", "notAfter": "now"}}

Each of `after`, `notBefore`, `before`, `notAfter` names either "now" (the engine's clock)
or a sibling field of the same object. JSON Schema 2020-12 allows unknown keywords, so a form
with rules is still a valid schema for any other tool; jsonschema checks them here through
an extended `properties` keyword, because a rule about another field needs the whole object.

Conditional fields (if/then/else, dependentRequired, dependentSchemas) are plain JSON Schema
and jsonschema checks them; `conditions` lists them for the page, which shows a field and
marks it required while its condition holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.validators import extend

from . import clock, patterns

TIME_KEYWORD = "x-time"
RULES = ("after", "notBefore", "before", "notAfter")
# A moment typed "now" reaches the server a little later, and the browser's clock may be a
# little off: rules against the clock give this much room.
NOW_SLACK = timedelta(minutes=5)


def moment_of(value: object) -> datetime | date | None:
    """A date-time (aware, UTC) or a date from a form value; None when it is neither."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if len(text) == 10:
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _now_bounds(rule: str, value: datetime | date, now: datetime) -> datetime | date:
    """The clock as the comparison needs it: generous by NOW_SLACK; for dates, the calendar
    day anywhere on earth (so nobody's "today" is refused)."""
    lenient_late = rule in ("before", "notAfter")
    if isinstance(value, datetime):
        return now + NOW_SLACK if lenient_late else now - NOW_SLACK
    return (now + timedelta(hours=14)).date() if lenient_late else (now - timedelta(hours=12)).date()


def _holds(rule: str, value, other) -> bool:
    if isinstance(value, datetime) != isinstance(other, datetime):
        # A date compared with a moment: compare calendar days.
        value = value.date() if isinstance(value, datetime) else value
        other = other.date() if isinstance(other, datetime) else other
    return {
        "after": value > other,
        "notBefore": value >= other,
        "before": value < other,
        "notAfter": value <= other,
    }[rule]


def time_problems(rules: dict, value: object, siblings: dict) -> Iterator[tuple[str, str]]:
    """(rule, target) for each rule the value breaks; unparseable values are format's job."""
    moment = moment_of(value)
    if moment is None or not isinstance(rules, dict):
        return
    for rule in RULES:
        target = rules.get(rule)
        if not isinstance(target, str):
            continue
        if target == "now":
            other = _now_bounds(rule, moment, clock.now())
        else:
            other = moment_of(siblings.get(target))
            if other is None:
                continue  # the other field is empty or wrong: its own error says so
        if not _holds(rule, moment, other):
            yield rule, target


_PLAIN_PROPERTIES = Draft202012Validator.VALIDATORS["properties"]


def _properties(validator, properties, instance, schema):
    yield from _PLAIN_PROPERTIES(validator, properties, instance, schema)
    if not validator.is_type(instance, "object"):
        return
    for name, prop in properties.items():
        if not isinstance(prop, dict) or TIME_KEYWORD not in prop or name not in instance:
            continue
        for rule, target in time_problems(prop[TIME_KEYWORD], instance[name], instance):
            title = (properties.get(target) or {}).get("title", target) if target != "now" else "now"
            yield ValidationError(
                f"{name} must be {rule} {target}",
                validator=TIME_KEYWORD,
                validator_value={"rule": rule, "target": target, "title": title},
                path=deque([name]),
                instance=instance[name],
            )


FormValidator = extend(Draft202012Validator, {"properties": _properties, **patterns.KEYWORDS})


def validator_for(schema: dict) -> Draft202012Validator:
    return FormValidator(schema, format_checker=patterns.FORMAT_CHECKER)


def dependency_field(error: ValidationError) -> str | None:
    """The missing field of a dependentRequired error ("'b' is a dependency of 'a'")."""
    if error.validator != "dependentRequired" or not isinstance(error.instance, dict):
        return None
    for names in (error.validator_value or {}).values():
        for name in names:
            if name not in error.instance and repr(name) in error.message.split(" is a dependency")[0]:
                return name
    return None


# ---------------------------------------------------------------- conditions for the page


def conditions(schema: dict | None) -> list[dict]:
    """[{"when": schema, "require": [field, ...]}] for the top level of a form: while `when`
    holds for the data, the fields are shown and required."""
    found: list[dict] = []
    _collect(schema or {}, found)
    return [c for c in found if c["require"]]


def _required_of(branch: object) -> list[str]:
    if not isinstance(branch, dict):
        return []
    names = [n for n in branch.get("required") or [] if isinstance(n, str)]
    for sub in branch.get("allOf") or []:
        names += _required_of(sub)
    return names


def _collect(schema: dict, found: list[dict]) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(schema.get("if"), dict):
        found.append({"when": schema["if"], "require": _required_of(schema.get("then"))})
        found.append({"when": {"not": schema["if"]}, "require": _required_of(schema.get("else"))})
    for name, needed in (schema.get("dependentRequired") or {}).items():
        found.append({"when": {"required": [name]}, "require": [n for n in needed if isinstance(n, str)]})
    for name, sub in (schema.get("dependentSchemas") or {}).items():
        found.append({"when": {"required": [name]}, "require": _required_of(sub)})
    for sub in schema.get("allOf") or []:
        _collect(sub, found)


def conditional_fields(schema: dict | None) -> set[str]:
    """Fields that only some condition requires (not required on their own)."""
    always = set((schema or {}).get("required") or [])
    return {name for c in conditions(schema) for name in c["require"]} - always


def active_fields(schema: dict | None, data: dict) -> set[str]:
    """The conditional fields whose condition holds for the data."""
    result: set[str] = set()
    for c in conditions(schema):
        if patterns.LinearValidator(c["when"]).is_valid(data):
            result |= set(c["require"])
    return result
